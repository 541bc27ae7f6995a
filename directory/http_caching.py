"""HTTP caching of the public API reads: validators, 304s, and headers a CDN can act on safely.

Every successful GET/HEAD under the read prefixes, from an anonymous caller or a partner key, gets

- an ``ETag`` that hashes the rendered body (so any change to what a response shows, nested parts
  included, changes it), unless the view set its own;
- a ``Last-Modified``: the newest ``updated_at`` of any listing or organisation, unless the view set its
  own. It covers every read because archiving a listing bumps it too, so a list an entry left is never
  called unmodified;
- ``Vary: Accept-Language, Authorization`` and ``Cache-Control``: ``public`` for anonymous callers (a CDN
  may share it), ``private`` for partner keys (each key's calls reach the origin and count against its quota).

A matching ``If-None-Match`` (or, without one, ``If-Modified-Since``) gets a 304 with no body. Writes,
errors and anything a user signed in for (session or token) are ``no-store`` and never answered 304 here.
"""

from collections.abc import Callable
from datetime import datetime
from enum import Enum

from django.conf import settings
from django.db.models import Subquery
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils.cache import get_conditional_response, patch_vary_headers, set_response_etag
from django.utils.http import http_date, parse_http_date_safe

from directory.models import Organization, PartnerKey, Service

READ_PATH_PREFIXES = ("/api/v1/", "/hsds/")
SAFE_METHODS = ("GET", "HEAD")
VARY = ("Accept-Language", "Authorization")


class Audience(Enum):
    PUBLIC = "public"
    PARTNER = "partner"
    PRIVATE = "private"


def audience(request: HttpRequest) -> Audience:
    """Who a read was answered for: anyone, one partner key, or a signed-in user (never shared)."""
    if isinstance(getattr(request, "auth", None), PartnerKey):
        return Audience.PARTNER
    user = getattr(request, "user", None)
    if request.META.get("HTTP_AUTHORIZATION") or (user is not None and user.is_authenticated):
        return Audience.PRIVATE
    return Audience.PUBLIC


def directory_last_modified() -> datetime | None:
    """The newest change to any listing or organisation: one query, two index seeks."""
    newest_service = Service.objects.order_by("-updated_at").values("updated_at")[:1]
    row = (
        Organization.objects.annotate(service_updated_at=Subquery(newest_service))
        .order_by("-updated_at")
        .values_list("updated_at", "service_updated_at")
        .first()
    )
    if row is None:
        return None
    return max(stamp for stamp in row if stamp is not None)


class ReadCachingMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if not request.path_info.startswith(READ_PATH_PREFIXES):
            return response
        who = audience(request)
        cacheable = request.method in SAFE_METHODS and response.status_code == 200 and who is not Audience.PRIVATE
        if not cacheable or not isinstance(response, HttpResponse):
            response.headers.setdefault("Cache-Control", "private, no-store")
            return response
        return self._cacheable(request, response, who)

    def _cacheable(self, request: HttpRequest, response: HttpResponse, who: Audience) -> HttpResponse:
        patch_vary_headers(response, VARY)
        scope = "public" if who is Audience.PUBLIC else "private"
        response.headers.setdefault("Cache-Control", f"{scope}, max-age={settings.HTTP_CACHE_MAX_AGE}")
        if "ETag" not in response:
            set_response_etag(response)
        if "Last-Modified" not in response:
            latest = directory_last_modified()
            if latest is not None:
                response.headers["Last-Modified"] = http_date(latest.timestamp())
        last_modified = parse_http_date_safe(response.get("Last-Modified", ""))
        return get_conditional_response(request, response.get("ETag"), last_modified, response) or response
