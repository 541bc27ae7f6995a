"""Human names for ISO 3166 countries and subdivisions."""

import re
from functools import lru_cache

import pycountry

_BRACKETED = re.compile(r"\s*\[.*?\]")


@lru_cache(maxsize=512)
def region_name(code: str) -> str:
    """Return the English name of a country (``CA``) or subdivision (``CA-SK``), or the code itself."""
    code = code.upper()
    record = pycountry.subdivisions.get(code=code) if "-" in code else pycountry.countries.get(alpha_2=code)
    if record is None:
        return code
    name = getattr(record, "common_name", None) or record.name
    return _BRACKETED.sub("", str(name)).strip()
