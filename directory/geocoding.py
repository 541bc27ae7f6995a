"""Turn postcodes and place names into points: the only module that does.

Postcodes are recognised by each country's real format rules (pure functions) and resolved offline
from the ``PostcodeArea`` table loaded from ``fixtures/postcodes``. An online geocoder (Nominatim via
geopy) exists behind ``settings.GEOCODER_ONLINE`` for addresses the table cannot place.
"""

import hashlib
import logging
import re
import threading
import unicodedata
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pycountry
from cachetools import TTLCache, cached
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models.signals import post_delete, post_save
from geopy.distance import great_circle
from geopy.exc import GeopyError
from geopy.extra.rate_limiter import RateLimiter
from geopy.geocoders import Nominatim

from directory import errors
from directory.models import PostcodeArea
from directory.regions import region_name
from directory.validators import is_country_code

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Place:
    country: str
    code: str
    latitude: float
    longitude: float
    place: str
    subdivision: str
    # The ISO 3166-2 code of the county inside ``subdivision`` (GB only; "" when it has none).
    county: str = ""


@dataclass(frozen=True)
class PostcodeMatch:
    country: str
    key: str
    start: int
    end: int


SUPPORTED_COUNTRIES: tuple[str, ...] = ("CA", "US", "GB", "AU", "IE", "NZ", "DE", "FR", "IN")

# Order in which an ambiguous code is attributed: alphanumeric formats first, then digits by how
# often the format is meant (a 5-digit code is a US ZIP before a German or French one).
_SPECIFICITY_ORDER = ("CA", "GB", "IE", "US", "DE", "FR", "AU", "NZ", "IN")

CACHE_SECONDS = 600

# Canada: the letters D F I O Q U are never used, W and Z never start a code.
_CA_FSA = "[ABCEGHJ-NPRSTVXY][0-9][ABCEGHJ-NPRSTV-Z]"
_CA_LDU = "[0-9][ABCEGHJ-NPRSTV-Z][0-9]"

# United Kingdom postcode areas (with the Crown Dependencies GY, JE, IM), as in the GB table.
_GB_AREA = (
    "(?:AB|AL|B|BA|BB|BD|BH|BL|BN|BR|BS|BT|CA|CB|CF|CH|CM|CO|CR|CT|CV|CW|DA|DD|DE|DG|DH|DL|DN|DT|DY|E|EC|EH|EN|EX"
    "|FK|FY|G|GL|GU|GY|HA|HD|HG|HP|HR|HS|HU|HX|IG|IM|IP|IV|JE|KA|KT|KW|KY|L|LA|LD|LE|LL|LN|LS|LU|M|ME|MK|ML|N|NE"
    "|NG|NN|NP|NR|NW|OL|OX|PA|PE|PH|PL|PO|PR|RG|RH|RM|S|SA|SE|SG|SK|SL|SM|SN|SO|SP|SR|SS|ST|SW|SY|TA|TD|TF|TN|TQ"
    "|TR|TS|TW|UB|W|WA|WC|WD|WF|WN|WR|WS|WV|YO|ZE)"
)
# A letter after the district digit exists only in central London (E1W, N1C, W1A, EC1A, SW1A, WC2H …).
_GB_OUTWARD = f"(?:(?:EC|NW|SE|SW|WC)[0-9][ABEHMNPRVWXY]|[ENW][0-9][ABCDEFGHJKMPSTUW]|{_GB_AREA}[0-9][0-9]?)"
_GB_INWARD = "[0-9][ABD-HJLNP-UW-Z]{2}"

# Ireland: the 139 Eircode routing keys (a fixed set), and the unique identifier's alphabet.
_IE_ROUTING_KEY = (
    "(?:A41|A42|A45|A63|A67|A75|A81|A82|A83|A84|A85|A86|A91|A92|A94|A96|A98|C15|D01|D02|D03|D04|D05|D06|D07|D08"
    "|D09|D10|D11|D12|D13|D14|D15|D16|D17|D18|D20|D22|D24|D6W|E21|E25|E32|E34|E41|E45|E53|E91|F12|F23|F26|F28"
    "|F31|F35|F42|F45|F52|F56|F91|F92|F93|F94|H12|H14|H16|H18|H23|H53|H54|H62|H65|H71|H91|K32|K34|K36|K45|K56"
    "|K67|K78|N37|N39|N41|N91|P12|P14|P17|P24|P25|P31|P32|P36|P43|P47|P51|P56|P61|P67|P72|P75|P81|P85|R14|R21"
    "|R32|R35|R42|R45|R51|R56|R93|R95|T12|T23|T34|T45|T56|V14|V15|V23|V31|V35|V42|V92|V93|V94|V95|W12|W23|W34"
    "|W91|X35|X42|X91|Y14|Y21|Y25|Y34|Y35)"
)
_IE_UNIQUE_ID = "[0-9ACDEFHKNPRTV-Y]{4}"

# Each pattern matches a compact (no spaces, upper-case) code; group 1 is the table key.
_COMPACT_FORMATS: dict[str, re.Pattern[str]] = {
    "CA": re.compile(f"({_CA_FSA})(?:{_CA_LDU})?"),
    "US": re.compile("((?!000)[0-9]{5})(?:[0-9]{4})?"),
    "GB": re.compile(f"({_GB_OUTWARD})(?:{_GB_INWARD})?"),
    "AU": re.compile("((?:0[289]|[1-9][0-9])[0-9]{2})"),
    "IE": re.compile(f"({_IE_ROUTING_KEY})(?:{_IE_UNIQUE_ID})?"),
    "NZ": re.compile("((?!00)[0-9]{4})"),
    "DE": re.compile("((?!00)[0-9]{5})"),
    "FR": re.compile("((?:0[1-9]|[1-8][0-9]|9[0-578])[0-9]{3})"),
    "IN": re.compile("([1-9][0-9]{5})"),
}

# Spaces anywhere, or one hyphen between two characters (ZIP+4 "90210-1234", "M5V-2T6").
_SEPARATORS = re.compile(r"\s+|(?<=[0-9A-Za-z])-(?=[0-9A-Za-z])")
_MAX_RAW_LENGTH = 24


def normalize_postcode(country: str, raw: str) -> str | None:
    """Return the table key for ``raw`` in ``country``'s format, or None when it is not that format."""
    if not isinstance(country, str) or not isinstance(raw, str) or len(raw) > _MAX_RAW_LENGTH:
        return None
    pattern = _COMPACT_FORMATS.get(country.strip().upper())
    if pattern is None:
        return None
    compact = _SEPARATORS.sub("", raw.strip())
    if not compact.isascii():
        return None
    match = pattern.fullmatch(compact.upper())
    return match.group(1) if match else None


def countries_for_postcode(raw: str) -> tuple[str, ...]:
    """Return every supported country whose format fits ``raw``, most specific first."""
    return tuple(country for country in _SPECIFICITY_ORDER if normalize_postcode(country, raw) is not None)


# Chat abbreviations shaped like partial codes ("talk l8r", "b4", "m8"): postcodes only when written in full.
_TEXT_SPEAK = frozenset({"B2B", "B4", "B4N", "G2G", "L8", "L8R", "M8", "NE1", "P2P", "W8"})

_NOT_AFTER_ALNUM = r"(?<![^\W_])"
_NOT_BEFORE_ALNUM = r"(?![^\W_])"
# Digits next to other digit groups, prices or signs are phone numbers, times, dates or amounts.
_NUMBER_START = _NOT_AFTER_ALNUM + r"(?<![$€£¥#+])(?<![0-9][ .,:/-])"
_NUMBER_END = _NOT_BEFORE_ALNUM + r"(?![ .,:/-]?[0-9])(?![%$€£¥])"
_JOIN = "[ -]?"


@dataclass(frozen=True)
class _Candidate:
    countries: tuple[str, ...]
    key: str
    start: int
    end: int
    full: bool
    has_letters: bool


def _alphanumeric_candidates(text: str) -> Iterable[_Candidate]:
    formats = (
        ("CA", f"({_CA_FSA})(?:{_JOIN}({_CA_LDU}))?"),
        ("GB", f"({_GB_OUTWARD})(?:{_JOIN}({_GB_INWARD}))?"),
        ("IE", f"({_IE_ROUTING_KEY})(?:{_JOIN}({_IE_UNIQUE_ID}))?"),
    )
    for country, body in formats:
        for match in re.finditer(_NOT_AFTER_ALNUM + body + _NOT_BEFORE_ALNUM, text):
            full = match.group(2) is not None
            if not full and match.group(1) in _TEXT_SPEAK:
                continue
            yield _Candidate((country,), match.group(1), match.start(), match.end(), full, has_letters=True)


_NUMBER_FORMATS = (
    (re.compile(_NUMBER_START + r"([0-9]{5})[ -][0-9]{4}" + _NUMBER_END), True),
    (re.compile(_NUMBER_START + r"([1-9][0-9]{2} [0-9]{3})" + _NUMBER_END), False),
    (re.compile(_NUMBER_START + r"([0-9]{4,6})" + _NUMBER_END), False),
)


def _number_candidates(text: str) -> Iterable[_Candidate]:
    for pattern, full in _NUMBER_FORMATS:
        for match in pattern.finditer(text):
            code = match.group(0)
            countries = ("US",) if full else countries_for_postcode(code)
            key = normalize_postcode(countries[0], code) if countries else None
            if key is not None:
                yield _Candidate(countries, key, match.start(), match.end(), full, has_letters=False)


def find_postcode_in_text(text: str, country_hint: str | None = None) -> PostcodeMatch | None:
    """Find the most plausible postcode in free text; prefer ``country_hint`` when the format is ambiguous.

    A full alphanumeric code (``M5V 2T6``, ``SW1A 1AA``, ``D02 X285``) is accepted from any country;
    partial or all-digit codes only when they fit the hint country (or when there is no hint), since
    "2000" from a US number is not a US postcode and "10001" from a Spanish one is not American.
    """
    if not isinstance(text, str):
        return None
    hint = country_hint.strip().upper() if isinstance(country_hint, str) and country_hint.strip() else None
    # Upper-case ASCII letters only, so the spans stay those of the text given.
    folded = "".join(char.upper() if "a" <= char <= "z" else char for char in text)
    ranked: list[tuple[tuple[bool, bool, int], PostcodeMatch]] = []
    for candidate in (*_alphanumeric_candidates(folded), *_number_candidates(folded)):
        if hint is None or hint in candidate.countries:
            country = hint or candidate.countries[0]
        elif candidate.full and candidate.has_letters:
            country = candidate.countries[0]
        else:
            continue
        key = normalize_postcode(country, folded[candidate.start : candidate.end])
        if key is None:
            continue
        rank = (not candidate.full, country != hint, candidate.start)
        ranked.append((rank, PostcodeMatch(country, key, candidate.start, candidate.end)))
    return min(ranked, key=lambda pair: pair[0])[1] if ranked else None


def _remembered(cache_key: str, find: Callable[[], Place | None]) -> Place | None:
    """Return ``find()``, remembered for CACHE_SECONDS, misses too (as ""); an exception is not remembered."""
    cached = cache.get(cache_key)
    if isinstance(cached, Place):
        return cached
    if cached == "":
        return None
    place = find()
    cache.set(cache_key, place or "", CACHE_SECONDS)
    return place


_POSTCODE_ROWS = "SELECT country, code, latitude, longitude, place, subdivision, county FROM {table}"


class PostcodeTable:
    """Every row of the postcode table in compact columns, looked up with no query.

    The keys (country and code) sorted in one fixed-width byte array for a binary search, the points and
    the names (indexes into one list of the distinct ones) in arrays in the same order: about 70 bytes a
    postcode, where a ``Place`` and its key kept in a cache took ten times that.
    """

    def __init__(self, rows: Iterable[Sequence[Any]]) -> None:
        keys: list[bytes] = []
        points: array[float] = array("d")
        named: array[int] = array("i")
        names: dict[str, int] = {}
        for country, code, latitude, longitude, *place_subdivision_county in rows:
            keys.append(_table_key(country, code))
            points.extend((float(latitude), float(longitude)))
            named.extend(names.setdefault(str(name), len(names)) for name in place_subdivision_county)
        unsorted = np.array(keys, dtype=bytes)
        order = np.argsort(unsorted, kind="stable")
        self.keys = unsorted[order]
        self.points = np.frombuffer(points, dtype=np.float64).reshape(-1, 2)[order]
        self.named = np.frombuffer(named, dtype=np.int32).reshape(-1, 3)[order]
        self.names = list(names)

    @classmethod
    def read(cls) -> "PostcodeTable":
        with connection.cursor() as cursor:
            cursor.execute(_POSTCODE_ROWS.format(table=PostcodeArea._meta.db_table))
            return cls(row for rows in iter(lambda: cursor.fetchmany(2000), []) for row in rows)

    def find(self, country: str, key: str) -> Place | None:
        wanted = _table_key(country, key)
        # numpy pads the keys with NULs: a key holding one could match another's padding.
        if not len(self.keys) or len(wanted) > self.keys.dtype.itemsize or b"\0" in wanted:
            return None
        row = int(np.searchsorted(self.keys, wanted))
        if row == len(self.keys) or self.keys[row] != wanted:
            return None
        latitude, longitude = self.points[row].tolist()
        place, subdivision, county = (self.names[index] for index in self.named[row].tolist())
        return Place(country, key, latitude, longitude, place, subdivision, county)


def _table_key(country: str, code: str) -> bytes:
    # The country's length first, so ("", "CAS4P") is not ("CA", "S4P"); a lone surrogate (junk input)
    # encodes too, and matches nothing.
    prefix = country.encode("utf-8", "surrogatepass")
    return bytes((len(prefix) + 1,)) + prefix + code.encode("utf-8", "surrogatepass")


# Kept whole in each process (it changes only with ``load_postcodes`` or an edit in the admin, seen at once
# by the process that made it and within CACHE_SECONDS by the others): a lookup is a binary search, with no
# round trip to the database or to a shared cache.
_TABLE: TTLCache[str, PostcodeTable] = TTLCache(maxsize=1, ttl=CACHE_SECONDS)


@cached(_TABLE, key=lambda: "postcodes", lock=threading.Lock())
def postcode_table() -> PostcodeTable:
    return PostcodeTable.read()


def _lookup_postcode(country: str, key: str) -> Place | None:
    return postcode_table().find(country, key)


def forget_postcodes(**_: Any) -> None:
    """Forget this process's copy of the postcode table (after it changed: a row saved or deleted, a load)."""
    postcode_table.cache_clear()


post_save.connect(forget_postcodes, sender=PostcodeArea, dispatch_uid="forget-postcodes-saved")
post_delete.connect(forget_postcodes, sender=PostcodeArea, dispatch_uid="forget-postcodes-deleted")


def resolve_postcode(raw: str, country: str | None = None) -> Place | None:
    """Return the centroid of the postcode area ``raw`` belongs to, from the offline table."""
    if country:
        countries: tuple[str, ...] = (country.strip().upper(),)
    else:
        countries = countries_for_postcode(raw)
    for candidate in countries:
        key = normalize_postcode(candidate, raw)
        place = _lookup_postcode(candidate, key) if key else None
        if place:
            return place
    return None


def _fold(text: str) -> str:
    """Lower-case, strip accents, brackets and punctuation: "Montréal (Centre)" -> "montreal"."""
    text = re.sub(r"\([^)]*\)?|\[[^\]]*\]?", " ", text)
    decomposed = unicodedata.normalize("NFKD", text.replace("&", " and "))
    plain = "".join(char for char in decomposed if not unicodedata.combining(char)).casefold()
    return " ".join(re.sub(r"[\W_]+", " ", plain).split())


# City-name words that qualify a part of the same city ("Regina Northwest", "Downtown Toronto", "PARIS 01",
# "Cork city southside").
_CITY_QUALIFIER = re.compile(
    "north|south|east|west|central|centre|center|downtown|old|northeast|northwest|southeast|southwest"
    "|northside|southside|eastside|westside"
    "|midtown|uptown|inner|outer|upper|lower|city|and|[0-9]+"
)
_CITY_WORD_ALIASES = {"saint": "st", "sainte": "ste", "mount": "mt"}
# Farther than this from the centroid, the matches are different places sharing a name.
MAX_CITY_SPREAD_KM = 60.0


def _city_words(name: str) -> tuple[str, ...]:
    return tuple(_CITY_WORD_ALIASES.get(word, word) for word in _fold(name).split())


def _names_city(place: str, city: tuple[str, ...]) -> bool:
    words = _city_words(place)
    size = len(city)
    for start in range(len(words) - size + 1):
        if words[start : start + size] == city:
            rest = words[:start] + words[start + size :]
            return all(_CITY_QUALIFIER.fullmatch(word) for word in rest)
    return False


@lru_cache(maxsize=1)
def _accented_letters() -> dict[str, str]:
    """Map each ASCII letter to a regex class of it and its accented forms: "u" -> "[uUùúûü…]"."""
    letters: dict[str, set[str]] = {}
    for codepoint in range(0xC0, 0x250):
        char = chr(codepoint)
        base = unicodedata.normalize("NFKD", char)[0].lower()
        if char.isalpha() and base.isascii() and base.isalpha() and base != char.lower():
            letters.setdefault(base, {base, base.upper()}).update(
                form for form in (char, char.lower(), char.upper()) if len(form) == 1
            )
    return {base: "[" + "".join(sorted(forms)) + "]" for base, forms in letters.items()}


def _accent_insensitive_pattern(word: str) -> str:
    """Return a regex matching ``word`` (already folded) in any accented spelling, "strasse" as "Straße" too."""
    letters = _accented_letters()
    return "".join(
        "(?:ss|ß)" if part == "ss" else "".join(letters.get(char, re.escape(char)) for char in part)
        for part in re.split("(ss)", word)
    )


def locate_city(country: str, city: str, subdivision: str = "") -> Place | None:
    """Return the centroid of the postcode areas named after ``city``, or None when none or ambiguous."""
    country = country.strip().upper() if isinstance(country, str) else ""
    city = city.strip() if isinstance(city, str) else ""
    wanted = _city_words(city)
    if country not in SUPPORTED_COUNTRIES or all(word.isdigit() for word in wanted):
        return None
    subdivision = subdivision.strip().upper() if isinstance(subdivision, str) else ""
    digest = hashlib.sha256(f"{country}|{city}|{subdivision}".encode()).hexdigest()
    return _remembered(f"geocoding:city:{digest}", lambda: _find_city(country, city, subdivision, wanted))


def _find_city(country: str, city: str, subdivision: str, wanted: tuple[str, ...]) -> Place | None:
    # The longest word narrows the rows in the database; the full comparison happens below.
    longest = max((word for word in wanted if not word.isdigit()), key=len)
    rows = PostcodeArea.objects.filter(country=country, place__iregex=_accent_insensitive_pattern(longest))
    if subdivision:
        rows = rows.filter(subdivision=subdivision)
    points = [
        (latitude, longitude, row_subdivision, place)
        for place, latitude, longitude, row_subdivision in rows.values_list(
            "place", "latitude", "longitude", "subdivision"
        )
        if _names_city(place, wanted)
    ]
    return _centroid(country, city, wanted, points)


def _centroid(
    country: str, city: str, wanted: tuple[str, ...], points: list[tuple[float, float, str, str]]
) -> Place | None:
    if not points:
        return None
    latitude = sum(point[0] for point in points) / len(points)
    longitude = sum(point[1] for point in points) / len(points)
    if any(great_circle((latitude, longitude), point[:2]).km > MAX_CITY_SPREAD_KM for point in points):
        return None
    subdivisions = {point[2] for point in points}
    subdivision = subdivisions.pop() if len(subdivisions) == 1 else ""
    # The table's own spelling when one area bears exactly the city's name ("koln" -> "Köln").
    exact = Counter(point[3] for point in points if _city_words(point[3]) == wanted)
    name = exact.most_common(1)[0][0] if exact else city
    return Place(country, "", round(latitude, 4), round(longitude, 4), name, subdivision)


# Names in the postcode tables that differ from ISO 3166-2's (after folding).
_SUBDIVISION_ALIASES = {
    ("CA", "nunavut territory"): "CA-NU",
    ("CA", "northwest territory"): "CA-NT",
    ("IE", "connacht"): "IE-C",
    ("NZ", "wellington"): "NZ-WGN",
    ("NZ", "manawatu wanganui"): "NZ-MWT",
    ("FR", "75"): "FR-75C",
}


def _subdivision_key(name: str) -> str:
    folded = _fold(name)
    return folded.removeprefix("the ")


@lru_cache(maxsize=32)
def _subdivisions_by_name(country: str) -> dict[str, str]:
    subdivisions = pycountry.subdivisions.get(country_code=country) or ()
    codes: dict[str, str] = {}
    # Top-level names and codes last, so they win over a county or district of the same name.
    for subdivision in sorted(subdivisions, key=lambda item: item.parent_code is None):
        code = subdivision.code.upper()
        codes[code.casefold()] = code
        codes[_subdivision_key(subdivision.name)] = code
        if subdivision.parent_code is None:
            codes[code.split("-", 1)[1].casefold()] = code
    return codes


@lru_cache(maxsize=4096)
def subdivision_for(country: str, admin_name: str) -> str:
    """Map a table's region name (or a French département code) to its ISO 3166-2 code; "" if unknown."""
    if not isinstance(country, str) or not isinstance(admin_name, str):
        return ""
    country = country.strip().upper()
    key = _subdivision_key(admin_name)
    if len(country) != 2 or not key:
        return ""
    alias = _SUBDIVISION_ALIASES.get((country, key))
    if alias:
        return alias
    codes = _subdivisions_by_name(country)
    if country == "FR" and re.fullmatch(r"[0-9][0-9ab]|9[78][0-9]", key):
        return codes.get(f"fr-{key}", "")
    return codes.get(key) or codes.get(admin_name.strip().casefold(), "")


# County names in the GB table whose ISO 3166-2 name is another form of the same name.
_COUNTY_ALIASES = {("GB", "western isles"): "GB-ELS"}
# Words that wrap a county's name in the table or in ISO 3166-2 ("County Durham", "Durham, County",
# "Edinburgh, City of", "Vale of Glamorgan, The").
_COUNTY_WRAPPERS = re.compile(r"^(?:county of|city of|county|the) | (?:county|city|city of|the)$")


def _county_key(name: str) -> str:
    """Fold a county's name to the form the table and ISO 3166-2 share: "Durham, County" -> "durham"."""
    folded = _fold(name.replace(",", " ,"))
    head, _, tail = folded.partition(" , ")
    folded = f"{tail} {head}" if tail else folded
    previous = ""
    while previous != folded:
        previous, folded = folded, _COUNTY_WRAPPERS.sub("", folded).strip()
    return folded


@lru_cache(maxsize=8)
def _counties_by_name(country: str) -> dict[str, str]:
    """Second-level ISO 3166-2 codes by folded name; a name two codes share maps to neither."""
    codes: dict[str, str] = {}
    shared: set[str] = set()
    for subdivision in pycountry.subdivisions.get(country_code=country) or ():
        if subdivision.parent_code is None:
            continue
        key = _county_key(subdivision.name)
        if key in codes and codes[key] != subdivision.code:
            shared.add(key)
        codes[key] = subdivision.code
    return {key: code for key, code in codes.items() if key not in shared}


@lru_cache(maxsize=4096)
def county_for(country: str, county_name: str) -> str:
    """Map a table's county name (GB ``admin2``) to its ISO 3166-2 code; "" when ISO has none.

    Metropolitan and ceremonial counties (Greater London, Greater Manchester, West Midlands …) and
    the historic counties of Northern Ireland have no ISO 3166-2 code: they map to "".
    """
    if not isinstance(country, str) or not isinstance(county_name, str) or not county_name.strip():
        return ""
    country = country.strip().upper()
    key = _county_key(county_name)
    return _COUNTY_ALIASES.get((country, key)) or _counties_by_name(country).get(key, "")


@lru_cache(maxsize=1)
def _rate_limited_nominatim() -> Callable[..., Any]:
    geolocator = Nominatim(user_agent=settings.GEOCODER_USER_AGENT, timeout=settings.GEOCODER_TIMEOUT_SECONDS)
    # Nominatim's usage policy: at most one request per second, no bulk geocoding.
    return RateLimiter(geolocator.geocode, min_delay_seconds=1, max_retries=0, swallow_exceptions=False)


def _ask_nominatim(query: str, country: str) -> tuple[float, float, str] | None:
    location = _rate_limited_nominatim()(query, exactly_one=True, country_codes=country.lower())
    if location is None:
        return None
    return float(location.latitude), float(location.longitude), str(location.address)


def geocode_online(query: str, country: str) -> Place | None:
    """Geocode an address with Nominatim when ``settings.GEOCODER_ONLINE`` is on; None when off or failing."""
    if not settings.GEOCODER_ONLINE or not isinstance(query, str) or not query.strip():
        return None
    country = country.strip().upper()
    digest = hashlib.sha256(f"{country}|{' '.join(query.split()).casefold()}".encode()).hexdigest()

    def find() -> Place | None:
        found = _ask_nominatim(query, country)
        return Place(country, "", found[0], found[1], found[2], "") if found else None

    try:
        return _remembered(f"geocoding:online:{digest}", find)
    except (GeopyError, OSError, ValueError) as error:
        # The query may be someone's address: log only what went wrong.
        logger.warning("Online geocoding failed (%s)", type(error).__name__)
        return None


def resolve_place(
    *,
    postcode: str = "",
    country: str = "",
    latitude: float | None = None,
    longitude: float | None = None,
    point_needs_country: bool = False,
) -> Place | None:
    """Turn a postcode, a point or a country into a place, or raise an ``errors.DirectoryError``.

    The one rule for every way in (``/nearest/``, ``/postcodes/``, ``/services/?postcode=``, SMS): input
    that cannot be read is an ``InvalidPlace`` (a country without a postcode table, a code not in the
    given country's format or in no known format, a code several countries share without ``country``);
    a well-formed postcode the table does not hold is ``PostcodeNotFound``. A point becomes a place
    without a postcode; a country alone returns None, meaning the whole country.
    """
    postcode = postcode.strip() if isinstance(postcode, str) else ""
    country = country.strip().upper() if isinstance(country, str) else ""
    if country and not is_country_code(country):
        raise errors.InvalidCountry(f"{country!r} is not an ISO 3166-1 alpha-2 country code (e.g. CA, GB).")
    has_point = latitude is not None or longitude is not None
    if postcode and has_point:
        raise errors.ConflictingPlace("Give a postcode or a point (lat/lon or near), not both.")
    if has_point:
        if latitude is None or longitude is None:
            raise errors.IncompletePoint("lat and lon go together.", field="lon" if latitude is not None else "lat")
        if point_needs_country and not country:
            raise errors.CountryRequired("Required with lat/lon (ISO 3166-1 alpha-2).")
        return Place(country, "", float(latitude), float(longitude), "", "")
    if postcode:
        return _postcode_place(postcode, country)
    if country:
        return None
    raise errors.MissingPlace("Give a postcode, lat/lon with country, or a country.")


def _postcode_place(postcode: str, country: str) -> Place:
    if country:
        if country not in SUPPORTED_COUNTRIES:
            supported = ", ".join(SUPPORTED_COUNTRIES)
            raise errors.UnsupportedCountry(
                f"No postcode table for {country}; supported: {supported}. Use lat/lon instead."
            )
        key = normalize_postcode(country, postcode)
        if key is None:
            raise errors.MalformedPostcode(f"{postcode!r} is not a {region_name(country)} postcode.")
    else:
        fits = countries_for_postcode(postcode)
        if not fits:
            raise errors.MalformedPostcode(f"{postcode!r} is not a postcode format we know.")
        if len(fits) > 1:
            raise errors.AmbiguousPostcode(f"{postcode!r} could be in {', '.join(fits)}: give country.")
        country = fits[0]
        key = normalize_postcode(country, postcode)
    place = _lookup_postcode(country, key) if key else None
    if place is None:
        raise errors.PostcodeNotFound(
            f"Postcode {postcode!r} is not in the {region_name(country)} table; try a nearby postcode or lat/lon."
        )
    return place
