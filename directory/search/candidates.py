"""Find the nearest help: the one search used by the API and the SMS gateway.

Candidates: services with a location near the point and services whose radius coverage contains it,
ring by ring until enough are found; services covering the point's county, subdivision, country or
the whole world (skipped when enough local services were found: every local one outranks them); the
country's best 24/7 national line; for image-abuse topics the worldwide takedown services. Ranking
(``directory.search.ranking``) orders at most a few hundred of them with exact geodesic distances.

The data comes from a source: the in-memory read model (``directory.search.memory``) when it is
enabled, else SQL (``directory.search.reference``); both give the same answers, which tests hold.
"""

import hashlib
from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from directory.emergency import emergency_number
from directory.models import CoverageScope
from directory.search.contacts import contacts_for
from directory.search.query import (
    COVERAGE_RINGS_KM,
    LOCATED_RINGS_KM,
    MAX_LIMIT,
    MAX_WORLDWIDE_TAKEDOWN,
    SUPPORTED_LANGUAGES,
    TAKEDOWN_TOPIC,
    TIER_LOCAL,
    TIER_NATIONAL,
    TIER_SUBDIVISION,
    TIER_WORLDWIDE,
    WORLDWIDE_TAKEDOWN_FOR,
    HelpAnswer,
    HelpQuery,
    HelpResult,
)
from directory.search.ranking import Candidate, Facts, Ranked, local_distances, rank, with_kept
from directory.search.reasons import reason


class Source(Protocol):
    """Where a search reads its candidates and their facts from."""

    cached: bool

    def topic_id(self, slug: str) -> int | None: ...

    def conditions(self, query: HelpQuery, topic: int | None, now: datetime) -> Any: ...

    def nearest(
        self, located: bool, point: tuple[float, float], rings: tuple[float, ...], wanted: int, conditions: Any
    ) -> list[tuple[int, float, float]]: ...

    def area(
        self,
        scope: str,
        column: str,
        code: str,
        conditions: Any,
        language: str,
        now: datetime,
        wanted: int,
        *,
        always_open_helpline: bool = False,
    ) -> list[int]: ...

    def facts(self, service_ids: list[int], query: HelpQuery, language: str, now: datetime) -> dict[int, Facts]: ...

    def topics(self, service_ids: list[int]) -> dict[int, tuple[str, ...]]: ...


def default_source() -> Source:
    """The read model when it is enabled and holds the data, else SQL."""
    from directory.search.memory import memory_source
    from directory.search.reference import SqlSource

    return memory_source() or SqlSource()


def find_help(query: HelpQuery, *, now: datetime | None = None, source: Source | None = None) -> HelpAnswer:
    """Return ranked help for ``query``, with the country's emergency number."""
    now = now or timezone.now()
    source = source or default_source()
    reply_language = query.reply_language or query.language
    language = reply_language if reply_language in SUPPORTED_LANGUAGES else "en"
    limit = max(1, min(query.limit, MAX_LIMIT))
    topic_id = source.topic_id(query.topic) if query.topic else None

    candidates = _gather(source, query, topic_id, now, limit)
    if topic_id is not None and len(candidates) < limit:
        for candidate in _gather(source, query, None, now, limit).values():
            if candidate.service_id not in candidates:
                candidate.topic_backfill = True
                candidates[candidate.service_id] = candidate
    national_line = _national_24_7_line(source, query, now)
    if national_line is not None and national_line not in candidates:
        candidates[national_line] = Candidate(national_line, TIER_NATIONAL, topic_backfill=topic_id is not None)
    takedown = _worldwide_takedown(source, query, now) if query.topic in WORLDWIDE_TAKEDOWN_FOR else []
    for service_id in takedown:
        known = candidates.get(service_id)
        if known is None or known.topic_backfill:
            candidates[service_id] = Candidate(service_id, TIER_WORLDWIDE)

    ranked = rank(query, now, candidates, source.facts(list(candidates), query, language, now))
    if query.open_now:
        ranked = [entry for entry in ranked if entry[2] is not False]
    chosen = with_kept(ranked, {national_line, *takedown} - {None}, limit)
    return HelpAnswer(
        country=query.country,
        emergency_number=emergency_number(query.country),
        results=_results(source, chosen, query, language),
    )


def _cached(source: Source, key: str, compute: Any) -> Any:
    """``compute()``, kept briefly in the cache when the source asks for it (SQL: area answers are costly)."""
    if not source.cached:
        return compute()
    found = cache.get(key)
    if found is None:
        found = compute()
        cache.set(key, found, settings.SEARCH_CACHE_SECONDS)
    return found


def _worldwide_takedown(source: Source, query: HelpQuery, now: datetime) -> list[int]:
    """Ids of the worldwide takedown services the query allows, as ranking orders a tier."""
    topic_id = source.topic_id(TAKEDOWN_TOPIC)
    if topic_id is None:
        return []
    conditions = source.conditions(query, topic_id, now)
    return list(
        _cached(
            source,
            _cache_key("takedown", query, topic_id),
            lambda: source.area(
                CoverageScope.WORLDWIDE, "country", "", conditions, query.language, now, MAX_WORLDWIDE_TAKEDOWN
            ),
        )
    )


def _gather(source: Source, query: HelpQuery, topic_id: int | None, now: datetime, limit: int) -> dict[int, Candidate]:
    # Specificity and distance dominate the ranking, so a few more than asked per source suffice;
    # area tiers get more because open-now (known only here) reorders within a tier.
    per_source = limit + 5
    candidates: dict[int, Candidate] = {}

    def add(service_id: int, tier: int, distance: float | None = None, area: str = "") -> None:
        current = candidates.get(service_id)
        if current is None or (tier, distance or 0.0) < (current.tier, current.distance_km or 0.0):
            candidates[service_id] = Candidate(service_id, tier, distance, area=area)

    conditions = source.conditions(query, topic_id, now)
    if query.latitude is not None and query.longitude is not None:
        point = (query.latitude, query.longitude)
        found = [
            row
            for located, rings in ((True, LOCATED_RINGS_KM), (False, COVERAGE_RINGS_KM))
            for row in source.nearest(located, point, rings, per_source, conditions)
        ]
        for service_id, distance in local_distances(point, found):
            add(service_id, TIER_LOCAL, distance)
        # Local services outrank every area-wide one, so with enough of them the area tiers cannot
        # reach the answer. Unless only open services are wanted: closed ones drop out after ranking.
        # The county's own force is local too, and is always asked for.
        if len(candidates) >= limit and not query.open_now:
            if query.county:
                county = query.county.upper()
                ids = source.area(
                    CoverageScope.SUBDIVISION, "subdivision", county, conditions, query.language, now, limit
                )
                for service_id in ids:
                    add(service_id, TIER_LOCAL, area=county)
            return candidates

    for service_id, service_tier, area in _area_candidates(source, query, topic_id, now, limit + 10, conditions):
        add(service_id, service_tier, area=area)
    return candidates


def _cache_key(kind: str, query: HelpQuery, *extra: object) -> str:
    parts = (query.country, query.subdivision, query.county, query.language, query.kinds, query.age, *extra)
    parts += (query.verified_only,)
    return f"help:{kind}:" + hashlib.sha256(repr(parts).encode()).hexdigest()[:32]


def _area_candidates(
    source: Source, query: HelpQuery, topic_id: int | None, now: datetime, wanted: int, conditions: Any
) -> list[tuple[int, int, str]]:
    """(service id, tier, area) of the services covering the query's county, subdivision, country or the world.

    It depends on the area, not the point. From SQL it is cached briefly: listings are re-checked when
    ranked, so an archived or changed one never shows; a new one joins within ``SEARCH_CACHE_SECONDS``.
    The read model keeps its own answers exactly, per model version (``MemorySource.area``).
    """
    tiers = [
        (TIER_WORLDWIDE, CoverageScope.WORLDWIDE, "country", ""),
        (TIER_NATIONAL, CoverageScope.COUNTRY, "country", query.country.upper()),
    ]
    if query.subdivision:
        tiers.append((TIER_SUBDIVISION, CoverageScope.SUBDIVISION, "subdivision", query.subdivision.upper()))
    # A GB county is a police force's area: the force covering it is the local police, whatever its distance.
    if query.county:
        tiers.append((TIER_LOCAL, CoverageScope.SUBDIVISION, "subdivision", query.county.upper()))

    def compute() -> list[tuple[int, int, str]]:
        found: list[tuple[int, int, str]] = []
        for tier, scope, column, code in sorted(tiers, key=lambda entry: entry[0]):
            ids = source.area(scope, column, code, conditions, query.language, now, wanted)
            found.extend((service_id, tier, code if scope == CoverageScope.SUBDIVISION else "") for service_id in ids)
        return found

    return list(_cached(source, _cache_key("area", query, topic_id, wanted), compute))


def _national_24_7_line(source: Source, query: HelpQuery, now: datetime) -> int | None:
    """Pick the country's best always-open national helpline, whatever the topic asked."""
    conditions = source.conditions(query, None, now)

    def compute() -> int:
        lines = source.area(
            CoverageScope.COUNTRY,
            "country",
            query.country.upper(),
            conditions,
            query.language,
            now,
            1,
            always_open_helpline=True,
        )
        return lines[0] if lines else 0

    # A national line does not depend on the subdivision: one entry per country serves them all.
    return int(_cached(source, _cache_key("line", replace(query, subdivision="")), compute)) or None


def _results(source: Source, ranked: list[Ranked], query: HelpQuery, language: str) -> tuple[HelpResult, ...]:
    ids = [candidate.service_id for candidate, *_ in ranked]
    contacts, topics = contacts_for(ids, query.country), source.topics(ids)
    return tuple(
        HelpResult(
            service_id=known.service_id,
            name=known.name,
            kind=known.kind,
            distance_km=round(candidate.distance_km, 1) if candidate.distance_km is not None else None,
            reason=reason(candidate, language, always_open),
            open_now=open_now,
            always_open=always_open,
            verification_state=known.verification_state,
            contacts=contacts.get(known.service_id, ()),
            topics=topics.get(known.service_id, ()),
            topic_match=not candidate.topic_backfill,
        )
        for candidate, known, open_now, always_open in ranked
    )
