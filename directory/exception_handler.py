"""The one translation of domain errors into HTTP answers (``REST_FRAMEWORK["EXCEPTION_HANDLER"]``).

- ``errors.InvalidPlace`` -> 400 with the field-error body DRF uses for every bad parameter,
  ``{"<parameter>": ["<message>"]}``;
- ``errors.PostcodeNotFound`` -> 404 ``{"detail": "<message>"}``;
- ``changes.StaleVersion`` -> 412 with the current ETag; ``ReviewConflict``/``NotPending`` -> 409;
  ``NotAllowed`` -> 403; any other ``ChangeError`` -> 400;
- every field error keyed by its path (``channels[1].value``);
- a database that cannot answer in time (``statement_timeout``, a lost or refused connection) ->
  503 ``{"detail": ...}`` with ``Retry-After``, also for the pages outside DRF (``DatabaseUnavailableMiddleware``).
"""

import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from rest_framework import status
from rest_framework.exceptions import NotFound, ParseError, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from directory import changes, errors
from directory.auth import is_api_address
from directory.versions import etag

logger = logging.getLogger(__name__)

UNAVAILABLE_MESSAGE = "The directory is busy or briefly unavailable; try again in a few seconds."


def _is_unavailable(exc: BaseException) -> bool:
    return isinstance(exc, OperationalError | InterfaceError)


def _retry_after() -> str:
    return str(settings.DATABASE_RETRY_AFTER_SECONDS)


def _log_unavailable(exc: DatabaseError) -> None:
    # The message of a database error can quote the statement and its parameters: log only its kind.
    cause = type(exc.__cause__).__name__ if exc.__cause__ else type(exc).__name__
    logger.warning("Database unavailable (%s): answered 503", cause)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, changes.ChangeError):
        return _change_refused(exc)
    if isinstance(exc, ParseError):
        # A body that is not JSON at all: the same field-error shape as every other 400.
        return Response({"non_field_errors": [str(exc.detail)]}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, errors.InvalidPlace):
        exc = ValidationError({exc.field: [exc.message]})
    elif isinstance(exc, errors.PostcodeNotFound):
        exc = NotFound(exc.message)
    elif isinstance(exc, DatabaseError) and _is_unavailable(exc):
        _log_unavailable(exc)
        return Response(
            {"detail": UNAVAILABLE_MESSAGE},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": _retry_after()},
        )
    handled = drf_exception_handler(exc, context)
    if handled is not None and isinstance(exc, ValidationError):
        handled.data = flatten(handled.data)
    return handled


# The code a 409 names for a review that cannot be made, by the reason it cannot.
REVIEW_REFUSALS = {changes.ReviewConflict: "conflict", changes.NotPending: "not_pending"}
REVIEW_REFUSAL_CODES = tuple(REVIEW_REFUSALS.values())


def _change_refused(exc: changes.ChangeError) -> Response:
    if isinstance(exc, changes.StaleVersion):
        current = etag(exc.current_version)
        return Response({"detail": str(exc), "current_etag": current}, status=412, headers={"ETag": current})
    for refusal, code in REVIEW_REFUSALS.items():
        if isinstance(exc, refusal):
            return Response({"detail": str(exc), "code": code}, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, changes.NotAllowed):
        return Response({"detail": str(exc)}, status=status.HTTP_403_FORBIDDEN)
    return Response({"non_field_errors": [str(exc)]}, status=status.HTTP_400_BAD_REQUEST)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's 404 for an address no route serves: JSON under /api/, as every other API answer."""
    if is_api_address(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


NUL_MESSAGE = "Null characters are not allowed."


class RejectNullCharactersMiddleware:
    """Refuse a NUL character in an API address or parameter before any query sees it.

    PostgreSQL text cannot hold one (a DataError, so a 500), and Django's form fields already refuse it
    in the parameters they read: this makes every parameter, and every database, answer alike - a 400
    naming the parameter, or a 404 for an address no resource can have.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if is_api_address(request):
            if "\x00" in request.path_info:
                return JsonResponse({"detail": "Not found."}, status=404)
            query = request.META.get("QUERY_STRING", "")
            if "%00" in query or "\x00" in query:
                fields = sorted(
                    key for key, values in request.GET.lists() if "\x00" in key or any("\x00" in v for v in values)
                )
                if fields:
                    return JsonResponse({field: [NUL_MESSAGE] for field in fields}, status=400)
        return self.get_response(request)


class DatabaseUnavailableMiddleware:
    """Answer 503 with ``Retry-After`` when a page outside the API (admin, simulator) meets a database outage."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        if not (isinstance(exc, DatabaseError) and _is_unavailable(exc)):
            return None
        _log_unavailable(exc)
        response = JsonResponse({"detail": UNAVAILABLE_MESSAGE}, status=503)
        response["Retry-After"] = _retry_after()
        return response


FIELD_ERRORS = {
    "type": "object",
    "description": 'Each parameter at fault with its messages: {"country": ["\'XX\' is not an ISO 3166-1 ..."]}',
    "additionalProperties": {"type": "array", "items": {"type": "string"}},
}
DETAIL = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
STALE_VERSION = {
    "type": "object",
    "properties": {"detail": {"type": "string"}, "current_etag": {"type": "string"}},
    "required": ["detail", "current_etag"],
}
CURRENT_ETAG = {
    "ETag": {
        "schema": {"type": "string"},
        "required": True,
        "description": "The current version's ETag: read it, merge, and send it as If-Match",
    }
}
RETRY_AFTER = {
    "Retry-After": {
        "schema": {"type": "integer", "minimum": 0},
        "required": True,
        "description": "Seconds to wait before retrying",
    }
}
_WRITES = {"POST", "PUT", "PATCH", "DELETE"}


class ErrorDocumentingSchema(AutoSchema):
    """Document on every operation each error status this project can answer it with, and its body.

    400 where there are parameters (a postcode in the path too) or a body to get wrong; 401/403 for
    credentials, and 403 for permissions other than AllowAny; 404 everywhere (unknown ids and
    postcodes, a page past the end, an unknown ``format``); 406 for an Accept header no renderer
    meets; 415 for a body that is not JSON; 412 (with the current ETag) and 428 for If-Match on updates;
    429 (throttles) and 503 (a database that cannot answer in time) with ``Retry-After``.
    """

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        self._mark_filters_optional_when_empty(operation)
        responses = operation["responses"]
        field_errors = self._component("FieldErrors", FIELD_ERRORS)
        detail = self._component("ErrorDetail", DETAIL)
        has_input = bool(operation.get("parameters")) or "requestBody" in operation
        errors_: dict[str, tuple[str, dict[str, Any], dict[str, Any]]] = {}
        if has_input:
            errors_["400"] = ("A parameter or field is malformed; each is named with its messages", field_errors, {})
        for status_code in self._credential_statuses():
            errors_[status_code] = ("Credentials are missing, wrong, or do not allow this", detail, {})
        errors_["404"] = ("Nothing is found at this address or for this postcode", detail, {})
        if "requestBody" in operation:
            errors_["415"] = ("The body is not JSON (Content-Type: application/json)", detail, {})
        errors_["406"] = ("No representation meets the Accept header", detail, {})
        if self.method in {"PUT", "PATCH", "DELETE"} or any(
            parameter.get("name") == "If-Match" for parameter in operation.get("parameters", ())
        ):
            stale = self._component("StaleVersion", STALE_VERSION)
            errors_["412"] = ("If-Match names a version that is no longer current", stale, CURRENT_ETAG)
            errors_["428"] = ("If-Match is required", detail, {})
        errors_["429"] = ("Too many requests: throttled", detail, RETRY_AFTER)
        errors_["503"] = ("The database could not answer in time", detail, RETRY_AFTER)
        for status_code, (description, schema, headers) in errors_.items():
            response: dict[str, Any] = {"content": {"application/json": {"schema": schema}}, "description": description}
            if headers:
                response["headers"] = headers
            responses.setdefault(status_code, response)
        return operation

    def _mark_filters_optional_when_empty(self, operation: dict[str, Any]) -> None:
        """A list filter given as ``?name=`` is not applied (django-filter): say so with ``allowEmptyValue``."""
        filterset_class = getattr(self.view, "filterset_class", None)
        if filterset_class is None or not self._is_list_view():
            return
        filters = set(filterset_class.base_filters)
        for parameter in operation.get("parameters", ()):
            if parameter["in"] == "query" and parameter["name"] in filters:
                parameter["allowEmptyValue"] = True

    def _credential_statuses(self) -> list[str]:
        statuses = set()
        authenticators = self.view.get_authenticators()
        if authenticators:
            # DRF answers failed authentication with 401 only when the first class names a challenge.
            statuses.add("401" if authenticators[0].authenticate_header(self.view.request) else "403")
        permissions = self.view.get_permissions()
        if any(not isinstance(permission, AllowAny) for permission in permissions) or self.method in _WRITES:
            statuses.add("403")
        return sorted(statuses)

    def _component(self, name: str, schema: dict[str, Any]) -> dict[str, str]:
        component = ResolvedComponent(name=name, type=ResolvedComponent.SCHEMA, object=name, schema=schema)
        self.registry.register_on_missing(component)
        return dict(component.ref)


def flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """Turn DRF's nested error lists into one level keyed by path: ``channels[1].value``."""
    if isinstance(detail, dict):
        flat: dict[str, list[str]] = {}
        for key, value in detail.items():
            if not prefix:
                path = str(key)
            elif isinstance(key, int) or str(key).isdigit():
                path = f"{prefix}[{key}]"
            else:
                path = prefix if key == "non_field_errors" else f"{prefix}.{key}"
            flat.update(_merge(flat, flatten(value, path)))
        return flat
    if isinstance(detail, list) and detail and all(isinstance(item, (dict, list)) for item in detail):
        flat = {}
        for index, item in enumerate(detail):
            if item:
                flat.update(_merge(flat, flatten(item, f"{prefix}[{index}]")))
        return flat
    messages = detail if isinstance(detail, list) else [detail]
    return {prefix or "non_field_errors": [str(message) for message in messages]}


def _merge(into: dict[str, list[str]], more: dict[str, list[str]]) -> dict[str, list[str]]:
    return {key: [*into.get(key, []), *messages] for key, messages in more.items()}
