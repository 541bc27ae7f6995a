"""A test client that holds every API response to ``openapi.yaml``, as Zulip's test suite does.

Each response to a path under ``/api/`` must have a status the operation documents, the headers it
documents, and a JSON body that matches the documented schema exactly: no undocumented field, no
``null`` where the schema does not allow one. A drift fails the test that met it, not a partner.
"""

import copy
import json
import re
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from rest_framework.test import APIClient

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "openapi.yaml"
VALIDATED_PREFIX = "/api/v1/"


class ContractViolation(AssertionError):
    pass


FORMATS = jsonschema.FormatChecker()


@FORMATS.checks("uri")
def _is_uri(value: object) -> bool:
    """An absolute URI (RFC 3986): a scheme, then no blank; the test server's own host has no dot."""
    return not isinstance(value, str) or re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*:[^\s]+", value) is not None


@FORMATS.checks("email", raises=DjangoValidationError)
def _is_email(value: object) -> bool:
    if isinstance(value, str):
        validate_email(value)
    return True


@FORMATS.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    if isinstance(value, str):
        datetime.fromisoformat(value)
    return True


def _to_json_schema(node: Any) -> Any:
    """Rewrite OpenAPI 3.0 schema objects as JSON Schema: ``nullable`` becomes a null type; objects are closed."""
    if isinstance(node, list):
        return [_to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _to_json_schema(value) for key, value in node.items()}
    if node.get("type") == "object" and "properties" in node:
        node.setdefault("additionalProperties", False)
    if node.pop("nullable", False):
        if "type" in node:
            node["type"] = [node["type"], "null"]
            if "enum" in node:
                node["enum"] = [*node["enum"], None]
        else:
            node = {"anyOf": [node, {"type": "null"}]}
    return node


@lru_cache(maxsize=1)
def _document() -> dict[str, Any]:
    return yaml.safe_load(SCHEMA_FILE.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def _components() -> dict[str, Any]:
    return _to_json_schema(copy.deepcopy(_document().get("components", {})))


@lru_cache(maxsize=1)
def _routes() -> list[tuple[re.Pattern[str], str]]:
    routes = []
    for template in _document()["paths"]:
        pattern = re.escape(template)
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", pattern)
        routes.append((re.compile(pattern), template))
    # Literal paths before templated ones, so /services/ is not read as /{x}/.
    routes.sort(key=lambda route: route[1].count("{"))
    return routes


def operation_for(method: str, path: str) -> tuple[str, dict[str, Any]] | None:
    """The operation serving ``method`` on ``path``; HEAD is served as GET is, without the body (Django)."""
    method = "get" if method.upper() == "HEAD" else method.lower()
    for pattern, template in _routes():
        if pattern.fullmatch(path):
            operation = _document()["paths"][template].get(method)
            return (template, operation) if operation else None
    return None


def _resolved(node: Any) -> Any:
    """Follow a ``$ref`` to a component (responses and headers are shared through components)."""
    while isinstance(node, dict) and "$ref" in node:
        kind, name = node["$ref"].removeprefix("#/components/").split("/")
        node = _document()["components"][kind][name]
    return node


def validate_response(method: str, path: str, status: int, headers: Any, content: bytes) -> None:
    """Raise ContractViolation unless the response is one ``openapi.yaml`` documents for this operation."""
    found = operation_for(method, path)
    if found is None:
        if status == 404:  # an address no route serves: Django's own 404, outside any operation
            return
        raise ContractViolation(f"{method} {path} answered {status} but no operation in openapi.yaml serves it")
    template, operation = found
    documented = _resolved(operation["responses"].get(str(status)) or operation["responses"].get("default"))
    if documented is None:
        raise ContractViolation(
            f"{method} {template} answered {status}, which openapi.yaml does not document "
            f"(documented: {', '.join(sorted(operation['responses']))})"
        )
    for header, spec in documented.get("headers", {}).items():
        if _resolved(spec).get("required") and header not in headers:
            raise ContractViolation(f"{method} {template} {status} lacks the documented {header} header")
    media = documented.get("content", {})
    content_type = headers.get("Content-Type", "").split(";")[0].strip()
    if not media or method.upper() == "HEAD":
        return
    if content_type not in media:
        raise ContractViolation(f"{method} {template} {status} answered {content_type!r}; documented: {list(media)}")
    schema = media[content_type].get("schema")
    if schema is None or not content_type.endswith("json"):
        return
    body = json.loads(content)
    root = {**_to_json_schema(copy.deepcopy(schema)), "components": _components()}
    error = jsonschema.exceptions.best_match(jsonschema.Draft7Validator(root, format_checker=FORMATS).iter_errors(body))
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path) or "(body)"
        raise ContractViolation(f"{method} {template} {status}: {where}: {error.message}")


class ValidatingAPIClient(APIClient):
    """``APIClient`` whose every response under /api/v1/ is checked against ``openapi.yaml``."""

    def request(self, **kwargs: Any) -> Any:
        response = super().request(**kwargs)
        path = response.request["PATH_INFO"]
        if path.startswith(VALIDATED_PREFIX):
            validate_response(
                response.request["REQUEST_METHOD"], path, response.status_code, response.headers, response.content
            )
        return response
