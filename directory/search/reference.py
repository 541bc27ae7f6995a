"""The SQL search: candidates read from the database's indexes, each query capped in SQL.

This is the reference the in-memory search (``directory.search.memory``) is held to, and the fallback
when the read model is disabled or cannot hold the data:

- services with a location near the point (bounding box on the indexed latitude/longitude, then an
  equirectangular distance in SQL), widening ring by ring until enough are found;
- services whose radius coverage contains the point (same rings, on the coverage centre);
- services covering the point's subdivision, its country, or the whole world.
"""

import functools
import hashlib
import math
from dataclasses import replace
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Exists, F, FloatField, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Cast
from django.utils import timezone

from directory import rules
from directory.hours import Interval, WeeklyHours
from directory.models import (
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
from directory.search.query import KM_PER_DEGREE_LAT, KM_PER_DEGREE_LON_AT_EQUATOR, HelpQuery
from directory.search.ranking import Facts


def topic_id(slug: str) -> int | None:
    key = "help:topic:" + hashlib.sha256(slug.encode()).hexdigest()[:32]
    cached = cache.get(key)
    if cached is None:
        cached = Topic.objects.filter(slug=slug).values_list("id", flat=True).first() or 0
        cache.set(key, cached, settings.SEARCH_CACHE_SECONDS)
    return int(cached) or None


def _service_filter(query: HelpQuery, topic_id: int | None, now: datetime) -> Q:
    """The conditions the query puts on a service."""
    condition = rules.live()
    if query.kinds:
        condition &= Q(kind__in=query.kinds)
    if query.age is not None:
        condition &= rules.serves_age(query.age)
    if query.verified_only:
        condition &= rules.current(now)
    if topic_id is not None:
        condition &= Q(Exists(Service.topics.through.objects.filter(service_id=OuterRef("pk"), topic_id=topic_id)))
    return condition


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
    current, current_params = rules.where_sql(rules.current(now), Service)
    base = f"SELECT c.service_id FROM {coverage} c INNER JOIN {service} ON {service}.id = c.service_id WHERE "  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(
            base + " AND ".join([*where, speaks, current]) + " ORDER BY c.service_id LIMIT %s",
            [*params, language, *current_params, wanted],
        )
        first = [row[0] for row in cursor.fetchall()]
        if len(first) >= wanted:
            return first
        rank = (
            f"CASE WHEN {speaks} THEN 0 ELSE 1 END, "
            f"CASE WHEN {current} THEN 0 WHEN {state} = %s THEN 1 WHEN {state} = %s THEN 2 ELSE 3 END, c.service_id"
        )
        rank_params = [
            language,
            *current_params,
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


def facts(service_ids: list[int], query: HelpQuery, language: str, now: datetime) -> dict[int, Facts]:
    """Two queries: each service with the languages it is offered in, then its schedules with their intervals."""
    rows = Service.objects.filter(_service_filter(query, None, now), id__in=service_ids).order_by()
    facts: dict[int, Facts] = {}
    for service_id, name, translations, kind, state, review_due, code in rows.values_list(
        "id", "name", "translations", "kind", "verification_state", "review_due", "languages__code"
    ):
        known = facts.get(service_id)
        if known is None:
            known = facts[service_id] = Facts(
                service_id=service_id,
                name=translated(translations, "name", language, name),
                kind=kind,
                verification_state=rules.effective_state(state, review_due, now),
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


def topics(service_ids: list[int]) -> dict[int, tuple[str, ...]]:
    found: dict[int, list[str]] = {}
    rows = Service.topics.through.objects.filter(service_id__in=service_ids).order_by("topic__position", "topic__slug")
    for service_id, slug in rows.values_list("service_id", "topic__slug"):
        found.setdefault(service_id, []).append(slug)
    return {service_id: tuple(slugs) for service_id, slugs in found.items()}


class SqlSource:
    """The search's data from the database (see the module docstring); area answers are cached briefly."""

    cached = True

    def topic_id(self, slug: str) -> int | None:
        return topic_id(slug)

    def conditions(self, query: HelpQuery, topic: int | None, now: datetime) -> tuple[str, list[Any]]:
        return service_conditions(query, topic, now)

    def nearest(
        self,
        located: bool,
        point: tuple[float, float],
        rings: tuple[float, ...],
        wanted: int,
        conditions: tuple[str, list[Any]],
    ) -> list[tuple[int, float, float]]:
        return nearest_points(Location if located else Coverage, point, rings, wanted, conditions)

    def area(
        self,
        scope: str,
        column: str,
        code: str,
        conditions: tuple[str, list[Any]],
        language: str,
        now: datetime,
        wanted: int,
        *,
        always_open_helpline: bool = False,
    ) -> list[int]:
        extra: tuple[str, list[Any]] = ("", [])
        if always_open_helpline:
            service = connection.ops.quote_name(Service._meta.db_table)
            schedules = connection.ops.quote_name(Schedule._meta.db_table)
            always_open = (
                f"{service}.kind = %s AND EXISTS (SELECT 1 FROM {schedules} sc "  # noqa: S608 - only quoted names
                f"WHERE sc.service_id = {service}.id AND sc.always_open = %s)"
            )
            extra = (always_open, [ServiceKind.HELPLINE.value, True])
        return area_services(scope, column, code, conditions, language, now, wanted, extra)

    def facts(self, service_ids: list[int], query: HelpQuery, language: str, now: datetime) -> dict[int, Facts]:
        return facts(service_ids, query, language, now)

    def topics(self, service_ids: list[int]) -> dict[int, tuple[str, ...]]:
        return topics(service_ids)
