"""What every API read answers besides its body, in the OpenAPI schema: key auth, 304, 401, 429."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension

from directory.http_caching import READ_PATH_PREFIXES


class PartnerKeyScheme(OpenApiAuthenticationExtension):
    target_class = "directory.authentication.PartnerKeyAuthentication"
    name = "partnerKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "A partner key, sent as `Authorization: Api-Key <key>`. Without one, reads are "
            "anonymous and share a low per-address rate.",
        }


def _header(description: str, *, required: bool = True, **schema: Any) -> dict[str, Any]:
    return {"description": description, "required": required, "schema": {"type": "string", **schema}}


CACHE_HEADERS = {
    "ETag": _header(
        "A hash of the body: send it back as If-None-Match to get a 304 while it is unchanged "
        "(not on a streamed format=ndjson answer).",
        required=False,
    ),
    "Last-Modified": _header(
        "The newest change to any listing or organisation (absent while the directory is empty).", required=False
    ),
    "Cache-Control": _header("`public, max-age=…` for anonymous reads, `private, max-age=…` with a partner key."),
    "Vary": _header(
        "Includes Accept-Language and Authorization: a shared cache keeps one copy per language "
        "(not on a streamed format=ndjson answer, which is never cached).",
        required=False,
    ),
}
CONDITIONAL_PARAMETERS: list[dict[str, Any]] = [
    {
        "in": "header",
        "name": "If-None-Match",
        "schema": {"type": "string"},
        "description": "The ETag of a copy you hold: answered 304 with no body while it is current.",
    },
    {
        "in": "header",
        "name": "If-Modified-Since",
        "schema": {"type": "string"},
        "description": "The Last-Modified of a copy you hold (used only without If-None-Match).",
    },
]
RATE_LIMIT_BODY = {
    "type": "object",
    "description": "Which limit was hit and when to try again.",
    "properties": {
        "detail": {"type": "string"},
        "limit": {
            "type": "string",
            "description": "The limit that refused the request: key_per_minute, key_per_day, or without a key "
            "anonymous_per_minute (user_per_minute when signed in; the suffix follows the configured window); "
            "failed_sign_ins when an account or address is locked out after failed sign-ins.",
            "example": "key_per_minute",
        },
        "allowed": {"type": "integer", "description": "Requests the limit allows per window."},
        "window": {"type": "string", "description": "The clock window the limit counts in (minute, day …)."},
        "retry_after": {"type": "integer", "description": "Seconds until the window resets, as in Retry-After."},
    },
    "required": ["detail", "limit", "allowed", "window", "retry_after"],
}
ERROR_BODY = {"type": "object", "properties": {"detail": {"type": "string"}}, "required": ["detail"]}


def _ref(kind: str, name: str) -> dict[str, str]:
    return {"$ref": f"#/components/{kind}/{name}"}


CACHE_HEADER_REFS = {name: _ref("headers", name) for name in CACHE_HEADERS}
RESPONSES = {
    "NotModified": {"description": "Not modified: the copy you hold is current.", "headers": CACHE_HEADER_REFS},
    "AuthenticationFailed": {
        "description": "The Api-Key is unknown, revoked or expired.",
        "headers": {"WWW-Authenticate": _header("Api-Key")},
        "content": {"application/json": {"schema": _ref("schemas", "AuthenticationFailed")}},
    },
    "RateLimitExceeded": {
        "description": "A rate limit or key quota is exhausted.",
        "headers": {"Retry-After": _header("Seconds to wait before trying again.", pattern="^[0-9]+$")},
        "content": {"application/json": {"schema": _ref("schemas", "RateLimitExceeded")}},
    },
}


def document_caching_and_limits(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Add the conditional-request headers, 304, 401 and 429 (with Retry-After) to every read operation."""
    components = result.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas.update({"RateLimitExceeded": RATE_LIMIT_BODY, "AuthenticationFailed": ERROR_BODY})
    components["headers"] = CACHE_HEADERS
    components["responses"] = RESPONSES
    components["parameters"] = {parameter["name"].replace("-", ""): parameter for parameter in CONDITIONAL_PARAMETERS}
    for path, operations in result.get("paths", {}).items():
        if not path.startswith(READ_PATH_PREFIXES):
            continue
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            responses["401"] = _ref("responses", "AuthenticationFailed")
            responses["429"] = _ref("responses", "RateLimitExceeded")
            if method != "get":
                continue
            operation["parameters"] = [
                *operation.get("parameters", []),
                *(_ref("parameters", name) for name in components["parameters"]),
            ]
            if "200" in responses:
                responses["200"].setdefault("headers", {}).update(CACHE_HEADER_REFS)
            responses["304"] = _ref("responses", "NotModified")
    return result
