"""Validators for ISO codes and time zones, backed by pycountry and the IANA database."""

import re
import zoneinfo
from functools import lru_cache
from typing import Any

import pycountry
from django.core.exceptions import ValidationError


@lru_cache(maxsize=1)
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


_WHOLE_NUMBER = re.compile(r"\s*-?[0-9]+\s*")


def is_digits(value: str) -> bool:
    """True for ASCII digits only: ``str.isdigit`` also says True for "²" or "①", which ``int()`` refuses."""
    return value.isascii() and value.isdigit()


def is_whole_number(value: object) -> bool:
    """True for an int or digits ("15", "-1"); False for "15.0", "1e3": a query's integer is written as one."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, str) and _WHOLE_NUMBER.fullmatch(value) is not None)


def is_country_code(value: str) -> bool:
    return len(value) == 2 and pycountry.countries.get(alpha_2=value.upper()) is not None


def is_subdivision_code(value: str) -> bool:
    return "-" in value and pycountry.subdivisions.get(code=value.upper()) is not None


def language_for(value: str) -> Any:
    """Find an ISO 639 language by its 2- or 3-letter code."""
    code = value.strip().lower()
    if len(code) == 2:
        return pycountry.languages.get(alpha_2=code)
    if len(code) == 3:
        return pycountry.languages.get(alpha_3=code)
    return None


def validate_country_code(value: str) -> None:
    if value and not is_country_code(value):
        raise ValidationError(f"{value!r} is not an ISO 3166-1 alpha-2 country code.")


def validate_subdivision_code(value: str) -> None:
    if value and not is_subdivision_code(value):
        raise ValidationError(f"{value!r} is not an ISO 3166-2 subdivision code (e.g. CA-SK).")


def validate_language_code(value: str) -> None:
    if language_for(value) is None:
        raise ValidationError(f"{value!r} is not an ISO 639 language code.")


def validate_timezone(value: str) -> None:
    if value not in _timezones():
        raise ValidationError(f"{value!r} is not an IANA time zone (e.g. America/Regina).")
