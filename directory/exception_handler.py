"""The one translation of domain errors into HTTP answers (``REST_FRAMEWORK["EXCEPTION_HANDLER"]``).

- ``errors.InvalidPlace`` -> 400 with the field-error body DRF uses for every bad parameter,
  ``{"<parameter>": ["<message>"]}``;
- ``errors.PostcodeNotFound`` -> 404 ``{"detail": "<message>"}``;
- a database that cannot answer in time (``statement_timeout``, a lost or refused connection) ->
  503 ``{"detail": ...}`` with ``Retry-After``, also for the pages outside DRF (``DatabaseUnavailableMiddleware``).
"""

import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from directory import errors

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
    return drf_exception_handler(exc, context)


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
