"""What search and lists need to know of every listing, held in memory per process as compact columns.

One row per listing (numpy columns in listing id order: kind, live, ages, verification state and review
date, topics and languages as bitsets, an index into a table of distinct opening hours, names), two
point indexes (locations; radius coverage with its radius) sorted by 0.1-degree grid cell, and the
area coverage (worldwide, country, subdivision) as row arrays per area.

The database stays the source of truth. Triggers log every change to a listing or its parts in
``directory_change`` (migration 0012), in the writing transaction; the newest entry is the revision.
``current()`` compares it with the model's own (one indexed query) and, when it moved, reloads only the
listings named since; it asks after any listing write on this machine and otherwise at least once a
``READ_MODEL_CHECK_MS`` (``directory/local_writes.py``). On PostgreSQL an entry's id is taken when its
transaction writes, not when it commits, so a later id can be seen first: the ids missing below the
revision are kept as gaps and asked for again by the same query until they appear (then their listings are
reloaded) or ``GAP_SECONDS`` pass (a rolled-back transaction's id never appears). ``purge_change_log()``
deletes the oldest entries (a process whose revision went with them builds afresh). Building is
``build()``; under gunicorn ``--preload`` the master builds once and the workers share the pages until they
write to them.
"""

import contextlib
import ctypes
import gc
import json
import logging
import math
import os
import pickle
import tempfile
import time as clock
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.db import connection, connections, transaction
from django.db.models import Max, Min
from django.utils import timezone

from directory import local_writes, rules
from directory.hours import Interval, WeeklyHours
from directory.models import CoverageScope, DirectoryChange, ServiceKind, ServiceStatus, latitude_band, translated

logger = logging.getLogger(__name__)

KINDS = tuple(ServiceKind.values)
# The "scope" under which ``ReadModel.areas`` keeps the countries and subdivisions of listings' locations.
LOCATED = "located"
KIND_CODE = {kind: code for code, kind in enumerate(KINDS)}
# Above this many listings changed at once, a full reload is cheaper than patching.
PATCH_LIMIT = 20_000
# Points added since the last build are scanned whole; past this many the point indexes are rebuilt.
EXTRA_POINTS_LIMIT = 50_000
# How long an id missing below the revision is waited for, and how many are kept at most.
GAP_SECONDS = 600.0
GAP_LIMIT = 1000
# A build looks this many ids below its revision for transactions still in flight (they took the newest ids).
BUILD_LOOKBACK = 100
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

    def __init__(self, lat: np.ndarray, lon: np.ndarray, row: np.ndarray, radius: np.ndarray | None) -> None:
        """``radius`` None: points without one (locations), each answered with a radius of 0."""
        order = np.lexsort((row, _cell(lat, lon)))
        self.lat, self.lon, self.row = lat[order], lon[order], row[order]
        self.radius = radius[order] if radius is not None else None
        # Cell numbers stay below 6.5 million: 32 bits hold them.
        self.cell = _cell(self.lat, self.lon).astype(np.int32)
        self.alive = np.ones(len(self.lat), dtype=bool)
        self.extra: list[tuple[float, float, int, float]] = []

    @property
    def nbytes(self) -> int:
        columns = (self.lat, self.lon, self.row, self.radius, self.cell, self.alive)
        return sum(a.nbytes for a in columns if a is not None)

    def replace(
        self, rows: np.ndarray, lat: np.ndarray, lon: np.ndarray, new_rows: np.ndarray, radius: np.ndarray
    ) -> None:
        """Drop every point of ``rows`` and add the given ones (the listings' points as they are now)."""
        self.alive &= ~np.isin(self.row, rows)
        dropped = set(rows.tolist())
        self.extra = [point for point in self.extra if point[2] not in dropped]
        self.extra.extend(zip(lat.tolist(), lon.tolist(), new_rows.tolist(), radius.tolist(), strict=True))

    def runs(self, lat0: float, lon0: float, dlat: float, dlon: float) -> tuple[np.ndarray, np.ndarray]:
        """Start and end positions of the runs of points in the cells the box lat0±dlat, lon0±dlon touches,
        one run per latitude band."""
        first = math.floor((max(lon0 - dlon, -180.0) + 180.0) * 10)
        last = math.floor((min(lon0 + dlon, 180.0) + 180.0) * 10)
        south = latitude_band(max(lat0 - dlat, -90.0)) * _LON_CELLS
        north = latitude_band(min(lat0 + dlat, 90.0)) * _LON_CELLS
        # Each band's first and last cell; keys of the cells' own type (searchsorted would otherwise
        # convert the whole column).
        low = np.array(range(south + first, north + first + 1, _LON_CELLS), dtype=self.cell.dtype)
        high = np.array(range(south + last, north + last + 1, _LON_CELLS), dtype=self.cell.dtype)
        return np.searchsorted(self.cell, low, "left"), np.searchsorted(self.cell, high, "right")

    def in_runs(
        self, starts: np.ndarray, ends: np.ndarray, lat0: float, lon0: float, dlat: float, dlon: float
    ) -> tuple[np.ndarray, ...]:
        """(lat, lon, row, radius) of the live points of the runs ``starts``..``ends`` (``runs``) inside the box
        lat0±dlat, lon0±dlon (bounds included), and of the tail's."""
        lat_lo, lat_hi, lon_lo, lon_hi = lat0 - dlat, lat0 + dlat, lon0 - dlon, lon0 + dlon
        lengths = ends - starts
        # The positions of every run, in band order: each run's start repeated along it, plus a count.
        offsets = np.cumsum(lengths) - lengths
        index = np.arange(int(lengths.sum())) + np.repeat(starts - offsets, lengths)
        lat, lon, row = self.lat[index], self.lon[index], self.row[index]
        radius = self.radius[index] if self.radius is not None else np.zeros(len(index))
        keep = self.alive[index] & (lat >= lat_lo) & (lat <= lat_hi) & (lon >= lon_lo) & (lon <= lon_hi)
        lat, lon, row, radius = lat[keep], lon[keep], row[keep], radius[keep]
        if self.extra:
            tail = np.array(self.extra, dtype=np.float64).reshape(-1, 4)
            inside = (tail[:, 0] >= lat_lo) & (tail[:, 0] <= lat_hi) & (tail[:, 1] >= lon_lo) & (tail[:, 1] <= lon_hi)
            tail = tail[inside]
            lat, lon = np.concatenate((lat, tail[:, 0])), np.concatenate((lon, tail[:, 1]))
            row, radius = np.concatenate((row, tail[:, 2].astype(np.int32))), np.concatenate((radius, tail[:, 3]))
        return lat, lon, row, radius


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
    # Names as one UTF-8 blob and offsets into it (a million str objects would cost ~80 MB);
    # names reloaded since the build are in ``renamed``.
    names_blob: bytes
    name_offsets: np.ndarray
    # Translated names (``{"fr": {"name": …}}``, the only part of ``translations`` a search shows), as JSON
    # in one blob for the rows in ``translated_rows``; listings reloaded since the build are in ``translations``
    # (an empty mapping for one that lost them). 100,000 dicts of dicts would cost ~90 MB.
    translated_rows: np.ndarray
    translated_offsets: np.ndarray
    translated_blob: bytes
    translations: dict[int, dict[str, Any]]
    locations: Points
    coverage: Points
    # (scope, "country" | "subdivision", code) -> rows of that coverage, in listing id order, one per coverage row;
    # scope LOCATED: where the listing's locations are
    areas: dict[tuple[str, str, str], np.ndarray]
    topic_bit: dict[int, int]
    topic_slugs: dict[int, str]
    topic_order: list[int]
    language_bit: dict[str, int]
    hours_table: list[Hours]
    renamed: dict[int, str] = field(default_factory=dict)
    # Rows in (name, id) order as the database sorts them; read when a list first needs it after a rename.
    by_name: np.ndarray | None = None
    # The newest ``updated_at`` of any listing or organisation, read with every revision check: what
    # ``http_caching.directory_last_modified`` would answer, without a query of its own.
    last_modified: datetime | None = None
    built_seconds: float = 0.0
    patched: int = 0
    stats: dict[str, Any] = field(default_factory=dict)
    # Change-log ids below the revision not yet seen (uncommitted when last asked), with when to stop asking.
    gaps: dict[int, float] = field(default_factory=dict)
    # When the database was last asked for its revision (monotonic clock), and this machine's write token then.
    checked_at: float = float("-inf")
    checked_token: int | None = None

    @property
    def version(self) -> tuple[int, int]:
        """Moves on with every change to the model: what is derived from it is derived again when it moves.

        Not the revision alone: a change logged below the revision (a late commit, ``gaps``) is patched in
        without moving the revision.
        """
        return self.revision[0], self.patched

    def rows_of(self, service_ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """Rows of the given listing ids (-1 for an id the model does not hold)."""
        wanted = np.asarray(service_ids, dtype=np.int64)
        rows = np.searchsorted(self.ids, wanted)
        rows = np.minimum(rows, max(len(self.ids) - 1, 0))
        found = (self.ids[rows] == wanted) if len(self.ids) else np.zeros(len(wanted), dtype=bool)
        return np.where(found, rows, -1)

    def name_order(self) -> np.ndarray:
        """Rows in the order the database gives ``ORDER BY name, id`` (so lists page exactly as SQL would).

        The database may already hold listings the model does not (written since its last revision check):
        they are left out until the patch that brings them in, which orders afresh.
        """
        if self.by_name is None:
            parts = [
                np.fromiter((row[0] for row in rows), np.int64, len(rows))
                for rows in _chunks("SELECT id FROM directory_service WHERE 1 = 1 {only} ORDER BY name, id", "id", None)
            ]
            rows = self.rows_of(np.concatenate(parts) if parts else np.empty(0, np.int64))
            self.by_name = rows[rows >= 0].astype(np.int32)
        return self.by_name

    def names(self, service_ids: list[int], rows: np.ndarray, language: str) -> list[str]:
        """Each listing's name in ``language`` (``models.translated`` of its translations), else its own name;
        ``rows`` are the listings' rows (``rows_of``), each looked up with the others."""
        found = []
        table, held, starts, ends = self.translated_rows, [False] * len(rows), [], []
        if len(table):
            # Keys of the column's own type: searchsorted would otherwise copy the whole column to compare.
            at = np.minimum(np.searchsorted(table, rows.astype(table.dtype)), len(table) - 1)
            held = (table[at] == rows).tolist()
            starts, ends = self.translated_offsets[at].tolist(), self.translated_offsets[at + 1].tolist()
        for index, (service_id, name) in enumerate(zip(service_ids, self._own_names(rows), strict=True)):
            translations = self.translations.get(service_id)
            if translations is None and held[index]:
                translations = json.loads(self.translated_blob[starts[index] : ends[index]])
            found.append(translated(translations, "name", language, name))
        return found

    def languages_of(self, mask: int) -> tuple[str, ...]:
        """The language codes of a ``languages`` bitset, in bit order (a few masks recur: each is decoded once)."""
        known = self.stats.setdefault("languages_of", {})
        codes = known.get(mask)
        if codes is None:
            bits = sorted(self.language_bit.items(), key=lambda item: item[1])
            codes = known[mask] = tuple(code for code, bit in bits if mask >> bit & 1)
        return codes

    def topics_of(self, mask: int) -> tuple[str, ...]:
        """The topic slugs of a ``topics`` bitset, in the topics' order (each recurring mask decoded once)."""
        known = self.stats.setdefault("topics_of", {})
        slugs = known.get(mask)
        if slugs is None:
            slugs = known[mask] = tuple(
                self.topic_slugs[topic_id] for topic_id in self.topic_order if mask >> self.topic_bit[topic_id] & 1
            )
        return slugs

    def name(self, row: int) -> str:
        return self._own_names(np.array([row]))[0]

    def _own_names(self, rows: np.ndarray) -> list[str]:
        """The listings' own names: from ``renamed`` when reloaded since the build, else from the blob."""
        # Rows added since the build have their names in ``renamed`` only: clipped here, never read.
        own = self.name_offsets
        starts = ends = [0] * len(rows)
        if len(own) > 1:
            clipped = np.minimum(rows, len(own) - 2)
            starts, ends = own[clipped].tolist(), own[clipped + 1].tolist()
        found = []
        for index, row in enumerate(rows.tolist()):
            name = self.renamed.get(row)
            found.append(name if name is not None else self.names_blob[starts[index] : ends[index]].decode())
        return found

    @property
    def nbytes(self) -> int:
        columns = [self.ids, self.kind, self.active, self.archived, self.min_age, self.max_age, self.state]
        columns += [self.review_due, self.topics, self.languages, self.hours, self.name_offsets]
        columns += [self.translated_rows, self.translated_offsets]
        names = len(self.names_blob) + len(self.translated_blob)
        areas = sum(rows.nbytes for rows in self.areas.values())
        return sum(c.nbytes for c in columns) + names + areas + self.locations.nbytes + self.coverage.nbytes

    def hours_always_open(self) -> np.ndarray:
        """Per entry of ``hours_table``: is any of its schedules 24/7 (kept until the table grows)."""
        known = self.stats.get("always_open")
        if known is None or len(known) != len(self.hours_table):
            known = self.stats["always_open"] = np.array([entry.always_open_any for entry in self.hours_table], bool)
        return known


# Loading: raw SQL read in chunks, so a million listings never exist as a million Python objects at once.

_CHUNK = 50_000
_IDS_PER_QUERY = 500


def _timestamp(value: datetime | str | None) -> float:
    if value is None:
        return float("nan")
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def _fetch(sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _chunks(sql: str, column: str, ids: Sequence[int] | None) -> Iterator[list[tuple[Any, ...]]]:
    """Rows of ``sql`` (which holds one ``{only}`` after a WHERE), all or those whose ``column`` is in ``ids``."""
    if ids is None:
        # A server-side cursor on PostgreSQL: the client never holds the whole result.
        with connection.chunked_cursor() as cursor:
            cursor.execute(sql.format(only=""))
            while rows := cursor.fetchmany(_CHUNK):
                yield rows
        return
    with connection.cursor() as cursor:
        for start in range(0, len(ids), _IDS_PER_QUERY):
            part = list(ids[start : start + _IDS_PER_QUERY])
            cursor.execute(sql.format(only=f"AND {column} IN ({', '.join(['%s'] * len(part))})"), part)
            yield cursor.fetchall()


def revision() -> tuple[int, int]:
    rows = _fetch("SELECT id, token FROM directory_change ORDER BY id DESC LIMIT 1")
    return (int(rows[0][0]), int(rows[0][1])) if rows else (0, 0)


def purge_change_log(now: datetime | None = None) -> int:
    """Delete the change log's entries older than ``DIRECTORY_CHANGE_DAYS``; return how many went.

    Only a run of the oldest ids goes, up to the first entry young enough to keep and never the newest
    (the revision), so whatever a process's revision is, every entry after it is still there: a process
    whose own revision is still logged patches its model as before, and one whose revision went builds
    afresh. (On PostgreSQL an id is taken before its transaction commits, so ids and times need not agree.)
    """
    cutoff = (now or timezone.now()) - timedelta(days=settings.DIRECTORY_CHANGE_DAYS)
    entries = DirectoryChange.objects.all()
    keep_from = entries.filter(logged_at__gte=cutoff).aggregate(first=Min("id"))["first"]
    if keep_from is None:
        keep_from = entries.aggregate(newest=Max("id"))["newest"]
    if keep_from is None:
        return 0
    deleted, _ = entries.filter(id__lt=keep_from).delete()
    return deleted


def _missing(after: int, upto: int, seen: Iterable[int]) -> dict[int, float]:
    """The ids in (after, upto] not among ``seen``, each to be asked for until GAP_SECONDS from now."""
    deadline = clock.monotonic() + GAP_SECONDS
    absent = sorted(set(range(after + 1, upto + 1)) - set(seen))[-GAP_LIMIT:]
    return dict.fromkeys(absent, deadline)


def _recent_gaps(upto: int) -> dict[int, float]:
    """At a build: ids missing among the last BUILD_LOOKBACK up to the revision (transactions still in flight)."""
    after = max(0, upto - BUILD_LOOKBACK)
    seen = _fetch("SELECT id FROM directory_change WHERE id > %s AND id <= %s", [after, upto])
    return _missing(after, upto, (row[0] for row in seen))


def _bits(keys: Iterable[Any], what: str) -> dict[Any, int]:
    bits = {key: bit for bit, key in enumerate(sorted(keys))}
    if len(bits) > _WORD:
        raise Unavailable(f"more than {_WORD} {what}")
    return bits


@dataclass
class _Vocabulary:
    topic_bit: dict[int, int]
    topic_slugs: dict[int, str]
    topic_order: list[int]
    language_bit: dict[str, int]

    @classmethod
    def read(cls) -> "_Vocabulary":
        topics = _fetch("SELECT id, slug FROM directory_topic ORDER BY position, slug")
        codes = [row[0] for row in _fetch("SELECT code FROM directory_language")]
        return cls(
            topic_bit=_bits([int(topic_id) for topic_id, _ in topics], "topics"),
            topic_slugs={int(topic_id): slug for topic_id, slug in topics},
            topic_order=[int(topic_id) for topic_id, _ in topics],
            language_bit=_bits(codes, "languages"),
        )


_SERVICES = (
    "SELECT id, kind, status, archived_at IS NOT NULL, min_age, max_age, verification_state, review_due, name, "
    "translations FROM directory_service WHERE 1 = 1 {only} ORDER BY id"
)
_TOPICS = "SELECT service_id, topic_id FROM directory_service_topics WHERE 1 = 1 {only}"
_LANGUAGES = (
    "SELECT sl.service_id, l.code FROM directory_service_languages sl "
    "INNER JOIN directory_language l ON l.id = sl.language_id WHERE 1 = 1 {only}"
)
_LOCATIONS = "SELECT service_id, latitude, longitude FROM directory_location WHERE latitude IS NOT NULL {only}"
_PLACES = "SELECT service_id, country, subdivision FROM directory_location WHERE 1 = 1 {only} ORDER BY service_id, id"
_COVERAGE = (
    "SELECT service_id, scope, country, subdivision, latitude, longitude, radius_km FROM directory_coverage "
    "WHERE 1 = 1 {only} ORDER BY service_id, id"
)
_INTERVALS = {
    "sqlite": "(SELECT group_concat(x, ',') FROM (SELECT i.weekday || ' ' || i.opens || ' ' || i.closes AS x "
    "FROM directory_openinginterval i WHERE i.schedule_id = sc.id ORDER BY i.weekday, i.opens, i.id))",
    "postgresql": "(SELECT string_agg(i.weekday || ' ' || i.opens::text || ' ' || i.closes::text, ',' "
    "ORDER BY i.weekday, i.opens, i.id) FROM directory_openinginterval i WHERE i.schedule_id = sc.id)",
}
_SCHEDULES = (
    "SELECT sc.service_id, sc.channel_id IS NULL, sc.timezone, sc.always_open, {intervals} "
    "FROM directory_schedule sc WHERE 1 = 1 {only} ORDER BY sc.service_id, sc.id"
)


def _weekly(zone: str, always_open: bool, spans: str | None) -> WeeklyHours:
    intervals = []
    if spans and not always_open:
        for span in spans.split(","):
            weekday, opens, closes = span.split(" ")
            intervals.append(Interval(int(weekday), time.fromisoformat(opens), time.fromisoformat(closes)))
    return WeeklyHours(zone, bool(always_open), tuple(intervals))


@dataclass
class _Listings:
    """Column values of some listings (all, or those named), in listing id order."""

    ids: np.ndarray
    scalars: dict[str, np.ndarray]
    names: bytes
    name_lengths: np.ndarray
    translations: dict[int, dict[str, Any]]
    # (rows, hours) of the listings with schedules
    hours: tuple[np.ndarray, list[Hours]]
    locations: tuple[np.ndarray, np.ndarray, np.ndarray]
    coverage: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
    areas: list[tuple[int, str, str, str]]


def _read_listings(vocabulary: _Vocabulary, ids: Sequence[int] | None) -> _Listings:
    id_parts: list[np.ndarray] = []
    names = bytearray()
    name_lengths: list[np.ndarray] = []
    translations: dict[int, dict[str, Any]] = {}
    scalar_parts: dict[str, list[np.ndarray]] = {
        name: [] for name in _SCALARS if name not in ("topics", "languages", "hours")
    }
    for rows in _chunks(_SERVICES, "id", ids):
        id_parts.append(np.fromiter((row[0] for row in rows), np.int64, len(rows)))
        scalar_parts["kind"].append(
            np.fromiter((KIND_CODE.get(row[1], len(KINDS)) for row in rows), np.int8, len(rows))
        )
        scalar_parts["active"].append(np.fromiter((row[2] == ServiceStatus.ACTIVE for row in rows), bool, len(rows)))
        scalar_parts["archived"].append(np.fromiter((bool(row[3]) for row in rows), bool, len(rows)))
        scalar_parts["min_age"].append(
            np.fromiter((rules.NO_MIN_AGE if row[4] is None else row[4] for row in rows), np.int16, len(rows))
        )
        scalar_parts["max_age"].append(
            np.fromiter((rules.NO_MAX_AGE if row[5] is None else row[5] for row in rows), np.int16, len(rows))
        )
        scalar_parts["state"].append(np.fromiter((rules.STATE_CODE.get(row[6], 3) for row in rows), np.int8, len(rows)))
        scalar_parts["review_due"].append(np.fromiter((_timestamp(row[7]) for row in rows), np.float64, len(rows)))
        encoded = [row[8].encode() for row in rows]
        name_lengths.append(np.fromiter(map(len, encoded), np.int64, len(encoded)))
        names += b"".join(encoded)
        del encoded
        for row in rows:
            value = row[9]
            if isinstance(value, str):
                value = json.loads(value) if value not in ("{}", "") else {}
            names_only = _translated_names(value)
            if names_only:
                translations[int(row[0])] = names_only
    listing_ids = np.concatenate(id_parts) if id_parts else np.empty(0, np.int64)
    scalars = {
        name: np.concatenate(parts) if parts else np.empty(0, _DTYPES[name]) for name, parts in scalar_parts.items()
    }
    count = len(listing_ids)

    def rows_of(service_ids: np.ndarray) -> np.ndarray:
        return np.searchsorted(listing_ids, service_ids)

    topics = np.zeros(count, np.uint64)
    topic_lookup = {topic_id: np.uint64(1 << bit) for topic_id, bit in vocabulary.topic_bit.items()}
    for rows in _chunks(_TOPICS, "service_id", ids):
        pairs = [(service_id, topic_lookup[topic_id]) for service_id, topic_id in rows if topic_id in topic_lookup]
        if len(pairs) < len(rows):
            raise Unavailable("a topic not in the vocabulary")
        if pairs:
            np.bitwise_or.at(topics, rows_of(np.array([p[0] for p in pairs])), np.array([p[1] for p in pairs]))
    languages = np.zeros(count, np.uint64)
    language_lookup = {code: np.uint64(1 << bit) for code, bit in vocabulary.language_bit.items()}
    for rows in _chunks(_LANGUAGES, "sl.service_id", ids):
        if any(code not in language_lookup for _, code in rows):
            raise Unavailable("a language not in the vocabulary")
        if rows:
            service_ids = np.array([row[0] for row in rows], np.int64)
            np.bitwise_or.at(languages, rows_of(service_ids), np.array([language_lookup[row[1]] for row in rows]))
    scalars["topics"], scalars["languages"] = topics, languages

    weekly: dict[tuple[Any, ...], WeeklyHours] = {}
    hours_ids: list[int] = []
    hours_of: list[Hours] = []
    distinct: dict[Hours, Hours] = {}
    current_id, own_hours, channel_hours = None, [], []  # type: ignore[var-annotated]
    schedules = _SCHEDULES.replace("{intervals}", _INTERVALS[connection.vendor])
    for rows in _chunks(schedules, "sc.service_id", ids):
        for service_id, own, zone, always_open, spans in rows:
            if service_id != current_id:
                if current_id is not None:
                    hours_ids.append(current_id)
                    found = Hours(tuple(own_hours), tuple(channel_hours))
                    hours_of.append(distinct.setdefault(found, found))
                current_id, own_hours, channel_hours = service_id, [], []
            key = (zone, always_open, spans)
            hours = weekly.get(key)
            if hours is None:
                hours = weekly[key] = _weekly(zone, always_open, spans)
            (own_hours if own else channel_hours).append(hours)
    if current_id is not None:
        hours_ids.append(current_id)
        hours_of.append(Hours(tuple(own_hours), tuple(channel_hours)))

    location_parts: list[tuple[np.ndarray, ...]] = []
    for rows in _chunks(_LOCATIONS, "service_id", ids):
        table = np.array(rows, np.float64).reshape(-1, 3)
        location_parts.append((table[:, 1].copy(), table[:, 2].copy(), rows_of(table[:, 0].astype(np.int64))))
    locations = _joined(location_parts, 3)
    coverage_parts: list[tuple[np.ndarray, ...]] = []
    areas: list[tuple[int, str, str, str]] = []
    for rows in _chunks(_COVERAGE, "service_id", ids):
        radius = [(row[0], row[4], row[5], row[6]) for row in rows if row[1] == CoverageScope.RADIUS]
        areas.extend((int(row[0]), row[1], row[2], row[3]) for row in rows)
        table = np.array(radius, np.float64).reshape(-1, 4)
        coverage_parts.append(
            (table[:, 1].copy(), table[:, 2].copy(), rows_of(table[:, 0].astype(np.int64)), table[:, 3].copy())
        )
    coverage = _joined(coverage_parts, 4)
    for rows in _chunks(_PLACES, "service_id", ids):
        areas.extend((int(row[0]), LOCATED, row[1], row[2]) for row in rows)
    hours_rows = rows_of(np.array(hours_ids, np.int64))
    lengths = np.concatenate(name_lengths) if name_lengths else np.empty(0, np.int64)
    return _Listings(
        listing_ids, scalars, bytes(names), lengths, translations, (hours_rows, hours_of), locations, coverage, areas
    )


def _translated_names(value: Any) -> dict[str, Any]:
    """The part of a listing's ``translations`` the model keeps: each language's name."""
    if not isinstance(value, dict):
        return {}
    return {
        language: {"name": entry["name"]}
        for language, entry in value.items()
        if isinstance(entry, dict) and entry.get("name")
    }


def _compact_translations(
    translations: dict[int, dict[str, Any]], ids: np.ndarray
) -> tuple[np.ndarray, np.ndarray, bytes]:
    """(rows, offsets, blob): each translated listing's names as JSON, rows ascending."""
    service_ids = sorted(translations)
    rows = np.searchsorted(ids, np.array(service_ids, np.int64)).astype(np.int32)
    encoded = [json.dumps(translations[service_id], ensure_ascii=False).encode() for service_id in service_ids]
    offsets = np.zeros(len(encoded) + 1, np.int64)
    np.cumsum(np.fromiter(map(len, encoded), np.int64, len(encoded)), out=offsets[1:])
    return rows, offsets, b"".join(encoded)


def _joined(parts: list[tuple[np.ndarray, ...]], width: int) -> Any:
    """Concatenate chunks of (lat, lon, row[, radius]) columns; rows as int32."""
    if not parts:
        return tuple(np.empty(0, np.int32 if column == 2 else np.float64) for column in range(width))
    joined = [np.concatenate([part[column] for part in parts]) for column in range(width)]
    joined[2] = joined[2].astype(np.int32)
    return tuple(joined)


_SCALARS = ("kind", "active", "archived", "min_age", "max_age", "state", "review_due", "topics", "languages", "hours")
_DTYPES = {
    "kind": np.int8,
    "active": bool,
    "archived": bool,
    "min_age": np.int16,
    "max_age": np.int16,
    "state": np.int8,
    "review_due": np.float64,
    "topics": np.uint64,
    "languages": np.uint64,
    "hours": np.int32,
}


def _narrowest_bits(column: np.ndarray, bits: int) -> np.ndarray:
    """A bitset column in the narrowest unsigned type holding ``bits`` bits (10 topics: 16 bits, not 64)."""
    for dtype in (np.uint8, np.uint16, np.uint32):
        if bits <= np.iinfo(dtype).bits:
            return column.astype(dtype)
    return column


def _hours_column(listings: _Listings, table: list[Hours], index: dict[Hours, int]) -> np.ndarray:
    """Each listing's entry in ``table`` (distinct hours, added to as needed); 0 is "no hours"."""
    column = np.zeros(len(listings.ids), np.int32)
    rows, hours_list = listings.hours
    numbers = np.empty(len(hours_list), np.int32)
    for position, hours in enumerate(hours_list):
        number = index.get(hours)
        if number is None:
            number = index[hours] = len(table)
            table.append(hours)
        numbers[position] = number
    column[rows] = numbers
    listings.hours[1].clear()
    return column


def _area_rows(areas: list[tuple[int, str, str, str]], ids: np.ndarray) -> dict[tuple[str, str, str], list[int]]:
    found: dict[tuple[str, str, str], list[int]] = {}
    rows = np.searchsorted(ids, np.array([area[0] for area in areas], np.int64)).tolist() if areas else []
    for row, (_, scope, country, subdivision) in zip(rows, areas, strict=True):
        if country or scope == CoverageScope.WORLDWIDE:
            found.setdefault((scope, "country", country), []).append(row)
        if subdivision:
            found.setdefault((scope, "subdivision", subdivision), []).append(row)
    return found


def _release_freed_memory() -> None:
    """Hand the build's freed row buffers back to the system (glibc keeps them otherwise)."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to hand back
        return


def build() -> ReadModel:
    """Read every listing into a new model.

    On PostgreSQL in one transaction: its server-side cursors then live on one server connection, also
    behind a pooler in transaction mode (PgBouncer). Not on SQLite, where a transaction here would be an
    IMMEDIATE one, holding the write lock while a million rows are read.
    """
    with transaction.atomic() if connection.vendor == "postgresql" else contextlib.nullcontext():
        return _build()


def _build() -> ReadModel:
    started = clock.monotonic()
    at = revision()
    gaps = _recent_gaps(at[0])
    vocabulary = _Vocabulary.read()
    listings = _read_listings(vocabulary, None)
    hours_table, hours_index = [Hours()], {Hours(): 0}
    listings.scalars["hours"] = _hours_column(listings, hours_table, hours_index)
    # A patch keeps the vocabulary (a new topic or language rebuilds), so its bits always fit.
    listings.scalars["topics"] = _narrowest_bits(listings.scalars["topics"], len(vocabulary.topic_bit))
    listings.scalars["languages"] = _narrowest_bits(listings.scalars["languages"], len(vocabulary.language_bit))
    offsets = np.zeros(len(listings.name_lengths) + 1, np.int64)
    np.cumsum(listings.name_lengths, out=offsets[1:])
    if offsets[-1] < 2**32:
        offsets = offsets.astype(np.uint32)
    translated_rows, translated_offsets, translated_blob = _compact_translations(listings.translations, listings.ids)
    listings.translations.clear()
    model = ReadModel(
        revision=at,
        ids=listings.ids,
        names_blob=listings.names,
        name_offsets=offsets,
        translated_rows=translated_rows,
        translated_offsets=translated_offsets,
        translated_blob=translated_blob,
        translations={},
        locations=Points(*listings.locations, None),
        coverage=Points(*listings.coverage),
        areas={key: np.array(rows, np.int32) for key, rows in _area_rows(listings.areas, listings.ids).items()},
        topic_bit=vocabulary.topic_bit,
        topic_slugs=vocabulary.topic_slugs,
        topic_order=vocabulary.topic_order,
        language_bit=vocabulary.language_bit,
        hours_table=hours_table,
        gaps=gaps,
        **listings.scalars,  # type: ignore[arg-type]
    )
    _release_freed_memory()
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
    """Reload the given listings into ``model`` in place; a new model when they do not fit."""
    ids = sorted(set(service_ids))
    vocabulary = _Vocabulary(model.topic_bit, model.topic_slugs, model.topic_order, model.language_bit)
    listings = _read_listings(vocabulary, ids)
    index = {entry: number for number, entry in enumerate(model.hours_table)}
    listings.scalars["hours"] = _hours_column(listings, model.hours_table, index)
    found = listings.ids
    rows = model.rows_of(found)
    fresh = rows < 0
    if fresh.any() and len(model.ids) and found[fresh].min() <= model.ids[-1]:
        return build()  # a new id below the newest one: rows would go out of order
    # Listings deleted outright are no longer live anywhere.
    gone = model.rows_of(sorted(set(ids) - set(found.tolist())))
    gone = gone[gone >= 0]
    model.archived[gone] = True
    existing = np.flatnonzero(~fresh)
    for name in _SCALARS:
        getattr(model, name)[rows[existing]] = listings.scalars[name][existing]
    if fresh.any():
        for name in ("ids", *_SCALARS):
            column = listings.ids if name == "ids" else listings.scalars[name]
            current = getattr(model, name)
            setattr(model, name, np.concatenate((current, column[fresh].astype(current.dtype))))
    rows = model.rows_of(found)
    fresh_positions = set(np.flatnonzero(fresh).tolist())
    starts = np.concatenate(([0], np.cumsum(listings.name_lengths))).tolist()
    for position, row in enumerate(rows.tolist()):
        name = listings.names[starts[position] : starts[position + 1]].decode()
        if position in fresh_positions or model.name(row) != name:
            model.by_name = None
        model.renamed[row] = name
    for service_id in ids:
        model.translations[service_id] = listings.translations.get(service_id, {})
    touched = model.rows_of(ids)
    touched = touched[touched >= 0]
    lat, lon, located_rows = listings.locations
    model.locations.replace(touched, lat, lon, rows[located_rows], np.zeros(len(lat)))
    lat, lon, covered_rows, radius = listings.coverage
    model.coverage.replace(touched, lat, lon, rows[covered_rows], radius)
    for key, area_rows in list(model.areas.items()):
        if np.isin(area_rows, touched).any():
            model.areas[key] = area_rows[~np.isin(area_rows, touched)]
    for key, new_rows in _area_rows(listings.areas, found).items():
        new = rows[np.array(new_rows, np.int64)].astype(np.int32)
        model.areas[key] = np.sort(np.concatenate((model.areas.get(key, np.empty(0, np.int32)), new)), kind="stable")
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
    """The model, up to date with every change committed on this machine and those committed elsewhere
    more than ``READ_MODEL_CHECK_MS`` ago (``directory/local_writes.py``); None when disabled or unavailable.
    """
    global _model
    if not enabled():
        return None
    # Both taken before asking: a write that lands while the database is asked counts as unseen.
    asked_at, written = clock.monotonic(), local_writes.token(connection)
    model = _model
    if model is not None and model.checked_token == written and asked_at - model.checked_at < _check_seconds():
        return model
    try:
        model = _stamped(build()) if model is None else _refreshed(model)
    except Unavailable as reason:
        logger.warning("read model unavailable (%s): searching with SQL", reason)
        _model = None
        return None
    model.checked_at, model.checked_token = asked_at, written
    _model = model
    return model


def _check_seconds() -> float:
    return float(getattr(settings, "READ_MODEL_CHECK_MS", 0)) / 1000.0


# The revision check also reads the newest change to a listing or an organisation (two index seeks in the
# same round trip), so answers from the model can carry Last-Modified without a query of their own.
_STAMPS = "(SELECT MAX(updated_at) FROM directory_service), (SELECT MAX(updated_at) FROM directory_organization)"
# ``{ids}``: the model's revision and the gaps below it still waited for (``%s`` placeholders only). The newest
# id is one more member of the same IN list, so the whole check is primary-key lookups whatever the planner
# thinks of the table (with ``... OR id = (SELECT MAX(id) ...)`` PostgreSQL chose a sequential scan once).
_CHECK = (
    "SELECT id, token, service_id, " + _STAMPS + " FROM directory_change "  # noqa: S608 - no values in the text
    "WHERE id IN ({ids}, (SELECT MAX(id) FROM directory_change))"
)


def aware_utc(value: datetime | str | None) -> datetime | None:
    """A timestamp column's value as an aware UTC datetime (SQLite's raw rows give text, naive in UTC)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _newest(stamps: Sequence[Any]) -> datetime | None:
    found = [stamp for stamp in map(aware_utc, stamps) if stamp is not None]
    return max(found) if found else None


def _stamped(model: ReadModel) -> ReadModel:
    """Read the model's ``last_modified`` now (after a build or a patch)."""
    rows = _fetch(f"SELECT {_STAMPS}")
    model.last_modified = _newest(rows[0]) if rows else None
    return model


def _refreshed(model: ReadModel) -> ReadModel:
    mine, token = model.revision
    now = clock.monotonic()
    gaps = {gap: deadline for gap, deadline in model.gaps.items() if deadline > now}
    asked = [mine, *gaps]
    rows = _fetch(_CHECK.format(ids=", ".join(["%s"] * len(asked))), asked)
    latest = max(((row[0], row[1]) for row in rows), default=(0, 0))
    own = next((row for row in rows if row[0] == mine), None)
    filled = [row for row in rows if row[0] in gaps]
    if (latest[0], latest[1]) == (mine, token) and not filled:
        model.gaps = gaps
        if not rows:
            return _stamped(model)
        model.last_modified = _newest(rows[0][3:])
        return model
    if own is None or own[1] != token or latest[0] < mine:
        # The log was purged past this revision or rewritten (a rollback, a truncated table): start again.
        logger.info("read model revision %s is no longer in the change log: building afresh", mine)
        return _stamped(build())
    started = clock.monotonic()
    if latest[0] - mine > PATCH_LIMIT:
        return _stamped(build())
    changed = _fetch("SELECT id, service_id FROM directory_change WHERE id > %s AND id <= %s", [mine, latest[0]])
    service_ids = {row[1] for row in changed} | {row[2] for row in filled}
    if None in service_ids:
        return _stamped(build())
    for row in filled:
        del gaps[row[0]]
    gaps.update(_missing(mine, latest[0], (row[0] for row in changed)))
    patched = patch(model, sorted(service_ids), (int(latest[0]), int(latest[1])))
    if patched is model:  # else a new build, which found the gaps below its own revision
        model.gaps = dict(sorted(gaps.items())[-GAP_LIMIT:])
    model = patched
    model.stats["last_patch_seconds"] = clock.monotonic() - started
    model.stats["last_patch_listings"] = len(service_ids)
    return _stamped(model)


def reset() -> None:
    """Forget the model (the next ``current()`` builds a new one)."""
    global _model
    _model = None


def _built_in_child() -> ReadModel:
    """Build in a forked child and take only the result: the rows read on the way never touch this process.

    Reading a million rows leaves this process's heap fragmented (hundreds of MB it cannot hand back);
    under ``--preload`` every worker would inherit that. The child pickles the finished model to a file.
    """
    connections.close_all()
    with tempfile.TemporaryDirectory(prefix="readmodel-") as folder:
        path = Path(folder) / "model.pickle"
        child = os.fork()
        if child == 0:  # pragma: no cover - the child's exit status says how it went
            status = 1
            try:
                with path.open("wb") as handle:
                    pickle.dump(_with_list_index(build()), handle, protocol=pickle.HIGHEST_PROTOCOL)
                status = 0
            except Unavailable:
                status = 3
            except BaseException:
                logger.exception("building the read model failed")
            finally:
                os._exit(status)
        _, status = os.waitpid(child, 0)
        if os.waitstatus_to_exitcode(status) == 3:
            raise Unavailable("see the build's warning")
        if os.waitstatus_to_exitcode(status) != 0:
            raise RuntimeError("building the read model failed; see the log")
        with path.open("rb") as handle:
            model: ReadModel = pickle.load(handle)  # noqa: S301 - written just now by this process's child
    return model


def _with_list_index(model: ReadModel) -> ReadModel:
    """Add what the services list needs (the name order, its index), so the workers share it too."""
    from directory import lists  # the list index is built on this module's model

    lists.index_for(model)
    return model


def preload() -> None:
    """Build the model now (gunicorn ``--preload``: in the master, shared by the workers)."""
    global _model
    if enabled():
        try:
            _model = _built_in_child() if hasattr(os, "fork") else build()
        except Unavailable as reason:
            logger.warning("read model unavailable (%s)", reason)
        finally:
            connections.close_all()
        # Objects made so far are left alone by the collector, so the workers' copies stay shared.
        gc.freeze()
