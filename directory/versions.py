"""Versioned records over HTTP: the strong ETag of a version, and the If-Match a write must send."""

import hashlib
import re

from rest_framework.exceptions import APIException
from rest_framework.request import Request

STRONG_ETAG = re.compile(r'"(?P<version>[0-9]{1,9})(?:-[0-9a-f]{1,32})?"')


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


def expected_version(request: Request) -> int:
    raw = request.headers.get("If-Match", "").strip()
    if not raw:
        raise PreconditionRequired()
    match = STRONG_ETAG.fullmatch(raw)
    # A weak or malformed tag never matches a strong ETag; 0 is no version.
    return int(match["version"]) if match else 0
