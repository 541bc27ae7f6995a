"""The search's data from the in-memory read model (``directory.readmodel``): no SQL but the revision check.

Each method gives exactly what its SQL counterpart in ``directory.search.reference`` gives: the same
conditions (``directory.rules``), the same distances in the same floating-point steps, the same order.
"""

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from directory import readmodel, rules
from directory.models import ServiceKind
from directory.readmodel import KIND_CODE, Points, ReadModel
from directory.search.query import KM_PER_DEGREE_LAT, KM_PER_DEGREE_LON_AT_EQUATOR, HelpQuery
from directory.search.ranking import Facts

_HELPLINE = KIND_CODE[ServiceKind.HELPLINE]
# Area answers kept per read model version, at most (then they start again).
_AREA_ANSWERS = 4096


@dataclass(frozen=True)
class Conditions:
    """What a query asks of a listing, ready to apply to rows of the model."""

    kinds: tuple[int, ...] | None
    age: int | None
    verified_only: bool
    topic_bit: int | None
    now: datetime

    def timeless(self) -> tuple[Any, ...]:
        """The conditions but the moment, as a key."""
        return self.kinds, self.age, self.verified_only, self.topic_bit


class MemorySource:
    cached = False

    def __init__(self, model: ReadModel) -> None:
        self.model = model
        self._slugs = {slug: topic_id for topic_id, slug in model.topic_slugs.items()}

    def topic_id(self, slug: str) -> int | None:
        return self._slugs.get(slug)

    def conditions(self, query: HelpQuery, topic: int | None, now: datetime) -> Conditions:
        kinds = tuple(KIND_CODE[kind] for kind in query.kinds if kind in KIND_CODE) if query.kinds else None
        # Topic ids come from this model (``topic_id``), so each has a bit.
        bit = self.model.topic_bit[topic] if topic is not None else None
        return Conditions(kinds=kinds, age=query.age, verified_only=query.verified_only, topic_bit=bit, now=now)

    def passes(self, rows: np.ndarray, conditions: Conditions) -> np.ndarray:
        """Which of ``rows`` meet ``conditions``: the rules ``reference.service_conditions`` compiles to SQL."""
        m = self.model
        ok = rules.live_mask(m.active[rows], m.archived[rows])
        if conditions.kinds is not None:
            ok &= np.isin(m.kind[rows], conditions.kinds)
        if conditions.age is not None:
            ok &= rules.serves_age_mask(m.min_age[rows], m.max_age[rows], conditions.age)
        if conditions.verified_only:
            ok &= rules.current_mask(m.state[rows], m.review_due[rows], conditions.now)
        if conditions.topic_bit is not None:
            ok &= (m.topics[rows] & np.uint64(1 << conditions.topic_bit)) != 0
        return ok

    def nearest(
        self, located: bool, point: tuple[float, float], rings: tuple[float, ...], wanted: int, conditions: Conditions
    ) -> list[tuple[int, float, float]]:
        """The first ``wanted`` listings passing ``conditions`` in (distance, id) order within the first
        ring holding that many (or the last ring), each with its nearest point: what the SQL rings give."""
        points: Points = self.model.locations if located else self.model.coverage
        lat0, lon0 = point
        km_per_lon = max(KM_PER_DEGREE_LON_AT_EQUATOR * math.cos(math.radians(lat0)), 0.01)
        for index, ring in enumerate(rings):
            dlat, dlon = ring / KM_PER_DEGREE_LAT, min(ring / km_per_lon, 180.0)
            last = index == len(rings) - 1
            starts, ends = points.runs(lat0, lon0, dlat, dlon)
            if not last and int((ends - starts).sum()) + len(points.extra) < wanted:
                continue  # fewer points in the box's cells than wanted: this ring cannot be the answer
            lat, lon, row, radius = points.in_runs(starts, ends, lat0, lon0, dlat, dlon)
            dy = (lat - lat0) * KM_PER_DEGREE_LAT
            dx = (lon - lon0) * km_per_lon
            d2 = dy * dy + dx * dx
            keep = d2 <= ring * ring
            if not located:
                keep &= d2 <= radius * radius
            lat, lon, row, d2 = lat[keep], lon[keep], row[keep], d2[keep]
            passed = self.passes(row, conditions)
            lat, lon, row, d2 = lat[passed], lon[passed], row[passed], d2[passed]
            service_ids = self.model.ids[row]
            order = np.lexsort((service_ids, d2))
            found: dict[int, tuple[int, float, float]] = {}
            for position in order.tolist():
                service_id = int(service_ids[position])
                if service_id not in found:
                    found[service_id] = (service_id, float(lat[position]), float(lon[position]))
                    if len(found) >= wanted:
                        break
            if len(found) >= wanted or last:
                return list(found.values())
        return []

    def area(
        self,
        scope: str,
        column: str,
        code: str,
        conditions: Conditions,
        language: str,
        now: datetime,
        wanted: int,
        *,
        always_open_helpline: bool = False,
    ) -> list[int]:
        """The first ``wanted`` listings covering the area that pass ``conditions``: those speaking ``language``
        first, then by effective verification state, then id.

        An area's answer is the same for every point in it, so it is kept (per model version) for as long as
        the clock leaves every rule it depends on unchanged (``rules.current_unchanged``).
        """
        m = self.model
        area = m.areas.get((scope, column, code))
        if area is None or not len(area):
            return []
        kept = _kept_areas(m)
        key = (scope, column, code, conditions.timeless(), language, wanted, always_open_helpline)
        at = now.timestamp()
        held = kept.get(key)
        if held is not None and held[0] < at <= held[1]:
            return list(held[2])
        ok = self.passes(area, conditions)
        if always_open_helpline:
            ok &= (m.kind[area] == _HELPLINE) & m.hours_always_open()[m.hours[area]]
        rows = area[ok]
        bit = m.language_bit.get(language)
        speaks = (m.languages[rows] & np.uint64(1 << bit)) != 0 if bit is not None else np.zeros(len(rows), bool)
        state = rules.effective_state_codes(m.state[rows], m.review_due[rows], now)
        service_ids = m.ids[rows]
        order = np.lexsort((service_ids, state, ~speaks))
        found = [int(service_id) for service_id in service_ids[order[:wanted]]]
        kept[key] = (*rules.current_unchanged(m.review_due[area], now), tuple(found))
        return found

    def facts(self, service_ids: list[int], query: HelpQuery, language: str, now: datetime) -> dict[int, Facts]:
        m = self.model
        rows = m.rows_of(service_ids)
        rows = rows[rows >= 0]
        conditions = self.conditions(query, None, now)
        rows = rows[self.passes(rows, conditions)]
        states = rules.effective_state_codes(m.state[rows], m.review_due[rows], now)
        found: dict[int, Facts] = {}
        ids = m.ids[rows].tolist()
        columns = (m.kind[rows], m.languages[rows], m.hours[rows], states)
        for service_id, name, kind, spoken, hours, state in zip(
            ids, m.names(ids, rows, language), *(c.tolist() for c in columns), strict=True
        ):
            entry = m.hours_table[hours]
            found[service_id] = Facts(
                service_id=service_id,
                name=name,
                kind=readmodel.KINDS[kind],
                verification_state=rules.STATES[state],
                spoken=set(m.languages_of(spoken)),
                own_hours=list(entry.own),
                channel_hours=list(entry.channels),
            )
        return found

    def topics(self, service_ids: list[int]) -> dict[int, tuple[str, ...]]:
        m = self.model
        found = {}
        for service_id, row in zip(service_ids, m.rows_of(service_ids).tolist(), strict=True):
            if row < 0:
                continue
            slugs = m.topics_of(int(m.topics[row]))
            if slugs:
                found[service_id] = slugs
        return found


_AreaKey = tuple[str, str, str, tuple[Any, ...], str, int, bool]


def _kept_areas(model: ReadModel) -> dict[_AreaKey, tuple[float, float, tuple[int, ...]]]:
    """The model's kept area answers (``MemorySource.area``): each with the moments between which it holds."""
    kept = model.stats.get("area_answers")
    if kept is None or kept[0] != model.version or len(kept[1]) >= _AREA_ANSWERS:
        kept = model.stats["area_answers"] = (model.version, {})
    answers: dict[_AreaKey, tuple[float, float, tuple[int, ...]]] = kept[1]
    return answers


def memory_source() -> MemorySource | None:
    model = readmodel.current()
    return MemorySource(model) if model is not None else None
