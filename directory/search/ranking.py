"""Ranking: order candidates by topic match, coverage specificity, distance, open now, language,
verification, then name and id, so equal scores are always ordered the same way (pure functions)."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pyproj import Geod

from directory import rules
from directory.hours import WeeklyHours, is_open, weekly_hours_from_schedule
from directory.models import Service
from directory.search.query import HelpQuery

# The WGS-84 ellipsoid, as geopy's geodesic uses it. PROJ's geodesic is GeographicLib's algorithm in C,
# which gives geopy's distances (to a few nanometres) some seventy times faster.
_WGS84 = Geod(ellps="WGS84")


@dataclass
class Candidate:
    service_id: int
    tier: int
    distance_km: float | None = None
    topic_backfill: bool = False
    # The subdivision or county whose coverage brought the candidate in (for its reason).
    area: str = ""


@dataclass
class Facts:
    """What ranking needs to know of a candidate, read without building model instances."""

    service_id: int
    name: str
    kind: str
    verification_state: str
    spoken: set[str] = field(default_factory=set)
    own_hours: list[WeeklyHours] = field(default_factory=list)
    channel_hours: list[WeeklyHours] = field(default_factory=list)


Ranked = tuple[Candidate, Facts, bool | None, bool]


def effective_verification(service: Service, now: datetime) -> str:
    return rules.effective_state(service.verification_state, service.review_due, now)


def service_open_now(service: Service, now: datetime) -> tuple[bool | None, bool]:
    """Return (open now, always open) of a service with prefetched schedules."""
    schedules = list(service.schedules.all())
    own = [weekly_hours_from_schedule(s) for s in schedules if s.channel_id is None]
    channels = [weekly_hours_from_schedule(s) for s in schedules if s.channel_id is not None]
    return open_state(own, channels, now)


def open_state(
    own_hours: list[WeeklyHours], channel_hours: list[WeeklyHours], now: datetime
) -> tuple[bool | None, bool]:
    """Return (open now, always open): the service's own hours, else any channel's; (None, False) if unknown."""
    relevant = own_hours or channel_hours
    if not relevant:
        return None, False
    return any(is_open(hours, now) for hours in relevant), any(hours.always_open for hours in relevant)


def rank(query: HelpQuery, now: datetime, candidates: dict[int, Candidate], facts: dict[int, Facts]) -> list[Ranked]:
    """Order the candidates that have facts (the others no longer qualify); each with open-now and always-open."""
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
            rules.VERIFICATION_RANK.get(known.verification_state, 3),
            known.name.casefold(),
            service_id,
        )
        keyed.append((key, (candidate, known, open_now, always_open)))
    keyed.sort(key=lambda pair: pair[0])
    return [entry for _, entry in keyed]


def with_kept(ranked: list[Any], kept: set[Any], limit: int) -> list[Any]:
    """The first ``limit`` ranked entries, making room at the end for the ``kept`` services, in rank order."""
    must = [entry for entry in ranked if entry[0].service_id in kept][:limit]
    rest = [entry for entry in ranked if entry[0].service_id not in kept][: limit - len(must)]
    position = {id(entry): index for index, entry in enumerate(ranked)}
    return sorted([*rest, *must], key=lambda entry: position[id(entry)])


def local_distances(point: tuple[float, float], found: list[tuple[int, float, float]]) -> list[tuple[int, float]]:
    """(service id, geodesic distance km) for each point found near ``point``."""
    return [(service_id, distance_km(point, (lat, lon))) for service_id, lat, lon in found]


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """The geodesic distance in km, the same as geopy's ``geodesic(a, b).km`` without its parsing."""
    return float(_WGS84.inv(a[1], a[0], b[1], b[0])[2]) / 1000.0
