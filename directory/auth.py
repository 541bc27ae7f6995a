"""Who is asking (the client's address behind trusted proxies; the API or a page), what a locked-out sign-in gets."""

from typing import Any

from axes.helpers import get_cool_off
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.html import escape
from rest_framework.settings import api_settings


def client_address(request: Any) -> str:
    """The address a request came from: behind ``API_TRUSTED_PROXIES`` proxies, the one they saw.

    The one rule for rate limits and for failed sign-ins (django-axes' ``AXES_CLIENT_IP_CALLABLE``):
    each trusted proxy appends the address it was reached from to ``X-Forwarded-For``, so the client is
    the entry that many places from the end; what the client itself wrote in the header counts for
    nothing. With no trusted proxy the header is ignored and the peer's address is the client.
    """
    meta = request.META
    proxies = int(api_settings.NUM_PROXIES or 0)
    forwarded = meta.get("HTTP_X_FORWARDED_FOR")
    if proxies and forwarded:
        hops = [hop.strip() for hop in str(forwarded).split(",")]
        return hops[-min(proxies, len(hops))] or str(meta.get("REMOTE_ADDR", ""))
    return str(meta.get("REMOTE_ADDR", ""))


def is_api_address(request: HttpRequest) -> bool:
    """Whether a request is for the API (answered in JSON), wherever the service is mounted: ``path_info``
    leaves out the prefix ``SCRIPT_NAME`` gives."""
    return request.path_info.startswith("/api/")


def lockout_response(request: HttpRequest, original_response: Any = None, credentials: Any = None) -> HttpResponse:
    cool_off = get_cool_off(request)
    seconds = int(cool_off.total_seconds()) if cool_off else 900
    message = (
        f"Too many failed sign-ins for this account or from this address. Try again in {max(seconds // 60, 1)} minutes."
    )
    response: HttpResponse
    if is_api_address(request):
        # The body every 429 of the API has: which limit, how much it allows, when to come back.
        body = {
            "detail": message,
            "limit": "failed_sign_ins",
            "allowed": settings.AXES_FAILURE_LIMIT,
            "window": f"{max(seconds // 60, 1)} minutes",
            "retry_after": seconds,
        }
        response = JsonResponse(body, status=429)
    else:
        response = HttpResponse(f"<!doctype html><title>Sign-in locked</title><p>{escape(message)}</p>", status=429)
    response["Retry-After"] = str(seconds)
    return response
