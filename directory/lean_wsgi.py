"""The busiest public reads, and Twilio's webhooks, answered through only the machinery they use.

An anonymous ``GET /api/v1/nearest/`` or ``GET /api/v1/services/`` asking for JSON (no cookie, no
``Authorization``, ``Accept`` absent, ``*/*`` or ``application/json``) goes to
a ``LeanHandler``: Django's own handler with the project's middleware less the ones that cannot act on such a
request, and ``LeanReadMiddleware``, which answers it in ``process_view`` when its parameters are plainly
written (``directory.lean``): the anonymous rate, then the same body as the API view
(``views.nearest_body``, ``views.services_page``), rendered by the API's JSON renderer
(``directory.renderers``), with the view's headers.
Anything else - other parameters, an error, the read model off - is left to the API view, in the same chain,
and is counted against the rate only once. Every other request goes to the full application.

Left out, and why they cannot act here: WhiteNoise (static files only), sessions, CSRF, authentication, OTP
and messages (nothing to sign in: the request has no cookie and no credentials; ``VaryOnCookieMiddleware``
adds the ``Vary: Cookie`` the session middleware gives every API answer), django-simple-history (records
who writes) and django-axes (sign-ins). ``tests/test_lean_wsgi.py`` holds both handlers to the same status,
headers and body for the same requests.

Twilio's webhooks (``POST /sms/inbound/`` and ``/sms/status/`` without a cookie or ``Authorization``) go to
a handler with the same middleware less sessions too: the views check Twilio's signature themselves, are
exempt from CSRF, and read no session, user or message.
"""

from collections.abc import Callable, Iterable
from functools import cache
from typing import Any

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.db import DatabaseError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.utils.cache import patch_vary_headers
from rest_framework.exceptions import APIException
from rest_framework.request import Request

from directory import lean, readmodel, views
from directory.errors import DirectoryError
from directory.pagination import DirectoryPagination
from directory.renderers import JSONRenderer
from directory.throttling import count_anonymous

LEAN_PATHS = frozenset({"/api/v1/nearest/", "/api/v1/services/"})
_LEFT_OUT = frozenset(
    {
        "whitenoise.middleware.WhiteNoiseMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django_otp.middleware.OTPMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
        "simple_history.middleware.HistoryRequestMiddleware",
        "axes.middleware.AxesMiddleware",
    }
)
_SESSIONS = "django.contrib.sessions.middleware.SessionMiddleware"
_JSON_ACCEPTS = frozenset({"", "*/*", "application/json"})
_RENDERER = JSONRenderer()

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


WEBHOOK_PATHS = frozenset({"/sms/inbound/", "/sms/status/"})


def lean_middleware(full: list[str]) -> list[str]:
    """The project's middleware less what cannot act on an anonymous read, with this module's two."""
    kept = [f"{__name__}.VaryOnCookieMiddleware" if path == _SESSIONS else path for path in full]
    return [path for path in kept if path not in _LEFT_OUT] + [f"{__name__}.LeanReadMiddleware"]


def webhook_middleware(full: list[str]) -> list[str]:
    """The project's middleware less what cannot act on a webhook from Twilio (sessions too)."""
    return [path for path in full if path not in _LEFT_OUT and path != _SESSIONS]


def takes_webhook(environ: dict[str, Any]) -> bool:
    """Whether a request is a Twilio webhook for the webhook handler: a POST to one, with no cookie or credentials."""
    return (
        environ.get("REQUEST_METHOD") == "POST"
        and environ.get("PATH_INFO") in WEBHOOK_PATHS
        and not environ.get("HTTP_COOKIE")
        and not environ.get("HTTP_AUTHORIZATION")
    )


def takes(environ: dict[str, Any]) -> bool:
    """Whether a request is one the lean handler serves: an anonymous GET of a lean path asking for JSON
    (any other ``Accept`` is negotiated by the API view, in the full application: the browsable API's pages,
    with DEBUG on, read the session)."""
    return (
        environ.get("REQUEST_METHOD") == "GET"
        and environ.get("PATH_INFO") in LEAN_PATHS
        and not environ.get("HTTP_COOKIE")
        and not environ.get("HTTP_AUTHORIZATION")
        and environ.get("HTTP_ACCEPT", "").strip() in _JSON_ACCEPTS
    )


class LeanHandler(WSGIHandler):
    """Django's handler with ``chain(settings.MIDDLEWARE)`` for its middleware."""

    def __init__(self, chain: Callable[[list[str]], list[str]]) -> None:
        self.chain = chain
        super().__init__()

    def load_middleware(self, is_async: bool = False) -> None:
        # Django builds the chain from settings.MIDDLEWARE; it is read here, once, with the lean list.
        full = list(settings.MIDDLEWARE)
        settings.MIDDLEWARE = self.chain(full)
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = full


def routed(full: WSGIApp) -> WSGIApp:
    """The WSGI application: lean reads and Twilio's webhooks to their lean handlers, everything else to ``full``."""
    reads, webhooks = LeanHandler(lean_middleware), LeanHandler(webhook_middleware)

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        handler = reads if takes(environ) else webhooks if takes_webhook(environ) else full
        return handler(environ, start_response)

    return application


class VaryOnCookieMiddleware:
    """What the session middleware adds to every API answer (DRF's session authentication reads the session)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        patch_vary_headers(response, ("Cookie",))
        return response


class LeanReadMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> HttpResponse | None:
        """The answer, or None: the API view answers (the rate already counted stays counted)."""
        model = readmodel.current()
        if model is None:
            return None
        api_request = Request(request)
        try:
            answer = _parsed(request.path_info, api_request, model)
            if answer is None or count_anonymous(request) is not None:
                return None
            body = answer()
        except (APIException, DirectoryError, DatabaseError, Http404):  # the view's exception handler answers
            return None
        response = HttpResponse(_RENDERER.render(body), content_type=_RENDERER.media_type)
        views.with_last_modified(response, model)  # type: ignore[arg-type]
        vary, headers = view_headers(view)
        if vary:
            patch_vary_headers(response, vary)
        for name, value in headers:
            response[name] = value
        return response


def _parsed(path: str, request: Request, model: readmodel.ReadModel) -> Callable[[], dict[str, Any]] | None:
    """What answers the request, once its parameters are known to be plain and valid, or None."""
    if path == "/api/v1/nearest/":
        params = lean.nearest_params(request.query_params, model)
        if params is None:
            return None
        views.nearest_reply_language(request, params.get("language", ""))  # a bad ``lang`` is a 400
        return lambda: views.nearest_body(request, params, model)
    filters = lean.services_filters(request.query_params, model)
    if filters is None:
        return None
    paginator = DirectoryPagination()
    paginator.get_page_size(request)  # a bad ``page_size`` or ``page`` is a 400
    paginator.get_page_number(request, None)
    views.request_language(request)
    return lambda: views.services_page(request, model, filters, paginator)


@cache
def view_headers(view: Any) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    """The headers DRF's ``finalize_response`` gives the view's answers: what it adds to Vary, and the rest
    (``Allow``)."""
    instance = view.cls(**view.initkwargs)
    for method, action in (getattr(view, "actions", None) or {}).items():
        setattr(instance, method, getattr(instance, action))
    if hasattr(instance, "get") and not hasattr(instance, "head"):
        instance.head = instance.get  # as View.setup does
    headers = dict(instance.default_response_headers)
    vary = tuple(part.strip() for part in headers.pop("Vary", "").split(",") if part.strip())
    return vary, tuple(headers.items())
