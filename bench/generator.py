"""Synthetic listings, clustered around real postcode centroids the way services cluster in cities.

Everything here is a pure function of its arguments (size, seed, centroids, first ids, topic and
language ids, anchor time): the same arguments give the same rows. Rows are plain tuples in the
column order of ``TABLES`` so the loader can stream millions of them without model instances.
Nothing here imports Django, so the harness can use the atlas before any settings exist.

Every phone number comes from a range set aside for fiction (NANP 555-01XX, Ofcom's 07700 900XXX
drama range, ACMA's 0491 570 XXX numbers); countries without a published fictional range use the
Ofcom range, so no synthetic number can ring a real person. Web addresses are under example.org.
"""

import bisect
import csv
import json
import math
import random
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from itertools import accumulate
from pathlib import Path

GENERATOR_VERSION = 1

# Rows are handed to the loader after every organisation that brings the batch past this many services.
BATCH_SERVICES = 5000

Row = tuple[object, ...]
Batch = dict[str, list[Row]]

TABLES: dict[str, tuple[str, ...]] = {
    "organization": ("id", "name", "description", "website", "email", "kind", "created_at", "updated_at"),
    "service": (
        "id",
        "organization",
        "kind",
        "name",
        "description",
        "translations",
        "min_age",
        "max_age",
        "is_free",
        "is_anonymous",
        "is_confidential",
        "status",
        "hours_note",
        "verification_state",
        "verified_at",
        "evidence_url",
        "evidence_note",
        "evidence_sources",
        "source_seen",
        "review_interval_days",
        "review_due",
        "created_at",
        "updated_at",
    ),
    "channel": ("id", "service", "kind", "value", "display", "sms_keyword", "label", "is_primary", "position"),
    "schedule": ("id", "service", "channel", "timezone", "always_open"),
    "interval": ("id", "schedule", "weekday", "opens", "closes"),
    "coverage": ("id", "service", "scope", "country", "subdivision", "latitude", "longitude", "radius_km"),
    "location": (
        "id",
        "service",
        "name",
        "address",
        "city",
        "postcode",
        "country",
        "subdivision",
        "latitude",
        "longitude",
        "precision",
    ),
    "service_topic": ("id", "service", "topic"),
    "service_language": ("id", "service", "language"),
}

# The project's own taxonomy; the benchmark needs no list of its own.
TOPIC_SLUGS: tuple[str, ...] = tuple(
    topic["slug"]
    for topic in json.loads((Path(__file__).resolve().parent.parent / "fixtures" / "topics.json").read_text("utf-8"))
)
LANGUAGE_CODES = ("en", "fr", "es", "de", "hi", "mi", "ga", "ar", "zh", "tr")

# Share of listings per country; a rough mix of population and how many services a country lists.
COUNTRY_SHARES = {"US": 30, "IN": 14, "GB": 10, "DE": 10, "FR": 10, "CA": 10, "AU": 8, "NZ": 4, "IE": 4}

# A postcode's weight is (postcodes in its half-degree cell) ** CLUSTER_EXPONENT, so a cell is chosen
# with probability ~ count ** (1 + exponent): 1.25 puts ~28% of Australian listings in Sydney's cell
# and ~15% of British ones in London's, close to their shares of population.
CELL_DEGREES = 0.5
CLUSTER_EXPONENT = 0.25

KIND_SHARES = {"helpline": 25, "police": 30, "support_agency": 35, "reporting": 10}
KIND_LABELS = {
    "helpline": "Helpline",
    "police": "Police Unit",
    "support_agency": "Support Agency",
    "reporting": "Reporting Portal",
}
KIND_LABELS_FR = {
    "helpline": "Ligne d'écoute synthétique",
    "police": "Unité de police synthétique",
    "support_agency": "Organisme d'aide synthétique",
    "reporting": "Portail de signalement synthétique",
}
ORGANIZATION_KINDS = {
    "helpline": ("ngo", "charity"),
    "police": ("police",),
    "support_agency": ("ngo", "charity", "government"),
    "reporting": ("ngo", "company", "government"),
}

# Coverage weights per kind: worldwide, country, subdivision, radius. National listings stay rare.
COVERAGE_WEIGHTS = {
    "helpline": (0, 15, 200, 785),
    "police": (0, 1, 100, 899),
    "support_agency": (0, 1, 80, 919),
    "reporting": (5, 30, 100, 865),
}
COVERAGE_SCOPES = ("worldwide", "country", "subdivision", "radius")
RADII_KM = (5.0, 10.0, 15.0, 20.0, 25.0, 30.0, 40.0, 50.0)

LOCATION_SHARE = {"helpline": 0.3, "police": 0.95, "support_agency": 0.9, "reporting": 0.1}
ALWAYS_OPEN_SHARE = {"helpline": 0.6, "police": 0.5, "support_agency": 0.1, "reporting": 0.7}

# Chance that a listing of this kind carries each topic; the first topic is the fallback.
TOPIC_CHANCES = {
    "helpline": (("emotional_support", 0.7), ("sextortion", 0.5), ("suicide_crisis", 0.4), ("parent_support", 0.3)),
    "police": (("police_reporting", 0.9), ("sextortion", 0.6), ("csam_reporting", 0.5), ("grooming", 0.4)),
    "support_agency": (
        ("victim_services", 0.8),
        ("intimate_image_abuse", 0.4),
        ("sextortion", 0.4),
        ("parent_support", 0.3),
        ("emotional_support", 0.3),
    ),
    "reporting": (("csam_reporting", 0.8), ("image_removal", 0.6), ("sextortion", 0.4), ("intimate_image_abuse", 0.3)),
}

# Languages per country: (code, chance); the first language is the fallback.
LANGUAGE_CHANCES = {
    "US": (("en", 1.0), ("es", 0.35), ("zh", 0.05)),
    "CA": (("en", 0.9), ("fr", 0.4), ("zh", 0.05)),
    "GB": (("en", 1.0), ("ar", 0.05), ("zh", 0.05)),
    "IE": (("en", 1.0), ("ga", 0.15)),
    "AU": (("en", 1.0), ("zh", 0.1), ("ar", 0.05)),
    "NZ": (("en", 1.0), ("mi", 0.15)),
    "DE": (("de", 1.0), ("en", 0.3), ("tr", 0.1)),
    "FR": (("fr", 1.0), ("en", 0.2), ("ar", 0.1)),
    "IN": (("en", 0.7), ("hi", 0.8)),
}
QUEBEC_LANGUAGES = (("fr", 1.0), ("en", 0.5))

VERIFICATION_WEIGHTS = (("verified", 82), ("pending", 8), ("stale", 5), ("unverified", 5))
STATUS_WEIGHTS = (("active", 970), ("inactive", 15), ("temporarily closed", 10), ("defunct", 5))

COUNTRY_TIMEZONES = {
    "US": "America/New_York",
    "CA": "America/Toronto",
    "GB": "Europe/London",
    "IE": "Europe/Dublin",
    "AU": "Australia/Sydney",
    "NZ": "Pacific/Auckland",
    "DE": "Europe/Berlin",
    "FR": "Europe/Paris",
    "IN": "Asia/Kolkata",
}
SUBDIVISION_TIMEZONES = {
    **dict.fromkeys(
        ("US-AL", "US-AR", "US-IL", "US-IA", "US-KS", "US-LA", "US-MN", "US-MS", "US-MO", "US-NE", "US-ND"),
        "America/Chicago",
    ),
    **dict.fromkeys(("US-OK", "US-SD", "US-TN", "US-TX", "US-WI"), "America/Chicago"),
    **dict.fromkeys(("US-CO", "US-ID", "US-MT", "US-NM", "US-UT", "US-WY"), "America/Denver"),
    **dict.fromkeys(("US-CA", "US-NV", "US-OR", "US-WA"), "America/Los_Angeles"),
    "US-AZ": "America/Phoenix",
    "US-AK": "America/Anchorage",
    "US-HI": "Pacific/Honolulu",
    "US-IN": "America/Indiana/Indianapolis",
    "US-MI": "America/Detroit",
    "CA-NL": "America/St_Johns",
    **dict.fromkeys(("CA-NS", "CA-NB", "CA-PE"), "America/Halifax"),
    "CA-MB": "America/Winnipeg",
    "CA-SK": "America/Regina",
    **dict.fromkeys(("CA-AB", "CA-NT"), "America/Edmonton"),
    "CA-BC": "America/Vancouver",
    "CA-YT": "America/Whitehorse",
    "CA-NU": "America/Iqaluit",
    "AU-VIC": "Australia/Melbourne",
    "AU-QLD": "Australia/Brisbane",
    "AU-SA": "Australia/Adelaide",
    "AU-WA": "Australia/Perth",
    "AU-TAS": "Australia/Hobart",
    "AU-NT": "Australia/Darwin",
    "FR-971": "America/Guadeloupe",
    "FR-972": "America/Martinique",
    "FR-973": "America/Cayenne",
    "FR-974": "Indian/Reunion",
    "FR-976": "Indian/Mayotte",
}

# Weekly patterns: (hours note, [(weekday, opens, closes)]); closes <= opens runs past midnight.
WEEKDAYS = range(5)
HOUR_PATTERNS: tuple[tuple[str, tuple[tuple[int, time, time], ...]], ...] = (
    ("Mon-Fri 9:00-17:00", tuple((d, time(9), time(17)) for d in WEEKDAYS)),
    ("Mon-Fri 8:30-16:30", tuple((d, time(8, 30), time(16, 30)) for d in WEEKDAYS)),
    (
        "Mon-Fri 10:00-18:00, Sat 10:00-14:00",
        (*((d, time(10), time(18)) for d in WEEKDAYS), (5, time(10), time(14))),
    ),
    ("Mon-Thu 9:00-20:00, Fri 9:00-17:00", (*((d, time(9), time(20)) for d in range(4)), (4, time(9), time(17)))),
    ("Every evening 18:00-02:00", tuple((d, time(18), time(2)) for d in range(7))),
)
TEXT_HOURS = tuple((d, time(16), time(23)) for d in range(7))
SMS_KEYWORDS = ("TALK", "CONNECT", "SAFE", "SUPPORT", "CHAT")

NANP_AREA_CODES = {
    "US": ("212", "213", "312", "415", "617", "713", "206", "303", "404", "305"),
    "CA": ("416", "514", "604", "403", "306", "613", "902", "204"),
}
# ACMA's list of mobile numbers for creative works (the 0491 570 block).
AU_FICTIONAL_MOBILES = ("006", "110", "156", "157", "158", "159", "313", "737")


@dataclass(frozen=True)
class Centroid:
    country: str
    postcode: str
    latitude: float
    longitude: float
    place: str
    subdivision: str


@dataclass(frozen=True)
class Atlas:
    """Centroids per country, with cumulative weights that favour dense areas."""

    countries: tuple[str, ...]
    country_cumulative: tuple[float, ...]
    centroids: Mapping[str, tuple[Centroid, ...]]
    cumulative: Mapping[str, tuple[float, ...]]

    def pick(self, rng: random.Random) -> Centroid:
        country = self.countries[_pick_index(rng, self.country_cumulative)]
        return self.centroids[country][_pick_index(rng, self.cumulative[country])]

    def pick_in(self, rng: random.Random, country: str) -> Centroid:
        return self.centroids[country][_pick_index(rng, self.cumulative[country])]


def _pick_index(rng: random.Random, cumulative: Sequence[float]) -> int:
    return bisect.bisect_right(cumulative, rng.random() * cumulative[-1])


def _no_subdivision(country: str, admin1: str) -> str:
    return ""


def read_centroids(directory: Path, subdivision_for: Callable[[str, str], str] = _no_subdivision) -> list[Centroid]:
    """Read every ``<CC>.csv`` postcode table; ``subdivision_for(country, admin1)`` names the ISO 3166-2 code."""
    centroids: list[Centroid] = []
    for path in sorted(directory.glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            centroids.extend(
                Centroid(
                    country=row["country"],
                    postcode=row["postcode"],
                    latitude=float(row["latitude"]),
                    longitude=float(row["longitude"]),
                    place=row["place"][:100],
                    subdivision=subdivision_for(row["country"], row["admin1"]),
                )
                for row in csv.DictReader(handle)
            )
    return centroids


def build_atlas(centroids: Sequence[Centroid]) -> Atlas:
    by_country: dict[str, list[Centroid]] = {}
    for centroid in centroids:
        by_country.setdefault(centroid.country, []).append(centroid)
    countries = tuple(country for country in COUNTRY_SHARES if country in by_country)
    if not countries:
        raise ValueError("no postcode centroids for any benchmark country")
    cumulative: dict[str, tuple[float, ...]] = {}
    for country in countries:
        cells = Counter(_cell(c) for c in by_country[country])
        cumulative[country] = tuple(accumulate(cells[_cell(c)] ** CLUSTER_EXPONENT for c in by_country[country]))
    return Atlas(
        countries=countries,
        country_cumulative=tuple(accumulate(COUNTRY_SHARES[country] for country in countries)),
        centroids={country: tuple(by_country[country]) for country in countries},
        cumulative=cumulative,
    )


def _cell(centroid: Centroid) -> tuple[int, int]:
    return (math.floor(centroid.latitude / CELL_DEGREES), math.floor(centroid.longitude / CELL_DEGREES))


def jitter(rng: random.Random, latitude: float, longitude: float, sigma_km: float) -> tuple[float, float]:
    """Move a point by a normal offset of ``sigma_km`` in each direction, staying on the globe."""
    lat = latitude + rng.gauss(0.0, sigma_km / 111.2)
    lat = min(89.9, max(-89.9, lat))
    lon = longitude + rng.gauss(0.0, sigma_km / (111.2 * max(0.1, math.cos(math.radians(lat)))))
    lon = (lon + 180.0) % 360.0 - 180.0
    return round(lat, 5), round(lon, 5)


def fictional_phone(rng: random.Random, country: str) -> tuple[str, str]:
    """Return an E.164 number from a range reserved for fiction, and how it would be written locally."""
    if country in NANP_AREA_CODES:
        area = rng.choice(NANP_AREA_CODES[country])
        line = rng.randrange(100, 200)
        return f"+1{area}5550{line}", f"({area}) 555-0{line}"
    if country == "AU":
        suffix = rng.choice(AU_FICTIONAL_MOBILES)
        return f"+61491570{suffix}", f"0491 570 {suffix}"
    suffix = f"{rng.randrange(1000):03d}"
    return f"+447700900{suffix}", f"07700 900{suffix}"


def _weighted(rng: random.Random, weights: Sequence[tuple[str, int]]) -> str:
    return rng.choices([value for value, _ in weights], [weight for _, weight in weights])[0]


def _chosen(rng: random.Random, chances: Sequence[tuple[str, float]]) -> list[str]:
    picked = [value for value, chance in chances if rng.random() < chance]
    return picked or [chances[0][0]]


class _Ids:
    """Running id counters, one per table, starting where the database leaves off."""

    def __init__(self, first: Mapping[str, int]) -> None:
        self._next = {table: first.get(table, 1) for table in TABLES}

    def take(self, table: str) -> int:
        value = self._next[table]
        self._next[table] = value + 1
        return value


@dataclass(frozen=True)
class Context:
    atlas: Atlas
    topic_ids: Mapping[str, int]
    language_ids: Mapping[str, int]
    anchor: datetime


def generate(
    services: int,
    *,
    seed: int,
    atlas: Atlas,
    topic_ids: Mapping[str, int],
    language_ids: Mapping[str, int],
    anchor: datetime,
    first_ids: Mapping[str, int] | None = None,
) -> Iterator[Batch]:
    """Yield batches of rows for ``services`` listings (about ``BATCH_SERVICES`` per batch).

    ``anchor`` is the aware "now" that verification dates count back from; ``first_ids`` gives
    each table's first id so the rows can be added to a database that already holds listings.
    """
    rng = random.Random(seed)
    ids = _Ids(first_ids or {})
    context = Context(atlas=atlas, topic_ids=topic_ids, language_ids=language_ids, anchor=anchor)
    batch = _empty_batch()
    made = 0
    while made < services:
        size = min(services - made, rng.choice((1, 1, 2, 3, 4, 5, 8, 12)))
        _organization(rng, ids, context, batch, first_number=made + 1, size=size)
        made += size
        if len(batch["service"]) >= BATCH_SERVICES:
            yield batch
            batch = _empty_batch()
    if batch["service"]:
        yield batch


def _empty_batch() -> Batch:
    return {table: [] for table in TABLES}


def _organization(
    rng: random.Random, ids: _Ids, context: Context, batch: Batch, *, first_number: int, size: int
) -> None:
    """Add one organisation and its ``size`` services, all of one kind and around one home centroid."""
    kind = _weighted(rng, tuple(KIND_SHARES.items()))
    home = context.atlas.pick(rng)
    organization_id = ids.take("organization")
    batch["organization"].append(
        (
            organization_id,
            f"Synthetic Organisation {first_number:07d}",
            "Synthetic organisation for load testing; not a real organisation.",
            f"https://org-{first_number:07d}.example.org/",
            "",
            rng.choice(ORGANIZATION_KINDS[kind]),
            context.anchor,
            context.anchor,
        )
    )
    for offset in range(size):
        centroid = home if rng.random() < 0.5 else context.atlas.pick_in(rng, home.country)
        _service(rng, ids, context, batch, organization_id, first_number + offset, kind, centroid)


def _service(
    rng: random.Random,
    ids: _Ids,
    context: Context,
    batch: Batch,
    organization_id: int,
    number: int,
    kind: str,
    centroid: Centroid,
) -> None:
    service_id = ids.take("service")
    always_open = rng.random() < ALWAYS_OPEN_SHARE[kind]
    hours_note, intervals = (
        ("Open 24/7", ()) if always_open else rng.choice(HOUR_PATTERNS[:4] if kind != "helpline" else HOUR_PATTERNS)
    )
    batch["service"].append(_service_row(rng, context, service_id, organization_id, number, kind, centroid, hours_note))
    timezone = SUBDIVISION_TIMEZONES.get(centroid.subdivision, COUNTRY_TIMEZONES[centroid.country])
    _schedule(ids, batch, service_id, None, timezone, always_open, intervals)
    _channels(rng, ids, batch, service_id, number, kind, centroid.country, timezone)
    _coverage(rng, ids, batch, service_id, kind, centroid)
    if rng.random() < LOCATION_SHARE[kind]:
        _location(rng, ids, batch, service_id, number, centroid)
    for slug in _chosen(rng, TOPIC_CHANCES[kind]):
        batch["service_topic"].append((ids.take("service_topic"), service_id, context.topic_ids[slug]))
    chances = QUEBEC_LANGUAGES if centroid.subdivision == "CA-QC" else LANGUAGE_CHANCES[centroid.country]
    for code in _chosen(rng, chances):
        batch["service_language"].append((ids.take("service_language"), service_id, context.language_ids[code]))


def _service_row(
    rng: random.Random,
    context: Context,
    service_id: int,
    organization_id: int,
    number: int,
    kind: str,
    centroid: Centroid,
    hours_note: str,
) -> Row:
    translations: dict[str, dict[str, str]] = {}
    if centroid.country in ("CA", "FR") and rng.random() < 0.5:
        translations = {"fr": {"name": f"{KIND_LABELS_FR[kind]} {number:07d}"}}
    ages = rng.random()
    min_age, max_age = (rng.randrange(10, 14), rng.randrange(18, 26)) if ages < 0.25 else (None, None)
    if 0.25 <= ages < 0.35:
        min_age = 18
    state = _weighted(rng, VERIFICATION_WEIGHTS)
    verified_at = None
    if state == "verified":
        verified_at = _day(context.anchor, rng.randrange(0, 170))
    elif state == "stale":
        verified_at = _day(context.anchor, rng.randrange(200, 500))
    interval_days = 365 if rng.random() < 0.2 else 180
    evidence_url = f"https://synthetic-{number:07d}.example.org/about" if verified_at else ""
    return (
        service_id,
        organization_id,
        kind,
        f"Synthetic {KIND_LABELS[kind]} {number:07d}",
        "Synthetic listing for load testing; not a real service.",
        translations,
        min_age,
        max_age,
        True if rng.random() < 0.9 else None,
        (rng.random() < 0.7) if kind == "helpline" else None,
        True if rng.random() < 0.8 else None,
        _weighted(rng, STATUS_WEIGHTS),
        hours_note,
        state,
        verified_at,
        evidence_url,
        "Secondary sources only." if state == "pending" else "",
        [evidence_url] if evidence_url else [],
        verified_at.date() if verified_at else None,
        interval_days,
        verified_at + timedelta(days=interval_days) if verified_at else None,
        context.anchor,
        context.anchor,
    )


def _day(anchor: datetime, days_back: int) -> datetime:
    """Return noon UTC ``days_back`` days before the anchor: few distinct values, cheap to convert."""
    return anchor.replace(hour=12, minute=0, second=0, microsecond=0) - timedelta(days=days_back)


def _schedule(
    ids: _Ids,
    batch: Batch,
    service_id: int,
    channel_id: int | None,
    timezone: str,
    always_open: bool,
    intervals: Sequence[tuple[int, time, time]],
) -> None:
    schedule_id = ids.take("schedule")
    batch["schedule"].append((schedule_id, service_id, channel_id, timezone, always_open))
    for weekday, opens, closes in intervals:
        batch["interval"].append((ids.take("interval"), schedule_id, weekday, opens, closes))


def _channels(
    rng: random.Random,
    ids: _Ids,
    batch: Batch,
    service_id: int,
    number: int,
    kind: str,
    country: str,
    timezone: str,
) -> None:
    site = f"https://synthetic-{number:07d}.example.org/"
    rows: list[tuple[str, str, str, str, str, bool]] = []
    if kind == "police" or rng.random() < 0.97:
        value, display = fictional_phone(rng, country)
        rows.append(("phone", value, display, "", "Emergency? Call the emergency number first.", True))
    if rng.random() < 0.2:
        value, display = fictional_phone(rng, country)
        rows.append(("phone", value, display, "", "Non-emergency line" if kind == "police" else "Office", False))
    if rng.random() < 0.15:
        value, display = fictional_phone(rng, country)
        rows.append(("sms", value, display, rng.choice(SMS_KEYWORDS), "Text line", False))
    if rng.random() < 0.05:
        value, display = fictional_phone(rng, country)
        rows.append(("whatsapp", value, display, "", "", False))
    if rng.random() < 0.1:
        rows.append(("chat", f"{site}chat", "", "", "Web chat", False))
    if kind == "reporting" and rng.random() < 0.6:
        rows.append(("web_form", f"{site}report", "", "", "Report online", False))
    if rng.random() < 0.3:
        rows.append(("email", f"help@synthetic-{number:07d}.example.org", "", "", "", False))
    if not rows or rng.random() < 0.7:
        rows.append(("website", site, "", "", "", False))
    for position, (channel_kind, value, display, keyword, label, primary) in enumerate(rows):
        channel_id = ids.take("channel")
        batch["channel"].append(
            (channel_id, service_id, channel_kind, value, display, keyword, label, primary, position)
        )
        if channel_kind == "sms" and rng.random() < 0.3:
            _schedule(ids, batch, service_id, channel_id, timezone, False, TEXT_HOURS)


def _coverage(rng: random.Random, ids: _Ids, batch: Batch, service_id: int, kind: str, centroid: Centroid) -> None:
    scope = rng.choices(COVERAGE_SCOPES, COVERAGE_WEIGHTS[kind])[0]
    if scope == "subdivision" and not centroid.subdivision:
        scope = "radius"
    rows: list[tuple[str, str, str, float | None, float | None, float | None]] = []
    if scope == "worldwide":
        rows.append(("worldwide", "", "", None, None, None))
    elif scope == "country":
        rows.append(("country", centroid.country, "", None, None, None))
    elif scope == "subdivision":
        rows.append(("subdivision", centroid.country, centroid.subdivision, None, None, None))
    else:
        lat, lon = jitter(rng, centroid.latitude, centroid.longitude, 3.0)
        rows.append(("radius", centroid.country, "", lat, lon, rng.choice(RADII_KM)))
        if rng.random() < 0.05 and centroid.subdivision:
            rows.append(("subdivision", centroid.country, centroid.subdivision, None, None, None))
    for row in rows:
        batch["coverage"].append((ids.take("coverage"), service_id, *row))


def _location(rng: random.Random, ids: _Ids, batch: Batch, service_id: int, number: int, centroid: Centroid) -> None:
    if rng.random() < 0.3:
        lat, lon, precision = centroid.latitude, centroid.longitude, "postcode"
    else:
        lat, lon = jitter(rng, centroid.latitude, centroid.longitude, 2.0)
        precision = "address"
    batch["location"].append(
        (
            ids.take("location"),
            service_id,
            f"Synthetic office {number:07d}",
            f"{rng.randrange(1, 1000)} Synthetic Street",
            centroid.place,
            centroid.postcode,
            centroid.country,
            centroid.subdivision,
            lat,
            lon,
            precision,
        )
    )
