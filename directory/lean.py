"""Query parameters of the busiest reads, parsed without DRF's or django-filter's per-field machinery.

Each parser accepts only plainly written values (``topic=sextortion``, ``country=CA``, ``limit=10``) and
gives exactly what the full parser would give for them; anything else (a value it does not accept, an
unusual spelling, a parameter it does not know) makes it return None, and the view runs the full parser,
which answers errors with their documented 400 bodies. ``tests/test_lean_parsing.py`` holds the two to
the same answers.
"""

import re
from typing import Any

from django.http import QueryDict

from directory.models import ServiceKind
from directory.readmodel import ReadModel
from directory.search import MAX_LIMIT
from directory.validators import is_country_code, language_for

_KINDS = frozenset(ServiceKind.values)
_LATITUDE = re.compile(r"-?[0-9]{1,2}(\.[0-9]{1,12})?")
_LONGITUDE = re.compile(r"-?[0-9]{1,3}(\.[0-9]{1,12})?")
_SMALL_WHOLE = re.compile(r"[0-9]{1,3}")
_POSTCODE_CHARACTERS = re.compile(r"[0-9A-Za-z][0-9A-Za-z -]{0,15}")
_BOOLEANS = {"true": True, "false": False, "1": True, "0": False}

# What /nearest/ takes (NearestQuerySerializer's fields) and ``lang``, which ``request_language`` reads.
NEAREST_PARAMETERS = frozenset(
    {"postcode", "country", "lat", "lon", "topic", "language", "kind", "open_now", "age", "limit", "verified", "lang"}
)
# What the services list answers from the read model here (lists.ANSWERED) with paging and ``lang``.
SERVICES_PARAMETERS = frozenset({"kind", "topic", "language", "country", "verified", "page", "page_size", "lang"})


def _country(value: str) -> str | None:
    if len(value) == 2 and value.isascii() and value.isalpha() and is_country_code(value):
        return value.upper()
    return None


def _language(value: str) -> str | None:
    if 2 <= len(value) <= 3 and value.isascii() and value.isalpha() and language_for(value) is not None:
        return value.lower()
    return None


def _whole(value: str, low: int, high: int) -> int | None:
    if _SMALL_WHOLE.fullmatch(value) and low <= int(value) <= high:
        return int(value)
    return None


def nearest_params(query: QueryDict, model: ReadModel) -> dict[str, Any] | None:
    """``NearestQuerySerializer(data=query).validated_data`` for plainly written parameters (``topic`` as
    its slug), or None: the serializer must decide (and may answer 400)."""
    if any(key not in NEAREST_PARAMETERS for key in query):
        return None
    params: dict[str, Any] = {"open_now": False, "limit": 10, "verified": "any"}
    for key in query:
        value = query.get(key, "")
        if key == "kind":
            kinds = query.getlist(key)
            if not kinds or any(kind not in _KINDS for kind in kinds):
                return None
            params["kind"] = list(dict.fromkeys(kinds))
        elif key == "postcode":
            if not _POSTCODE_CHARACTERS.fullmatch(value) or value != value.strip():
                return None
            params["postcode"] = value
        elif key == "country":
            country = _country(value)
            if country is None:
                return None
            params["country"] = country
        elif key in ("lat", "lon"):
            pattern, bound = (_LATITUDE, 90) if key == "lat" else (_LONGITUDE, 180)
            if not pattern.fullmatch(value) or not -bound <= float(value) <= bound:
                return None
            params[key] = float(value)
        elif key == "topic":
            if value not in model.topic_slugs.values():
                return None
            params["topic"] = value
        elif key == "language":
            language = _language(value)
            if language is None:
                return None
            params["language"] = language
        elif key == "open_now":
            if value not in _BOOLEANS:
                return None
            params["open_now"] = _BOOLEANS[value]
        elif key in ("age", "limit"):
            number = _whole(value, 0, 120) if key == "age" else _whole(value, 1, MAX_LIMIT)
            if number is None:
                return None
            params[key] = number
        elif key == "verified":
            if value not in ("any", "true"):
                return None
            params["verified"] = value
    return params


def services_filters(query: QueryDict, model: ReadModel) -> dict[str, Any] | None:
    """The services list's filters as ``lists.matching`` takes them (topic and language as slug and code),
    for plainly written values of the filters the read model answers; None: the filter set must decide.

    Paging (``page``, ``page_size``) and ``lang`` are left to their own parsers, which both paths share.
    """
    if any(key not in SERVICES_PARAMETERS for key in query):
        return None
    filters: dict[str, Any] = {}
    for key in query:
        if key in ("page", "page_size", "lang"):
            continue
        values = query.getlist(key)
        if key == "kind":
            if any(kind not in _KINDS for kind in values):
                return None
            filters["kind"] = values
            continue
        if len(values) != 1:
            return None
        value = values[0]
        if key == "topic":
            if value not in model.topic_slugs.values():
                return None
        elif key == "language":
            if value not in model.language_bit:
                return None
        elif key == "country":
            country = _country(value)
            if country is None:
                return None
            value = country
        elif key == "verified" and value not in ("true", "false", "any"):
            return None
        filters[key] = value
    return filters
