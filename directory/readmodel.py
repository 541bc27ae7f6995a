"""What search and lists need to know of every listing, held in memory per process as compact columns.

One row per listing (numpy columns in listing id order: kind, live, ages, verification state and review
date, topics and languages as bitsets, an index into a table of distinct opening hours, names), two
point indexes (locations; radius coverage with its radius) sorted by 0.1-degree grid cell, and the
area coverage (worldwide, country, subdivision) as row arrays per area.

The database stays the source of truth. Triggers log every change to a listing or its parts in
``directory_change`` (migration 0009), in the writing transaction; the newest entry is the revision.
``current()`` compares it with the model's own (one indexed query) and, when it moved, reloads only the
listings named since. Building is ``build()``; under gunicorn ``--preload`` the master builds once and
the workers share the pages until they write to them.
"""

import logging
import sys
import time as clock
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from django.conf import settings
from django.db import connection

from directory import rules
from directory.hours import Interval, WeeklyHours
from directory.models import CoverageScope, ServiceKind, ServiceStatus, latitude_band

logger = logging.getLogger(__name__)

KINDS = tuple(ServiceKind.values)
KIND_CODE = {kind: code for code, kind in enumerate(KINDS)}
# Above this many listings changed at once, a full reload is cheaper than patching.
PATCH_LIMIT = 20_000
# Points added since the last build are scanned whole; past this many the point indexes are rebuilt.
EXTRA_POINTS_LIMIT = 50_000
_LON_CELLS = 3601
_WORD = 64


class Unavailable(Exception):
    """The data does not fit the read model (e.g. more than 64 topics): use the SQL path."""


@dataclass(frozen=True)
class Hours:
    """A listing's own opening hours and its channels' (what ``open_state`` takes)."""

    own: tuple[WeeklyHours, ...] = ()
    channels: tuple[WeeklyHours, ...] = ()

    @property
    def always_open_any(self) -> bool:
        return any(hours.always_open for hours in (*self.own, *self.channels))


def _cell(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    band = np.floor(lat * 10).astype(np.int64) + 900
    return band * _LON_CELLS + np.floor((lon + 180.0) * 10).astype(np.int64)


class Points:
    """Points (with the listing row each belongs to, and a radius for coverage) sorted by grid cell.

    Points of listings changed since the build are marked dead and their new points kept in a small
    unsorted tail that every query scans whole.
    """

    def __init__(self, lat: np.ndarray, lon: np.ndarray, row: np.ndarray, radius: np.ndarray) -> None:
        order = np.lexsort((row, _cell(lat, lon)))
        self.lat, self.lon, self.row, self.radius = lat[order], lon[order], row[order], radius[order]
        self.cell = _cell(self.lat, self.lon)
        self.alive = np.ones(len(self.lat), dtype=bool)
        self.extra: list[tuple[float, float, int, float]] = []

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.lat, self.lon, self.row, self.radius, self.cell, self.alive))

    def remove_rows(self, rows: np.ndarray) -> None:
        self.alive &= ~np.isin(self.row, rows)
        self.extra = [point for point in self.extra if point[2] not in set(rows.tolist())]

    def in_box(self, lat0: float, lon0: float, dlat: float, dlon: float) -> tuple[np.ndarray, ...]:
        """(lat, lon, row, radius) of the live points with lat0±dlat, lon0±dlon (bounds included)."""
        lat_lo, lat_hi, lon_lo, lon_hi = lat0 - dlat, lat0 + dlat, lon0 - dlon, lon0 + dlon
        bands = np.arange(latitude_band(max(lat_lo, -90.0)), latitude_band(min(lat_hi, 90.0)) + 1, dtype=np.int64)
        first = int(np.floor((max(lon_lo, -180.0) + 180.0) * 10))
        last = int(np.floor((min(lon_hi, 180.0) + 180.0) * 10))
        starts = np.searchsorted(self.cell, bands * _LON_CELLS + first, "left")
        ends = np.searchsorted(self.cell, bands * _LON_CELLS + last, "right")
        spans = [np.arange(s, e) for s, e in zip(starts.tolist(), ends.tolist(), strict=True) if e > s]
        index = np.concatenate(spans) if spans else np.empty(0, dtype=np.int64)
        lat, lon, row, radius = self.lat[index], self.lon[index], self.row[index], self.radius[index]
        keep = self.alive[index] & (lat >= lat_lo) & (lat <= lat_hi) & (lon >= lon_lo) & (lon <= lon_hi)
        lat, lon, row, radius = lat[keep], lon[keep], row[keep], radius[keep]
        if self.extra:
            tail = np.array(self.extra, dtype=np.float64).reshape(-1, 4)
            inside = (tail[:, 0] >= lat_lo) & (tail[:, 0] <= lat_hi) & (tail[:, 1] >= lon_lo) & (tail[:, 1] <= lon_hi)
            tail = tail[inside]
            lat, lon = np.concatenate((lat, tail[:, 0])), np.concatenate((lon, tail[:, 1]))
            row, radius = np.concatenate((row, tail[:, 2].astype(np.int64))), np.concatenate((radius, tail[:, 3]))
        return lat, lon, row, radius


def _empty_points() -> Points:
    empty = np.empty(0, dtype=np.float64)
    return Points(empty, empty, np.empty(0, dtype=np.int64), empty)


@dataclass
class ReadModel:
    revision: tuple[int, int]
    ids: np.ndarray
    kind: np.ndarray
    active: np.ndarray
    archived: np.ndarray
    min_age: np.ndarray
    max_age: np.ndarray
    state: np.ndarray
    review_due: np.ndarray
    topics: np.ndarray
    languages: np.ndarray
    hours: np.ndarray
    names: list[str]
    translations: dict[int, dict[str, Any]]
    locations: Points
    coverage: Points
    # (scope, "country" | "subdivision", code) -> rows of that coverage, in listing id order, one per coverage row
    areas: dict[tuple[str, str, str], np.ndarray]
    topic_bit: dict[int, int]
    topic_slugs: dict[int, str]
    topic_order: list[int]
    language_bit: dict[str, int]
    hours_table: list[Hours]
    built_seconds: float = 0.0
    patched: int = 0
    stats: dict[str, Any] = field(default_factory=dict)

    def rows_of(self, service_ids: Sequence[int]) -> np.ndarray:
        """Rows of the given listing ids (-1 for an id the model does not hold)."""
        wanted = np.asarray(service_ids, dtype=np.int64)
        rows = np.searchsorted(self.ids, wanted)
        rows = np.minimum(rows, max(len(self.ids) - 1, 0))
        found = (self.ids[rows] == wanted) if len(self.ids) else np.zeros(len(wanted), dtype=bool)
        return np.where(found, rows, -1)

    @property
    def nbytes(self) -> int:
        columns = [self.ids, self.kind, self.active, self.archived, self.min_age, self.max_age, self.state]
        columns += [self.review_due, self.topics, self.languages, self.hours]
        names = sum(sys.getsizeof(name) for name in self.names) + sys.getsizeof(self.names)
        areas = sum(rows.nbytes for rows in self.areas.values())
        return sum(c.nbytes for c in columns) + names + areas + self.locations.nbytes + self.coverage.nbytes

    def hours_always_open(self) -> np.ndarray:
        return np.array([entry.always_open_any for entry in self.hours_table], dtype=bool)


# Loading


def _timestamp(value: datetime | None) -> float:
    return value.timestamp() if value is not None else float("nan")


def _fetch(sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def revision() -> tuple[int, int]:
    rows = _fetch("SELECT id, token FROM directory_change ORDER BY id DESC LIMIT 1")
    return (int(rows[0][0]), int(rows[0][1])) if rows else (0, 0)


def _bits(mapping_ids: Iterable[Any], what: str) -> dict[Any, int]:
    bits = {key: bit for bit, key in enumerate(sorted(mapping_ids))}
    if len(bits) > _WORD:
        raise Unavailable(f"more than {_WORD} {what}")
    return bits


def _service_rows(ids: Sequence[int] | None) -> list[tuple[Any, ...]]:
    from directory.models import Service

    rows = Service.objects.order_by("id")
    if ids is not None:
        rows = rows.filter(id__in=ids)
    return list(
        rows.values_list(
            "id", "kind", "status", "archived_at", "min_age", "max_age", "verification_state", "review_due", "name"
        )
    )


def _translations(ids: Sequence[int] | None) -> dict[int, dict[str, Any]]:
    from directory.models import Service

    rows = Service.objects.exclude(translations={})
    if ids is not None:
        rows = rows.filter(id__in=ids)
    return {service_id: value for service_id, value in rows.values_list("id", "translations") if value}


def _schedules(ids: Sequence[int] | None) -> list[tuple[int, bool, WeeklyHours]]:
    """(listing id, own hours?, hours) of every schedule, in listing then schedule order."""
    from directory.models import OpeningInterval, Schedule

    schedules = Schedule.objects.order_by("service_id", "id")
    intervals = OpeningInterval.objects.order_by("schedule_id", "weekday", "opens")
    if ids is not None:
        schedules = schedules.filter(service_id__in=ids)
        intervals = intervals.filter(schedule__service_id__in=ids)
    by_schedule: dict[int, list[Interval]] = {}
    for schedule_id, weekday, opens, closes in intervals.values_list("schedule_id", "weekday", "opens", "closes"):
        by_schedule.setdefault(schedule_id, []).append(Interval(weekday, opens, closes))
    interned: dict[tuple[Any, ...], WeeklyHours] = {}
    found = []
    for schedule_id, service_id, channel_id, zone, always_open in schedules.values_list(
        "id", "service_id", "channel_id", "timezone", "always_open"
    ):
        spans = () if always_open else tuple(by_schedule.get(schedule_id, ()))
        key = (zone, always_open, spans)
        hours = interned.get(key)
        if hours is None:
            hours = interned[key] = WeeklyHours(zone, always_open, spans)
        found.append((service_id, channel_id is None, hours))
    return found


class _Loaded:
    """The rows of some (or all) listings, turned into column values."""

    def __init__(self, model_or_none: "ReadModel | None", ids: Sequence[int] | None) -> None:
        from directory.models import Coverage, Language, Location, Service, Topic

        self.services = _service_rows(ids)
        self.translations = _translations(ids)
        if model_or_none is None:
            topics = list(Topic.objects.order_by("position", "slug").values_list("id", "slug"))
            self.topic_bit = _bits([topic_id for topic_id, _ in topics], "topics")
            self.topic_slugs = dict(topics)
            self.topic_order = [topic_id for topic_id, _ in topics]
            codes = dict(Language.objects.values_list("id", "code"))
            self.language_bit = _bits(codes.values(), "languages")
            self.language_codes = codes
        else:
            self.topic_bit, self.topic_slugs = model_or_none.topic_bit, model_or_none.topic_slugs
            self.topic_order, self.language_bit = model_or_none.topic_order, model_or_none.language_bit
            self.language_codes = dict(Language.objects.values_list("id", "code"))
        topic_rows = Service.topics.through.objects.all()
        language_rows = Service.languages.through.objects.all()
        location_rows = Location.objects.filter(latitude__isnull=False)
        coverage_rows = Coverage.objects.order_by("service_id", "id")
        if ids is not None:
            topic_rows, language_rows = topic_rows.filter(service_id__in=ids), language_rows.filter(service_id__in=ids)
            location_rows, coverage_rows = (
                location_rows.filter(service_id__in=ids),
                coverage_rows.filter(service_id__in=ids),
            )
        self.topic_pairs = list(topic_rows.values_list("service_id", "topic_id"))
        self.language_pairs = list(language_rows.values_list("service_id", "language_id"))
        self.location_rows = list(location_rows.values_list("service_id", "latitude", "longitude"))
        self.coverage_rows = list(
            coverage_rows.values_list(
                "service_id", "scope", "country", "subdivision", "latitude", "longitude", "radius_km"
            )
        )
        self.schedules = _schedules(ids)


def _columns(loaded: _Loaded, hours_index: dict[Hours, int], hours_table: list[Hours]) -> dict[str, Any]:
    services = loaded.services
    count = len(services)
    ids = np.fromiter((row[0] for row in services), dtype=np.int64, count=count)
    columns: dict[str, Any] = {
        "ids": ids,
        "kind": np.fromiter((KIND_CODE.get(row[1], len(KINDS)) for row in services), dtype=np.int8, count=count),
        "active": np.fromiter((row[2] == ServiceStatus.ACTIVE for row in services), dtype=bool, count=count),
        "archived": np.fromiter((row[3] is not None for row in services), dtype=bool, count=count),
        "min_age": np.fromiter(
            (rules.NO_MIN_AGE if row[4] is None else row[4] for row in services), dtype=np.int16, count=count
        ),
        "max_age": np.fromiter(
            (rules.NO_MAX_AGE if row[5] is None else row[5] for row in services), dtype=np.int16, count=count
        ),
        "state": np.fromiter((rules.STATE_CODE.get(row[6], 3) for row in services), dtype=np.int8, count=count),
        "review_due": np.fromiter((_timestamp(row[7]) for row in services), dtype=np.float64, count=count),
        "names": [row[8] for row in services],
    }
    topics = np.zeros(count, dtype=np.uint64)
    if loaded.topic_pairs:
        pairs = np.array(loaded.topic_pairs, dtype=np.int64)
        rows = np.searchsorted(ids, pairs[:, 0])
        bits = np.array([1 << loaded.topic_bit[t] for t in pairs[:, 1].tolist()], dtype=np.uint64)
        np.bitwise_or.at(topics, rows, bits)
    languages = np.zeros(count, dtype=np.uint64)
    if loaded.language_pairs:
        pairs = np.array(loaded.language_pairs, dtype=np.int64)
        rows = np.searchsorted(ids, pairs[:, 0])
        codes = [loaded.language_codes[language_id] for language_id in pairs[:, 1].tolist()]
        if any(code not in loaded.language_bit for code in codes):
            raise Unavailable("a new language")
        bits = np.array([1 << loaded.language_bit[code] for code in codes], dtype=np.uint64)
        np.bitwise_or.at(languages, rows, bits)
    columns["topics"], columns["languages"] = topics, languages
    per_service: dict[int, tuple[list[WeeklyHours], list[WeeklyHours]]] = {}
    for service_id, own, hours in loaded.schedules:
        entry = per_service.setdefault(service_id, ([], []))
        entry[0 if own else 1].append(hours)
    hours_of = np.zeros(count, dtype=np.int32)
    for service_id, (own_hours, channel_hours) in per_service.items():
        key = Hours(tuple(own_hours), tuple(channel_hours))
        index = hours_index.get(key)
        if index is None:
            index = hours_index[key] = len(hours_table)
            hours_table.append(key)
        hours_of[int(np.searchsorted(ids, service_id))] = index
    columns["hours"] = hours_of
    return columns


def _point_arrays(loaded: _Loaded, ids: np.ndarray, offset: int = 0) -> tuple[tuple[np.ndarray, ...], ...]:
    def rows_for(values: list[int]) -> np.ndarray:
        return np.searchsorted(ids, np.array(values, dtype=np.int64)).astype(np.int64) + offset

    located = loaded.location_rows
    locations = (
        np.array([row[1] for row in located], dtype=np.float64),
        np.array([row[2] for row in located], dtype=np.float64),
        rows_for([row[0] for row in located]),
        np.full(len(located), np.nan),
    )
    radius = [row for row in loaded.coverage_rows if row[1] == CoverageScope.RADIUS]
    coverage = (
        np.array([row[4] for row in radius], dtype=np.float64),
        np.array([row[5] for row in radius], dtype=np.float64),
        rows_for([row[0] for row in radius]),
        np.array([row[6] for row in radius], dtype=np.float64),
    )
    return locations, coverage


def _area_lists(loaded: _Loaded, ids: np.ndarray, offset: int = 0) -> dict[tuple[str, str, str], list[int]]:
    areas: dict[tuple[str, str, str], list[int]] = {}
    for service_id, scope, country, subdivision, *_ in loaded.coverage_rows:
        if scope == CoverageScope.RADIUS:
            continue
        row = int(np.searchsorted(ids, service_id)) + offset
        areas.setdefault((scope, "country", country), []).append(row)
        areas.setdefault((scope, "subdivision", subdivision), []).append(row)
    return areas


def build() -> ReadModel:
    """Read every listing into a new model."""
    started = clock.monotonic()
    at = revision()
    loaded = _Loaded(None, None)
    hours_table: list[Hours] = [Hours()]
    hours_index = {Hours(): 0}
    columns = _columns(loaded, hours_index, hours_table)
    (loc, cov) = _point_arrays(loaded, columns["ids"])
    areas = {key: np.array(rows, dtype=np.int64) for key, rows in _area_lists(loaded, columns["ids"]).items()}
    model = ReadModel(
        revision=at,
        translations=loaded.translations,
        locations=Points(*loc),
        coverage=Points(*cov),
        areas=areas,
        topic_bit=loaded.topic_bit,
        topic_slugs=loaded.topic_slugs,
        topic_order=loaded.topic_order,
        language_bit=loaded.language_bit,
        hours_table=hours_table,
        **columns,
    )
    model.built_seconds = clock.monotonic() - started
    logger.info(
        "read model: %d listings, %d located points, %d radius coverages, %.1f MB, built in %.2f s",
        len(model.ids),
        len(model.locations.lat),
        len(model.coverage.lat),
        model.nbytes / 1e6,
        model.built_seconds,
    )
    return model


def patch(model: ReadModel, service_ids: Sequence[int], at: tuple[int, int]) -> ReadModel:
    """Reload the given listings into ``model``; a new model when they do not fit in place."""
    ids = sorted(set(service_ids))
    loaded = _Loaded(model, ids)
    index = {entry: number for number, entry in enumerate(model.hours_table)}
    columns = _columns(loaded, index, model.hours_table)
    found = columns["ids"]
    rows = model.rows_of(found)
    fresh = rows < 0
    if fresh.any() and len(model.ids) and found[fresh].min() <= model.ids[-1]:
        return build()  # an id below the newest one: rows would go out of order
    # Listings deleted outright: no longer live anywhere.
    gone = model.rows_of([service_id for service_id in ids if service_id not in set(found.tolist())])
    gone = gone[gone >= 0]
    model.archived[gone] = True
    model.active[gone] = False
    scalar = ("kind", "active", "archived", "min_age", "max_age", "state", "review_due", "topics", "languages", "hours")
    existing = np.flatnonzero(~fresh)
    for name in scalar:
        getattr(model, name)[rows[existing]] = columns[name][existing]
    for position in existing.tolist():
        model.names[int(rows[position])] = columns["names"][position]
    if fresh.any():
        for name in ("ids", *scalar):
            setattr(model, name, np.concatenate((getattr(model, name), columns[name][fresh])))
        model.names.extend(columns["names"][position] for position in np.flatnonzero(fresh).tolist())
    touched = model.rows_of(ids)
    touched = touched[touched >= 0]
    for service_id in ids:
        model.translations.pop(service_id, None)
    model.translations.update(loaded.translations)
    full_ids = model.ids
    loc, cov = _point_arrays(loaded, full_ids)
    for points, (lat, lon, row, radius) in ((model.locations, loc), (model.coverage, cov)):
        points.remove_rows(touched)
        points.extra.extend(zip(lat.tolist(), lon.tolist(), row.tolist(), radius.tolist(), strict=True))
    for key, area_rows in list(model.areas.items()):
        if np.isin(area_rows, touched).any():
            model.areas[key] = area_rows[~np.isin(area_rows, touched)]
    for key, new_rows in _area_lists(loaded, full_ids).items():
        merged = np.concatenate((model.areas.get(key, np.empty(0, dtype=np.int64)), np.array(new_rows)))
        model.areas[key] = np.sort(merged, kind="stable")
    model.revision = at
    model.patched += len(ids)
    if len(model.locations.extra) + len(model.coverage.extra) > EXTRA_POINTS_LIMIT:
        return build()
    return model


# The process's model


_model: ReadModel | None = None


def enabled() -> bool:
    return bool(getattr(settings, "READ_MODEL", True))


def current() -> ReadModel | None:
    """The model, brought up to the database's revision first; None when disabled or unavailable."""
    global _model
    if not enabled():
        return None
    try:
        if _model is None:
            _model = build()
            return _model
        _model = _refreshed(_model)
    except Unavailable as reason:
        logger.warning("read model unavailable (%s): searching with SQL", reason)
        _model = None
        return None
    return _model


def _refreshed(model: ReadModel) -> ReadModel:
    mine, token = model.revision
    rows = _fetch(
        "SELECT id, token FROM directory_change WHERE id = %s OR id = (SELECT MAX(id) FROM directory_change)",
        [mine],
    )
    latest = max(rows, default=(0, 0))
    own = next((row for row in rows if row[0] == mine), None)
    if (latest[0], latest[1]) == (mine, token):
        return model
    if own is None or own[1] != token or latest[0] < mine:
        return build()  # the log was rewritten (a rollback, a truncated table): start again
    started = clock.monotonic()
    if latest[0] - mine > PATCH_LIMIT:
        return build()
    changed = _fetch("SELECT DISTINCT service_id FROM directory_change WHERE id > %s AND id <= %s", [mine, latest[0]])
    service_ids = [row[0] for row in changed]
    if any(service_id is None for service_id in service_ids):
        return build()
    model = patch(model, service_ids, (int(latest[0]), int(latest[1])))
    model.stats["last_patch_seconds"] = clock.monotonic() - started
    model.stats["last_patch_listings"] = len(service_ids)
    return model


def reset() -> None:
    """Forget the model (the next ``current()`` builds a new one)."""
    global _model
    _model = None


def preload() -> None:
    """Build the model now (gunicorn ``--preload``: in the master, shared by the workers)."""
    global _model
    if enabled():
        try:
            _model = build()
        except Unavailable as reason:
            logger.warning("read model unavailable (%s)", reason)
        finally:
            connection.close()
