"""Find the nearest help: the one search used by the API and the SMS gateway.

Candidates come from index-backed queries only, each capped in SQL:

- services with a location near the point (bounding box on the indexed latitude/longitude, then an
  equirectangular distance in SQL), widening ring by ring until enough are found;
- services whose radius coverage contains the point (same rings, on the coverage centre);
- services covering the point's subdivision, its country, or the whole world.

Python then ranks at most a few hundred candidates with exact (geodesic) distances, in this order:
topic match, coverage specificity (local, subdivision, national, worldwide), distance, open now,
language (offered in the asked language, not stated, not offered), verification (verified, pending,
unverified, stale), then name and id so equal scores are always ordered the same way. A 24/7 national
line is always part of the answer when the country has one.
"""

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Case, Exists, F, FloatField, IntegerField, OuterRef, Q, QuerySet, Value, When
from django.db.models.functions import Cast
from django.utils import timezone
from geopy.distance import geodesic

from directory.emergency import emergency_number
from directory.hours import is_open, weekly_hours_from_schedule
from directory.models import (
    ChannelKind,
    Coverage,
    CoverageScope,
    Location,
    Schedule,
    Service,
    ServiceKind,
    ServiceStatus,
    Topic,
    VerificationState,
)
from directory.regions import region_name

SUPPORTED_LANGUAGES = ("en", "fr", "es")

# How far a located service may be and still count as nearby; rings grow until enough are found.
LOCATED_RINGS_KM = (5.0, 30.0, 150.0)
# Radius coverage: how far a coverage centre may be from the point (the largest radius we honour).
COVERAGE_RINGS_KM = (10.0, 60.0, 300.0)
MAX_LIMIT = 50

KM_PER_DEGREE_LAT = 110.574
KM_PER_DEGREE_LON_AT_EQUATOR = 111.320

TIER_LOCAL, TIER_SUBDIVISION, TIER_NATIONAL, TIER_WORLDWIDE = 0, 1, 2, 3


@dataclass(frozen=True)
class HelpQuery:
    """What someone needs: a place (a point, or just a country) and optional preferences."""

    country: str
    latitude: float | None = None
    longitude: float | None = None
    subdivision: str = ""
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


_REASONS = {
    "en": {
        "km": "{km} km away",
        "near": "less than 1 km away",
        "covers": "covers {region}",
        "national": "national",
        "worldwide": "worldwide",
        "always": "24/7",
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

    services = _load(candidates.keys())
    results = _rank(query, language, now, candidates, services)
    if query.open_now:
        results = [result for result in results if result.open_now is not False]
    chosen = results[:limit]
    if national_line is not None and all(result.service_id != national_line for result in chosen):
        line = next((result for result in results if result.service_id == national_line), None)
        if line is not None:
            chosen = [*chosen[: limit - 1], line]
    return HelpAnswer(country=query.country, emergency_number=emergency_number(query.country), results=tuple(chosen))


def _topic_id(slug: str) -> int | None:
    return Topic.objects.filter(slug=slug).values_list("id", flat=True).first()


def _service_filter(query: HelpQuery, topic_id: int | None, now: datetime, prefix: str) -> Q:
    """Conditions on a service, for a queryset of Service (prefix "") or of a related model ("service__")."""
    condition = Q(**{f"{prefix}status": ServiceStatus.ACTIVE, f"{prefix}archived_at__isnull": True})
    if query.kinds:
        condition &= Q(**{f"{prefix}kind__in": query.kinds})
    if query.age is not None:
        condition &= Q(**{f"{prefix}min_age__isnull": True}) | Q(**{f"{prefix}min_age__lte": query.age})
        condition &= Q(**{f"{prefix}max_age__isnull": True}) | Q(**{f"{prefix}max_age__gte": query.age})
    if query.verified_only:
        condition &= Q(**{f"{prefix}verification_state": VerificationState.VERIFIED})
        condition &= Q(**{f"{prefix}review_due__isnull": True}) | Q(**{f"{prefix}review_due__gte": now})
    if topic_id is not None:
        service_ref = OuterRef(f"{prefix}pk") if prefix else OuterRef("pk")
        condition &= Q(Exists(Service.topics.through.objects.filter(service_id=service_ref, topic_id=topic_id)))
    return condition


def verification_rank(now: datetime, prefix: str = "") -> Case:
    """Order verified, pending, unverified, then stale (verified but overdue for review)."""
    return Case(
        When(**{f"{prefix}verification_state": VerificationState.VERIFIED, f"{prefix}review_due__lt": now}, then=3),
        When(**{f"{prefix}verification_state": VerificationState.VERIFIED}, then=0),
        When(**{f"{prefix}verification_state": VerificationState.PENDING}, then=1),
        When(**{f"{prefix}verification_state": VerificationState.UNVERIFIED}, then=2),
        default=3,
        output_field=IntegerField(),
    )


def _language_rank(language: str) -> Case:
    speaks = Exists(Service.languages.through.objects.filter(service_id=OuterRef("pk"), language__code=language))
    return Case(When(speaks, then=0), default=1, output_field=IntegerField())


def _gather(query: HelpQuery, topic_id: int | None, now: datetime, limit: int) -> dict[int, _Candidate]:
    per_source = max(3 * limit, 30)
    candidates: dict[int, _Candidate] = {}

    def add(service_id: int, tier: int, distance: float | None = None) -> None:
        current = candidates.get(service_id)
        if current is None or (tier, distance or 0.0) < (current.tier, current.distance_km or 0.0):
            candidates[service_id] = _Candidate(service_id, tier, distance)

    if query.latitude is not None and query.longitude is not None:
        point = (query.latitude, query.longitude)
        service_filter = _service_filter(query, topic_id, now, "service__")
        located = Location.objects.filter(service_filter)
        for service_id, lat, lon in nearest_points(located, point, LOCATED_RINGS_KM, per_source, None):
            add(service_id, TIER_LOCAL, _distance_km(point, (lat, lon)))
        radius = Coverage.objects.filter(service_filter, scope=CoverageScope.RADIUS)
        for service_id, lat, lon in nearest_points(radius, point, COVERAGE_RINGS_KM, per_source, "radius_km"):
            add(service_id, TIER_LOCAL, _distance_km(point, (lat, lon)))

    area_scopes = {
        TIER_WORLDWIDE: Q(scope=CoverageScope.WORLDWIDE),
        TIER_NATIONAL: Q(scope=CoverageScope.COUNTRY, country=query.country.upper()),
    }
    if query.subdivision:
        area_scopes[TIER_SUBDIVISION] = Q(scope=CoverageScope.SUBDIVISION, subdivision=query.subdivision.upper())
    covers = {tier: Exists(Coverage.objects.filter(q, service_id=OuterRef("pk"))) for tier, q in area_scopes.items()}
    # The most specific area wins; SQL orders like the final ranking, open-now aside (computed in Python).
    tier = Case(*(When(covers[t], then=t) for t in sorted(covers)), default=None, output_field=IntegerField())
    area = (
        Service.objects.filter(_service_filter(query, topic_id, now, ""))
        .annotate(tier=tier, vrank=verification_rank(now), lrank=_language_rank(query.language))
        .filter(tier__isnull=False)
        .order_by("tier", "lrank", "vrank", "id")
    )
    for service_id, service_tier in area.values_list("id", "tier")[: 3 * per_source]:
        add(service_id, service_tier)
    return candidates


def within_radius(rows: QuerySet[Any], point: tuple[float, float], radius_km: float) -> QuerySet[Any]:
    """Rows with latitude/longitude within ``radius_km`` of ``point``, annotated with ``d2`` (km squared).

    A bounding box on the indexed columns does the heavy lifting; the equirectangular distance in SQL is
    within 0.5% of the geodesic one at these ranges.
    """
    lat0, lon0 = point
    km_per_lon = max(KM_PER_DEGREE_LON_AT_EQUATOR * math.cos(math.radians(lat0)), 0.01)
    dlat, dlon = radius_km / KM_PER_DEGREE_LAT, radius_km / km_per_lon
    return _with_d2(rows, point).filter(
        latitude__range=(lat0 - dlat, lat0 + dlat),
        longitude__range=(lon0 - dlon, lon0 + dlon),
        d2__lte=radius_km * radius_km,
    )


def _with_d2(rows: QuerySet[Any], point: tuple[float, float]) -> QuerySet[Any]:
    lat0, lon0 = point
    km_per_lon = max(KM_PER_DEGREE_LON_AT_EQUATOR * math.cos(math.radians(lat0)), 0.01)
    dy = (F("latitude") - Value(lat0)) * Value(KM_PER_DEGREE_LAT)
    dx = (F("longitude") - Value(lon0)) * Value(km_per_lon)
    return rows.annotate(d2=Cast(dy * dy + dx * dx, FloatField()))


def nearest_points(
    rows: QuerySet[Any], point: tuple[float, float], rings: tuple[float, ...], wanted: int, radius_field: str | None
) -> list[tuple[int, float, float]]:
    """Return (service id, lat, lon) of the rows nearest ``point``, widening the search ring by ring.

    With ``radius_field``, a row only counts when the point lies within that row's own radius.
    """
    if radius_field is not None:
        rows = _with_d2(rows, point).filter(d2__lte=F(radius_field) * F(radius_field))
    found: dict[int, tuple[int, float, float]] = {}
    for ring in rings:
        ring_rows = within_radius(rows, point, ring).order_by("d2", "service_id")
        found = {}
        for service_id, lat, lon in ring_rows.values_list("service_id", "latitude", "longitude")[: 2 * wanted]:
            found.setdefault(service_id, (service_id, lat, lon))
        if len(found) >= wanted:
            break
    return list(found.values())[:wanted]


def _distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    return float(geodesic(a, b).km)


def _national_24_7_line(query: HelpQuery, now: datetime) -> int | None:
    """Pick the country's best always-open national helpline, whatever the topic asked."""
    lines = (
        Service.objects.filter(
            _service_filter(query, None, now, ""),
            Exists(
                Coverage.objects.filter(
                    service_id=OuterRef("pk"), scope=CoverageScope.COUNTRY, country=query.country.upper()
                )
            ),
            Exists(Schedule.objects.filter(service_id=OuterRef("pk"), always_open=True)),
            kind=ServiceKind.HELPLINE,
        )
        .annotate(vrank=verification_rank(now), lrank=_language_rank(query.language))
        .order_by("lrank", "vrank", "id")
    )
    return lines.values_list("id", flat=True).first()


def _load(service_ids: Any) -> dict[int, Service]:
    services = Service.objects.filter(id__in=list(service_ids)).prefetch_related(
        "channels", "topics", "languages", "schedules__intervals"
    )
    return {service.id: service for service in services}


def effective_verification(service: Service, now: datetime) -> str:
    if (
        service.verification_state == VerificationState.VERIFIED
        and service.review_due is not None
        and service.review_due < now
    ):
        return VerificationState.STALE
    return service.verification_state


_VERIFICATION_RANK = {
    VerificationState.VERIFIED: 0,
    VerificationState.PENDING: 1,
    VerificationState.UNVERIFIED: 2,
    VerificationState.STALE: 3,
}


def service_open_now(service: Service, now: datetime) -> tuple[bool | None, bool]:
    """Return (open now, always open) from prefetched schedules; (None, False) when hours are unknown."""
    schedules = list(service.schedules.all())
    if not schedules:
        return None, False
    own = [schedule for schedule in schedules if schedule.channel_id is None]
    relevant = own or schedules
    states = [is_open(weekly_hours_from_schedule(schedule), now) for schedule in relevant]
    always = any(schedule.always_open for schedule in relevant)
    return any(states), always


def contacts_of(service: Service) -> tuple[Contact, ...]:
    channels = sorted(
        service.channels.all(),
        key=lambda channel: (
            not (channel.kind == ChannelKind.PHONE and channel.is_primary),
            channel.position,
            channel.id,
        ),
    )
    return tuple(
        Contact(
            kind=channel.kind,
            value=channel.value,
            display=channel.display or channel.value,
            sms_keyword=channel.sms_keyword,
            label=channel.label,
        )
        for channel in channels
    )


def _reason(candidate: _Candidate, service: Service, language: str, always_open: bool, subdivision: str) -> str:
    words = _REASONS[language]
    if candidate.tier == TIER_LOCAL and candidate.distance_km is not None:
        if candidate.distance_km < 1:
            return words["near"]
        return words["km"].format(km=round(candidate.distance_km))
    if candidate.tier == TIER_SUBDIVISION:
        text = words["covers"].format(region=region_name(subdivision))
    elif candidate.tier == TIER_NATIONAL:
        text = words["national"]
    else:
        text = words["worldwide"]
    return f"{text}, {words['always']}" if always_open else text


def _rank(
    query: HelpQuery,
    language: str,
    now: datetime,
    candidates: dict[int, _Candidate],
    services: dict[int, Service],
) -> list[HelpResult]:
    keyed: list[tuple[tuple[Any, ...], HelpResult]] = []
    for service_id, candidate in candidates.items():
        service = services.get(service_id)
        if service is None:
            continue
        open_now, always_open = service_open_now(service, now)
        spoken = {lang.code for lang in service.languages.all()}
        verification = effective_verification(service, now)
        key = (
            candidate.topic_backfill,
            candidate.tier,
            round(candidate.distance_km, 3) if candidate.distance_km is not None else 0.0,
            {True: 0, None: 1, False: 2}[open_now],
            0 if query.language in spoken else (2 if spoken else 1),
            _VERIFICATION_RANK.get(VerificationState(verification), 3),
            service.localized("name", language).casefold(),
            service.id,
        )
        result = HelpResult(
            service_id=service.id,
            name=service.localized("name", language),
            kind=service.kind,
            distance_km=round(candidate.distance_km, 1) if candidate.distance_km is not None else None,
            reason=_reason(candidate, service, language, always_open, query.subdivision),
            open_now=open_now,
            always_open=always_open,
            verification_state=verification,
            contacts=contacts_of(service),
            topics=tuple(topic.slug for topic in service.topics.all()),
        )
        keyed.append((key, result))
    keyed.sort(key=lambda pair: pair[0])
    return [result for _, result in keyed]
