"""Find the nearest help: the one search used by the API and the SMS gateway.

Candidates come from index-backed queries only, each capped in SQL:

- services with a location near the point (bounding box on the indexed latitude/longitude, then an
  equirectangular distance in SQL), widening ring by ring until enough are found;
- services whose radius coverage contains the point (same rings, on the coverage centre);
- services covering the point's subdivision, its country, or the whole world (skipped when enough
  local services were found: every local one outranks them).

Python then ranks at most a few hundred candidates with exact (geodesic) distances, in this order:
topic match, coverage specificity (local, subdivision, national, worldwide), distance, open now,
language (offered in the asked language, not stated, not offered), verification (verified, pending,
unverified, stale), then name and id so equal scores are always ordered the same way. A 24/7 national
line is always part of the answer when the country has one.
"""

import functools
import hashlib
import heapq
import math
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Exists, F, FloatField, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Cast
from django.utils import timezone
from geographiclib.geodesic import Geodesic

from directory.emergency import emergency_number
from directory.hours import Interval, WeeklyHours, is_open, weekly_hours_from_schedule
from directory.models import (
    PUBLIC_LISTING,
    ChannelKind,
    ContactChannel,
    Coverage,
    CoverageScope,
    Language,
    Location,
    Schedule,
    Service,
    ServiceKind,
    Topic,
    VerificationState,
    latitude_band,
    translated,
)
from directory.phones import reachable_from
from directory.regions import region_name

SUPPORTED_LANGUAGES = ("en", "fr", "es", "de")

# Getting an image taken down is what someone facing sextortion needs first after "don't pay", wherever
# they are: for these topics the worldwide takedown services (topic ``TAKEDOWN_TOPIC``) are part of
# every answer, ranked below the local and national help that matches the topic.
TAKEDOWN_TOPIC = "image_removal"
WORLDWIDE_TAKEDOWN_FOR = frozenset({"sextortion", "image_removal", "intimate_image_abuse"})
# StopNCII.org (adults' images) and Take It Down (images taken before 18); others rank as usual.
MAX_WORLDWIDE_TAKEDOWN = 2

# How far a located service may be and still count as nearby; rings grow until enough are found.
# A ring's cost grows with the points in its box, so the rings grow by steps of about 2.5: a dense
# city is answered from a few hundred points, an empty region after a few cheap index probes.
LOCATED_RINGS_KM = (2.0, 5.0, 12.0, 30.0, 70.0, 150.0)
# Radius coverage: how far a coverage centre may be from the point (the largest radius we honour).
COVERAGE_RINGS_KM = (3.0, 10.0, 25.0, 60.0, 130.0, 300.0)
MAX_LIMIT = 50

KM_PER_DEGREE_LAT = 110.574
KM_PER_DEGREE_LON_AT_EQUATOR = 111.320
# The WGS-84 ellipsoid with its axis in km, as geopy's geodesic uses it: distances come out in km.
_WGS84_KM = Geodesic(6378.137, 1 / 298.257223563)

TIER_LOCAL, TIER_SUBDIVISION, TIER_NATIONAL, TIER_WORLDWIDE = 0, 1, 2, 3


@dataclass(frozen=True)
class HelpQuery:
    """What someone needs: a place (a point, or just a country) and optional preferences."""

    country: str
    latitude: float | None = None
    longitude: float | None = None
    subdivision: str = ""
    # The county within ``subdivision`` (ISO 3166-2, GB), whose police force covers it.
    county: str = ""
    topic: str = ""
    language: str = "en"
    kinds: tuple[str, ...] = ()
    open_now: bool = False
    age: int | None = None
    verified_only: bool = False
    limit: int = 10


@dataclass(frozen=True)
class Contact:
    kind: str
    value: str
    display: str
    sms_keyword: str = ""
    label: str = ""


@dataclass(frozen=True)
class HelpResult:
    service_id: int
    name: str
    kind: str
    distance_km: float | None
    reason: str
    open_now: bool | None
    always_open: bool
    verification_state: str
    contacts: tuple[Contact, ...] = ()
    topics: tuple[str, ...] = ()
    # False for results added only to fill the answer when too few match the topic asked.
    topic_match: bool = True


@dataclass(frozen=True)
class HelpAnswer:
    country: str
    emergency_number: str
    results: tuple[HelpResult, ...] = field(default_factory=tuple)


@dataclass
class _Candidate:
    service_id: int
    tier: int
    distance_km: float | None = None
    topic_backfill: bool = False
    # The subdivision or county whose coverage brought the candidate in (for its reason).
    area: str = ""


_REASONS = {
    "en": {
        "km": "{km} km away",
        "near": "less than 1 km away",
        "covers": "covers {region}",
        "national": "national",
        "worldwide": "worldwide",
        "always": "24/7",
    },
    "de": {
        "km": "{km} km entfernt",
        "near": "weniger als 1 km entfernt",
        "covers": "zuständig für {region}",
        "national": "landesweit",
        "worldwide": "weltweit",
        "always": "rund um die Uhr",
    },
    "fr": {
        "km": "à {km} km",
        "near": "à moins de 1 km",
        "covers": "couvre {region}",
        "national": "national",
        "worldwide": "international",
        "always": "24/7",
    },
    "es": {
        "km": "a {km} km",
        "near": "a menos de 1 km",
        "covers": "cubre {region}",
        "national": "nacional",
        "worldwide": "internacional",
        "always": "24/7",
    },
}


def find_help(query: HelpQuery, *, now: datetime | None = None) -> HelpAnswer:
    """Return ranked help for ``query``, with the country's emergency number."""
    now = now or timezone.now()
    language = query.language if query.language in SUPPORTED_LANGUAGES else "en"
    limit = max(1, min(query.limit, MAX_LIMIT))
    topic_id = _topic_id(query.topic) if query.topic else None

    candidates = _gather(query, topic_id, now, limit)
    if topic_id is not None and len(candidates) < limit:
        for candidate in _gather(query, None, now, limit).values():
            if candidate.service_id not in candidates:
                candidate.topic_backfill = True
                candidates[candidate.service_id] = candidate
    national_line = _national_24_7_line(query, now)
    if national_line is not None and national_line not in candidates:
        candidates[national_line] = _Candidate(national_line, TIER_NATIONAL, topic_backfill=topic_id is not None)
    takedown = _worldwide_takedown(query, now) if query.topic in WORLDWIDE_TAKEDOWN_FOR else []
    for service_id in takedown:
        known = candidates.get(service_id)
        if known is None or known.topic_backfill:
            candidates[service_id] = _Candidate(service_id, TIER_WORLDWIDE)

    ranked = _rank(query, language, now, candidates)
    if query.open_now:
        ranked = [entry for entry in ranked if entry[2] is not False]
    chosen = _with_kept(ranked, {national_line, *takedown} - {None}, limit)
    return HelpAnswer(
        country=query.country,
        emergency_number=emergency_number(query.country),
        results=_results(chosen, query, language),
    )


def _with_kept(ranked: list[Any], kept: set[Any], limit: int) -> list[Any]:
    """The first ``limit`` ranked entries, making room at the end for the ``kept`` services, in rank order."""
    must = [entry for entry in ranked if entry[0].service_id in kept][:limit]
    rest = [entry for entry in ranked if entry[0].service_id not in kept][: limit - len(must)]
    position = {id(entry): index for index, entry in enumerate(ranked)}
    return sorted([*rest, *must], key=lambda entry: position[id(entry)])


def _worldwide_takedown(query: HelpQuery, now: datetime) -> list[int]:
    """Ids of the worldwide takedown services the query allows, as ranking orders a tier."""
    topic_id = _topic_id(TAKEDOWN_TOPIC)
    if topic_id is None:
        return []
    key = _cache_key("takedown", query, topic_id)
    cached = cache.get(key)
    if cached is not None:
        return list(cached)
    conditions = service_conditions(query, topic_id, now)
    found = area_services(
        CoverageScope.WORLDWIDE, "country", "", conditions, query.language, now, MAX_WORLDWIDE_TAKEDOWN
    )
    cache.set(key, found, settings.SEARCH_CACHE_SECONDS)
    return found


def _topic_id(slug: str) -> int | None:
    key = "help:topic:" + hashlib.sha256(slug.encode()).hexdigest()[:32]
    cached = cache.get(key)
    if cached is None:
        cached = Topic.objects.filter(slug=slug).values_list("id", flat=True).first() or 0
        cache.set(key, cached, settings.SEARCH_CACHE_SECONDS)
    return int(cached) or None


def _service_filter(query: HelpQuery, topic_id: int | None, now: datetime) -> Q:
    """The conditions the query puts on a service."""
    condition = Q(PUBLIC_LISTING)
    if query.kinds:
        condition &= Q(kind__in=query.kinds)
    if query.age is not None:
        condition &= Q(min_age__isnull=True) | Q(min_age__lte=query.age)
        condition &= Q(max_age__isnull=True) | Q(max_age__gte=query.age)
    if query.verified_only:
        condition &= Q(verification_state=VerificationState.VERIFIED)
        condition &= Q(review_due__isnull=True) | Q(review_due__gte=now)
    if topic_id is not None:
        condition &= Q(Exists(Service.topics.through.objects.filter(service_id=OuterRef("pk"), topic_id=topic_id)))
    return condition


def _gather(query: HelpQuery, topic_id: int | None, now: datetime, limit: int) -> dict[int, _Candidate]:
    # Specificity and distance dominate the ranking, so a few more than asked per source suffice;
    # area tiers get more because open-now (known only here) reorders within a tier.
    per_source = limit + 5
    candidates: dict[int, _Candidate] = {}

    def add(service_id: int, tier: int, distance: float | None = None, area: str = "") -> None:
        current = candidates.get(service_id)
        if current is None or (tier, distance or 0.0) < (current.tier, current.distance_km or 0.0):
            candidates[service_id] = _Candidate(service_id, tier, distance, area=area)

    conditions = service_conditions(query, topic_id, now)
    if query.latitude is not None and query.longitude is not None:
        point = (query.latitude, query.longitude)
        found = [
            row
            for model, rings in ((Location, LOCATED_RINGS_KM), (Coverage, COVERAGE_RINGS_KM))
            for row in nearest_points(model, point, rings, per_source, conditions)
        ]
        # Closed services drop out after ranking when only open ones are wanted: all must be exact then.
        for service_id, distance in _local_distances(point, found, None if query.open_now else limit):
            add(service_id, TIER_LOCAL, distance)
        # Local services outrank every area-wide one, so with enough of them the area tiers cannot
        # reach the answer. Unless only open services are wanted: closed ones drop out after ranking.
        # The county's own force is local too, and is always asked for.
        if len(candidates) >= limit and not query.open_now:
            if query.county:
                county = query.county.upper()
                ids = area_services(
                    CoverageScope.SUBDIVISION, "subdivision", county, conditions, query.language, now, limit
                )
                for service_id in ids:
                    add(service_id, TIER_LOCAL, area=county)
            return candidates

    for service_id, service_tier, area in _area_candidates(query, topic_id, now, limit + 10, conditions):
        add(service_id, service_tier, area=area)
    return candidates


def _cache_key(kind: str, query: HelpQuery, *extra: object) -> str:
    parts = (query.country, query.subdivision, query.county, query.language, query.kinds, query.age, *extra)
    parts += (query.verified_only,)
    return f"help:{kind}:" + hashlib.sha256(repr(parts).encode()).hexdigest()[:32]


def _area_candidates(
    query: HelpQuery, topic_id: int | None, now: datetime, wanted: int, conditions: tuple[str, list[Any]]
) -> list[tuple[int, int, str]]:
    """(service id, tier, area) of the services covering the query's county, subdivision, country or the world.

    Cached briefly: this depends on the area, not the point. Listings are re-checked when loaded, so
    an archived or changed one never shows; a new one joins within ``SEARCH_CACHE_SECONDS``.
    """
    key = _cache_key("area", query, topic_id, wanted)
    cached = cache.get(key)
    if cached is not None:
        return list(cached)
    tiers = [
        (TIER_WORLDWIDE, CoverageScope.WORLDWIDE, "country", ""),
        (TIER_NATIONAL, CoverageScope.COUNTRY, "country", query.country.upper()),
    ]
    if query.subdivision:
        tiers.append((TIER_SUBDIVISION, CoverageScope.SUBDIVISION, "subdivision", query.subdivision.upper()))
    # A GB county is a police force's area: the force covering it is the local police, whatever its distance.
    if query.county:
        tiers.append((TIER_LOCAL, CoverageScope.SUBDIVISION, "subdivision", query.county.upper()))
    found: list[tuple[int, int, str]] = []
    for tier, scope, column, code in sorted(tiers, key=lambda entry: entry[0]):
        ids = area_services(scope, column, code, conditions, query.language, now, wanted)
        found.extend((service_id, tier, code if scope == CoverageScope.SUBDIVISION else "") for service_id in ids)
    cache.set(key, found, settings.SEARCH_CACHE_SECONDS)
    return found


def area_services(
    scope: str,
    column: str,
    code: str,
    conditions: tuple[str, list[Any]],
    language: str,
    now: datetime,
    wanted: int,
    extra: tuple[str, list[Any]] = ("", []),
) -> list[int]:
    """Ids of the services with ``scope`` coverage of ``code``, ordered as ranking orders a tier.

    The order is: offered in ``language`` first, then verified, pending, unverified, stale, then id
    (open-now is known only later). Most areas have enough verified listings in the language, so
    that group is asked for first: rows come in service id order from the (column, scope, service)
    index and the query stops after ``wanted``. Only when it falls short is the whole area ordered.
    ``conditions`` and ``extra`` are SQL on the service table (see ``service_conditions``).
    """
    coverage = connection.ops.quote_name(Coverage._meta.db_table)
    service = connection.ops.quote_name(Service._meta.db_table)
    spoken = connection.ops.quote_name(Service.languages.through._meta.db_table)
    languages = connection.ops.quote_name(Language._meta.db_table)
    due = connection.ops.adapt_datetimefield_value(now)
    where = [f"c.{connection.ops.quote_name(column)} = %s", "c.scope = %s"]
    params: list[Any] = [code, scope]
    for sql, sql_params in (conditions, extra):
        if sql:
            where.append(sql)
            params.extend(sql_params)
    speaks = (
        f"EXISTS (SELECT 1 FROM {spoken} sl INNER JOIN {languages} l ON l.id = sl.language_id "  # noqa: S608
        "WHERE sl.service_id = c.service_id AND l.code = %s)"
    )
    state = f"{service}.verification_state"
    review_due = f"{service}.review_due"
    current = f"{state} = %s AND ({review_due} IS NULL OR {review_due} >= %s)"
    base = f"SELECT c.service_id FROM {coverage} c INNER JOIN {service} ON {service}.id = c.service_id WHERE "  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(
            base + " AND ".join([*where, speaks, current]) + " ORDER BY c.service_id LIMIT %s",
            [*params, language, VerificationState.VERIFIED.value, due, wanted],
        )
        first = [row[0] for row in cursor.fetchall()]
        if len(first) >= wanted:
            return first
        rank = (
            f"CASE WHEN {speaks} THEN 0 ELSE 1 END, "
            f"CASE WHEN {state} = %s AND {review_due} < %s THEN 3 WHEN {state} = %s THEN 0 "
            f"WHEN {state} = %s THEN 1 WHEN {state} = %s THEN 2 ELSE 3 END, c.service_id"
        )
        rank_params = [
            language,
            VerificationState.VERIFIED.value,
            due,
            VerificationState.VERIFIED.value,
            VerificationState.PENDING.value,
            VerificationState.UNVERIFIED.value,
        ]
        cursor.execute(base + " AND ".join(where) + f" ORDER BY {rank} LIMIT %s", [*params, *rank_params, wanted])
        return [row[0] for row in cursor.fetchall()]


def within_radius(rows: QuerySet[Any], point: tuple[float, float], radius_km: float) -> QuerySet[Any]:
    """Rows with latitude/longitude within ``radius_km`` of ``point``, annotated with ``d2`` (km squared).

    The indexed (latitude band, longitude) pairs do the heavy lifting; the equirectangular distance
    in SQL is within 0.5% of the geodesic one at these ranges.
    """
    lat0, lon0 = point
    km_per_lon = max(KM_PER_DEGREE_LON_AT_EQUATOR * math.cos(math.radians(lat0)), 0.01)
    dlat, dlon = radius_km / KM_PER_DEGREE_LAT, min(radius_km / km_per_lon, 180.0)
    bands = range(latitude_band(max(lat0 - dlat, -90.0)), latitude_band(min(lat0 + dlat, 90.0)) + 1)
    return with_squared_distance(rows, point).filter(
        latitude_band__in=list(bands),
        longitude__range=(lon0 - dlon, lon0 + dlon),
        latitude__range=(lat0 - dlat, lat0 + dlat),
        d2__lte=radius_km * radius_km,
    )


def with_squared_distance(rows: QuerySet[Any], point: tuple[float, float]) -> QuerySet[Any]:
    """Annotate rows having latitude/longitude with ``d2``, their squared distance to ``point`` in km."""
    lat0, lon0 = point
    km_per_lon = max(KM_PER_DEGREE_LON_AT_EQUATOR * math.cos(math.radians(lat0)), 0.01)
    dy = (F("latitude") - Value(lat0)) * Value(KM_PER_DEGREE_LAT)
    dx = (F("longitude") - Value(lon0)) * Value(km_per_lon)
    return rows.annotate(d2=Cast(dy * dy + dx * dx, FloatField()))


def service_conditions(query: HelpQuery, topic_id: int | None, now: datetime) -> tuple[str, list[Any]]:
    """The service conditions of a query as SQL on the service table, compiled by the ORM.

    Only verified-only queries depend on the time; the others are compiled once per process.
    """
    if query.verified_only:
        return _compiled_conditions(query, topic_id, now)
    sql, params = _timeless_conditions(query.kinds, query.age, topic_id)
    return sql, list(params)


@functools.lru_cache(maxsize=1024)
def _timeless_conditions(kinds: tuple[str, ...], age: int | None, topic_id: int | None) -> tuple[str, tuple[Any, ...]]:
    query = HelpQuery(country="", kinds=kinds, age=age)
    sql, params = _compiled_conditions(query, topic_id, timezone.now())
    return sql, tuple(params)


def _compiled_conditions(query: HelpQuery, topic_id: int | None, now: datetime) -> tuple[str, list[Any]]:
    services = Service.objects.filter(_service_filter(query, topic_id, now))
    sql, params = services.query.get_compiler(using=services.db).compile(services.query.where)
    return str(sql), list(params)


def nearest_points(
    model: type[Location] | type[Coverage],
    point: tuple[float, float],
    rings: tuple[float, ...],
    wanted: int,
    conditions: tuple[str, list[Any]] = ("", []),
) -> list[tuple[int, float, float]]:
    """Return (service id, lat, lon) of the points nearest ``point``, widening the search ring by ring.

    For Coverage, only radius coverage counts, and only when the point lies within its own radius.
    ``conditions`` (see ``service_conditions``) restricts the services.

    Each ring is one query in two steps: the nearest points of the ring, read from the covering
    (band, longitude, latitude, ..., service) index alone, then the service conditions checked on
    those few only. When the conditions leave too few among them (a rare topic in a crowded city),
    the same ring is asked again for as many points as the share that passed says are needed; only
    a ring that was read whole and still falls short moves the search to a wider one. Points come in
    (distance, service id) order throughout, so the answer is the one a scan of every point would give.
    """
    lat0, lon0 = point
    km_per_lon = max(KM_PER_DEGREE_LON_AT_EQUATOR * math.cos(math.radians(lat0)), 0.01)
    table = connection.ops.quote_name(model._meta.db_table)
    service_table = connection.ops.quote_name(Service._meta.db_table)
    own_radius = model is Coverage
    service_sql, service_params = conditions
    passes = f"CASE WHEN {service_sql} THEN 1 ELSE 0 END" if service_sql else "1"
    radius_column = "t.radius_km" if own_radius else "NULL"
    d2_params = [lat0, KM_PER_DEGREE_LAT, lat0, KM_PER_DEGREE_LAT, lon0, km_per_lon, lon0, km_per_lon]
    found: dict[int, tuple[int, float, float]] = {}
    index, points = 0, 8 * wanted
    while True:
        ring = rings[index]
        dlat, dlon = ring / KM_PER_DEGREE_LAT, min(ring / km_per_lon, 180.0)
        bands = list(range(latitude_band(max(lat0 - dlat, -90.0)), latitude_band(min(lat0 + dlat, 90.0)) + 1))
        where = [
            f"t.latitude_band IN ({', '.join(['%s'] * len(bands))})",
            "t.longitude BETWEEN %s AND %s",
            "t.latitude BETWEEN %s AND %s",
        ]
        params: list[Any] = [*bands, lon0 - dlon, lon0 + dlon, lat0 - dlat, lat0 + dlat]
        if own_radius:
            where.append("t.scope = %s")
            params.append(CoverageScope.RADIUS.value)
        sql = (
            f"SELECT n.service_id, n.latitude, n.longitude, {passes} FROM ("  # noqa: S608 - only quoted names
            "SELECT service_id, latitude, longitude, d2 FROM ("
            f"SELECT t.service_id, t.latitude, t.longitude, {radius_column} AS radius_km, "
            "((t.latitude - %s) * %s) * ((t.latitude - %s) * %s) "
            "+ ((t.longitude - %s) * %s) * ((t.longitude - %s) * %s) AS d2 "
            f"FROM {table} t WHERE {' AND '.join(where)}"
            ") ring WHERE d2 <= %s"
            + (" AND d2 <= radius_km * radius_km" if own_radius else "")
            + " ORDER BY d2, service_id LIMIT %s"
            f") n INNER JOIN {service_table} ON {service_table}.id = n.service_id ORDER BY n.d2, n.service_id"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [*service_params, *d2_params, *params, ring * ring, points])
            rows = cursor.fetchall()
        found = {}
        for service_id, lat, lon, passed in rows:
            if passed:
                found.setdefault(service_id, (service_id, lat, lon))
        if len(found) >= wanted:
            break
        if len(rows) >= points:
            # Ask for as many points as the share that passed says are needed, twice over (at least 4x).
            share = max(len(found), 1) / len(rows)
            points = max(4 * points, math.ceil(2 * wanted / share))
            continue
        if index == len(rings) - 1:
            break
        index = _next_ring(rings, index, len(found), wanted)
    return list(found.values())[:wanted]


def _next_ring(rings: tuple[float, ...], index: int, found: int, wanted: int) -> int:
    """Skip rings that the density seen so far says would still fall short, as long as the ring
    jumped to is expected to hold at most four times ``wanted`` points (a sparse region is not
    probed ring by ring, a city is not scanned whole). Which ring answers never changes the answer."""
    density = max(found, 1) / rings[index] ** 2
    following = index + 1
    while following + 1 < len(rings) and density * rings[following + 1] ** 2 <= 4 * wanted:
        following += 1
    return following


# The equirectangular estimate is within 3.5% of the geodesic distance up to 300 km and 75 degrees
# of latitude (checked over 100,000 random pairs); the margin below leaves room to spare.
_ESTIMATE_SLACK = 0.1
_ESTIMATE_SLACK_KM = 0.05
_ESTIMATE_MAX_LATITUDE = 75.0


def _local_distances(
    point: tuple[float, float], found: list[tuple[int, float, float]], needed: int | None
) -> list[tuple[int, float]]:
    """(service id, distance km) for each point found near ``point``.

    Distances that can decide the answer are exact (geodesic). Once ``needed`` services have exact
    distances, a point whose estimate is, even at its most flattering, farther than the ``needed``-th
    of them cannot enter the answer: it keeps its estimate, and the costly exact distance is skipped.
    ``needed=None`` makes every distance exact.
    """
    lat0, lon0 = point
    km_per_lon = max(KM_PER_DEGREE_LON_AT_EQUATOR * math.cos(math.radians(lat0)), 0.01)
    if abs(lat0) > _ESTIMATE_MAX_LATITUDE:
        needed = None
    estimated = sorted(
        (math.hypot((lat - lat0) * KM_PER_DEGREE_LAT, (lon - lon0) * km_per_lon), service_id, lat, lon)
        for service_id, lat, lon in found
    )
    exact: dict[int, float] = {}
    distances: list[tuple[int, float]] = []
    for estimate, service_id, lat, lon in estimated:
        if needed is not None and len(exact) >= needed:
            decisive = heapq.nsmallest(needed, exact.values())[-1]
            if estimate * (1 - _ESTIMATE_SLACK) - _ESTIMATE_SLACK_KM > decisive:
                if service_id not in exact:
                    distances.append((service_id, estimate))
                continue
        distance = _distance_km(point, (lat, lon))
        exact[service_id] = min(distance, exact.get(service_id, distance))
        distances.append((service_id, distance))
    return distances


def _distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """The geodesic distance in km, the same as geopy's ``geodesic(a, b).km`` without its parsing."""
    return float(_WGS84_KM.Inverse(a[0], a[1], b[0], b[1], Geodesic.DISTANCE)["s12"])


def _national_24_7_line(query: HelpQuery, now: datetime) -> int | None:
    """Pick the country's best always-open national helpline, whatever the topic asked (cached briefly)."""
    # A national line does not depend on the subdivision: one entry per country serves them all.
    key = _cache_key("line", replace(query, subdivision=""))
    cached = cache.get(key)
    if cached is not None:
        return int(cached) or None
    service = connection.ops.quote_name(Service._meta.db_table)
    schedules = connection.ops.quote_name(Schedule._meta.db_table)
    always_open = (
        f"{service}.kind = %s AND EXISTS (SELECT 1 FROM {schedules} sc "  # noqa: S608 - only quoted names
        f"WHERE sc.service_id = {service}.id AND sc.always_open = %s)"
    )
    lines = area_services(
        CoverageScope.COUNTRY,
        "country",
        query.country.upper(),
        service_conditions(query, None, now),
        query.language,
        now,
        1,
        extra=(always_open, [ServiceKind.HELPLINE.value, True]),
    )
    found = lines[0] if lines else None
    cache.set(key, found or 0, settings.SEARCH_CACHE_SECONDS)
    return found


def effective_state(state: str, review_due: datetime | None, now: datetime) -> str:
    """A verified listing whose review is overdue is stale."""
    if state == VerificationState.VERIFIED and review_due is not None and review_due < now:
        return VerificationState.STALE
    return state


def effective_verification(service: Service, now: datetime) -> str:
    return effective_state(service.verification_state, service.review_due, now)


_VERIFICATION_RANK = {
    VerificationState.VERIFIED: 0,
    VerificationState.PENDING: 1,
    VerificationState.UNVERIFIED: 2,
    VerificationState.STALE: 3,
}


def service_open_now(service: Service, now: datetime) -> tuple[bool | None, bool]:
    """Return (open now, always open) of a service with prefetched schedules."""
    schedules = list(service.schedules.all())
    own = [weekly_hours_from_schedule(s) for s in schedules if s.channel_id is None]
    channels = [weekly_hours_from_schedule(s) for s in schedules if s.channel_id is not None]
    return open_state(own, channels, now)


@dataclass
class _Facts:
    """What ranking needs to know of a candidate, read without building model instances."""

    service_id: int
    name: str
    kind: str
    verification_state: str
    spoken: set[str] = field(default_factory=set)
    own_hours: list[WeeklyHours] = field(default_factory=list)
    channel_hours: list[WeeklyHours] = field(default_factory=list)


def _facts(service_ids: list[int], query: HelpQuery, language: str, now: datetime) -> dict[int, _Facts]:
    """Two queries: each service with the languages it is offered in, then its schedules with their intervals."""
    rows = Service.objects.filter(_service_filter(query, None, now), id__in=service_ids).order_by()
    facts: dict[int, _Facts] = {}
    for service_id, name, translations, kind, state, review_due, code in rows.values_list(
        "id", "name", "translations", "kind", "verification_state", "review_due", "languages__code"
    ):
        known = facts.get(service_id)
        if known is None:
            known = facts[service_id] = _Facts(
                service_id=service_id,
                name=translated(translations, "name", language, name),
                kind=kind,
                verification_state=effective_state(state, review_due, now),
            )
        if code:
            known.spoken.add(code)
    schedules: dict[int, tuple[int, int | None, WeeklyHours, list[Interval]]] = {}
    weekly = Schedule.objects.filter(service_id__in=facts).order_by("id", "intervals__weekday", "intervals__opens")
    for schedule_id, service_id, channel_id, zone, always_open, weekday, opens, closes in weekly.values_list(
        "id",
        "service_id",
        "channel_id",
        "timezone",
        "always_open",
        "intervals__weekday",
        "intervals__opens",
        "intervals__closes",
    ):
        entry = schedules.setdefault(schedule_id, (service_id, channel_id, WeeklyHours(zone, always_open), []))
        if weekday is not None and not always_open:
            entry[3].append(Interval(weekday, opens, closes))
    for owner, channel, hours, intervals in schedules.values():
        target = facts[owner].own_hours if channel is None else facts[owner].channel_hours
        target.append(replace(hours, intervals=tuple(intervals)))
    return facts


def open_state(
    own_hours: list[WeeklyHours], channel_hours: list[WeeklyHours], now: datetime
) -> tuple[bool | None, bool]:
    """Return (open now, always open): the service's own hours, else any channel's; (None, False) if unknown."""
    relevant = own_hours or channel_hours
    if not relevant:
        return None, False
    return any(is_open(hours, now) for hours in relevant), any(hours.always_open for hours in relevant)


def contacts_for(service_ids: list[int], caller_country: str = "") -> dict[int, tuple[Contact, ...]]:
    """Each service's ways to reach it, the primary phone first, then in the order the listing gives.

    With ``caller_country``, only the channels someone there can use (``phones.reachable_from``).
    The countries a listing covers come with its channels, in the same query.
    """
    channels = ContactChannel.objects.filter(service_id__in=service_ids).order_by("position", "id")
    found: dict[int, dict[int, tuple[tuple[Any, ...], Contact]]] = {}
    homes: dict[int, set[str]] = {}
    for service_id, kind, value, display, keyword, label, primary, position, channel_id, home in channels.values_list(
        "service_id",
        "kind",
        "value",
        "display",
        "sms_keyword",
        "label",
        "is_primary",
        "position",
        "id",
        "service__coverage__country",
    ):
        if home:
            homes.setdefault(channel_id, set()).add(home)
        key = (not (kind == ChannelKind.PHONE and primary), position, channel_id)
        contact = Contact(kind=kind, value=value, display=display or value, sms_keyword=keyword, label=label)
        found.setdefault(service_id, {})[channel_id] = (key, contact)
    return {
        service_id: tuple(
            contact
            for key, contact in sorted(pairs.values())
            if reachable_from(contact.kind, contact.value, homes.get(key[2], set()), caller_country)
        )
        for service_id, pairs in found.items()
    }


def _topics(service_ids: list[int]) -> dict[int, tuple[str, ...]]:
    found: dict[int, list[str]] = {}
    rows = Service.topics.through.objects.filter(service_id__in=service_ids).order_by("topic__position")
    for service_id, slug in rows.values_list("service_id", "topic__slug"):
        found.setdefault(service_id, []).append(slug)
    return {service_id: tuple(slugs) for service_id, slugs in found.items()}


def _reason(candidate: _Candidate, language: str, always_open: bool) -> str:
    words = _REASONS[language]
    if candidate.tier == TIER_LOCAL and candidate.distance_km is not None:
        if candidate.distance_km < 1:
            return words["near"]
        return words["km"].format(km=round(candidate.distance_km))
    if candidate.area:
        text = words["covers"].format(region=region_name(candidate.area))
    elif candidate.tier == TIER_NATIONAL:
        text = words["national"]
    else:
        text = words["worldwide"]
    return f"{text}, {words['always']}" if always_open else text


def _rank(
    query: HelpQuery, language: str, now: datetime, candidates: dict[int, _Candidate]
) -> list[tuple[_Candidate, _Facts, bool | None, bool]]:
    """Order candidates; each comes with its facts, open-now and always-open."""
    facts = _facts(list(candidates), query, language, now)
    keyed = []
    for service_id, known in facts.items():
        candidate = candidates[service_id]
        open_now, always_open = open_state(known.own_hours, known.channel_hours, now)
        key = (
            candidate.topic_backfill,
            candidate.tier,
            round(candidate.distance_km, 3) if candidate.distance_km is not None else 0.0,
            {True: 0, None: 1, False: 2}[open_now],
            0 if query.language in known.spoken else (2 if known.spoken else 1),
            _VERIFICATION_RANK.get(VerificationState(known.verification_state), 3),
            known.name.casefold(),
            service_id,
        )
        keyed.append((key, (candidate, known, open_now, always_open)))
    keyed.sort(key=lambda pair: pair[0])
    return [entry for _, entry in keyed]


def _results(
    ranked: list[tuple[_Candidate, _Facts, bool | None, bool]], query: HelpQuery, language: str
) -> tuple[HelpResult, ...]:
    ids = [candidate.service_id for candidate, *_ in ranked]
    contacts, topics = contacts_for(ids, query.country), _topics(ids)
    return tuple(
        HelpResult(
            service_id=known.service_id,
            name=known.name,
            kind=known.kind,
            distance_km=round(candidate.distance_km, 1) if candidate.distance_km is not None else None,
            reason=_reason(candidate, language, always_open),
            open_now=open_now,
            always_open=always_open,
            verification_state=known.verification_state,
            contacts=contacts.get(known.service_id, ()),
            topics=topics.get(known.service_id, ()),
            topic_match=not candidate.topic_backfill,
        )
        for candidate, known, open_now, always_open in ranked
    )
