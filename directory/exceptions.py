"""One translation from domain errors to HTTP, for every endpoint."""

import hashlib
from typing import Any

from rest_framework import status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from directory.changes import ChangeError, NotAllowed, NotPending, ReviewConflict, StaleVersion


class PreconditionRequired(APIException):
    status_code = 428
    default_detail = 'Send the ETag of the version you edited in an If-Match header, e.g. If-Match: "3".'
    default_code = "precondition_required"


def etag(version: int, body: bytes = b"") -> str:
    """A strong ETag: the version writes are checked against, then (for a body) a digest of what was sent.

    The digest tells two representations of one version apart (languages) and catches any change that
    did not go through a versioned write; ``If-Match`` compares the version alone.
    """
    if not body:
        return f'"{version}"'
    return f'"{version}-{hashlib.md5(body, usedforsecurity=False).hexdigest()[:16]}"'


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


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, StaleVersion):
        response = Response({"detail": str(exc), "current_etag": etag(exc.current_version)}, status=412)
        response["ETag"] = etag(exc.current_version)
        return response
    if isinstance(exc, ReviewConflict):
        return Response({"detail": str(exc), "code": "conflict"}, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, NotPending):
        return Response({"detail": str(exc), "code": "not_pending"}, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, NotAllowed):
        return Response({"detail": str(exc)}, status=status.HTTP_403_FORBIDDEN)
    if isinstance(exc, ChangeError):
        return Response({"non_field_errors": [str(exc)]}, status=status.HTTP_400_BAD_REQUEST)
    handled = drf_exception_handler(exc, context)
    if handled is not None and isinstance(exc, ValidationError):
        handled.data = flatten(handled.data)
    return handled
