"""The search's fast paths give the same answers as the plain computation they replace."""

import random
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from geopy.distance import geodesic

from directory.models import CoverageScope, Service, VerificationState
from directory.search import HelpQuery, area_services, find_help, service_conditions
from directory.search.ranking import distance_km as _distance_km
from tests import builders

REGINA = (50.4480, -104.6054)
WEDNESDAY_AFTERNOON = datetime(2026, 11, 18, 15, 0, tzinfo=ZoneInfo("America/Regina"))
SUNDAY_NIGHT = datetime(2026, 11, 22, 3, 0, tzinfo=ZoneInfo("America/Regina"))


def test_distances_are_geopys_geodesic_to_the_micrometre():
    # Ranking compares distances rounded to the metre; PROJ and GeographicLib differ by nanometres.
    rng = random.Random(11)
    for spread in (3, 180):
        for _ in range(2000):
            a = (rng.uniform(-89, 89), rng.uniform(-180, 180))
            b = (max(-90.0, min(90.0, a[0] + rng.uniform(-spread, spread))), a[1] + rng.uniform(-spread, spread))
            assert _distance_km(a, b) == pytest.approx(geodesic(a, b).km, abs=1e-9)
    assert _distance_km(REGINA, REGINA) == 0.0


def _expected_order(language: str, now: datetime) -> list[int]:
    vrank = {VerificationState.VERIFIED: 0, VerificationState.PENDING: 1, VerificationState.UNVERIFIED: 2}
    keyed = []
    for service in Service.objects.filter(coverage__scope=CoverageScope.SUBDIVISION, coverage__subdivision="CA-SK"):
        stale = service.review_due is not None and service.review_due < now
        state = 3 if stale else vrank.get(VerificationState(service.verification_state), 3)
        speaks = service.languages.filter(code=language).exists()
        keyed.append(((0 if speaks else 1, state, service.id), service.id))
    return [service_id for _, service_id in sorted(keyed)]


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["fr", "en", "es"])
def test_an_areas_services_come_in_ranking_order_however_few_are_asked_for(language):
    now = WEDNESDAY_AFTERNOON
    states = [VerificationState.VERIFIED, VerificationState.PENDING, VerificationState.UNVERIFIED, "overdue"]
    spoken = [("fr",), ("en",), (), ("en", "fr")]
    for number in range(16):
        state, languages = states[number % 4], spoken[(number // 4) % 4]
        service = builders.service(
            f"Provincial Example {number}",
            subdivision="CA-SK",
            languages=languages,
            state=VerificationState.VERIFIED if state == "overdue" else state,
        )
        if state == "overdue":
            Service.objects.filter(pk=service.pk).update(review_due=now - timedelta(days=1))
    builders.service("Ontario Example", subdivision="CA-ON", languages=("fr",))
    expected = _expected_order(language, now)
    conditions = service_conditions(HelpQuery(country="CA"), None, now)
    for wanted in range(1, 18):
        found = area_services(CoverageScope.SUBDIVISION, "subdivision", "CA-SK", conditions, language, now, wanted)
        assert found == expected[:wanted]


@pytest.mark.django_db
def test_closed_local_services_leave_room_for_open_area_wide_ones_when_only_open_ones_are_asked_for():
    weekdays = tuple((day, time(9), time(17)) for day in range(5))
    for number in range(12):
        builders.service(
            f"Regina Example Office {number}", country="CA", point=REGINA, hours=weekdays, timezone="America/Regina"
        )
    builders.service("Provincial Example Line", subdivision="CA-SK", always_open=True)
    query = HelpQuery(country="CA", latitude=REGINA[0], longitude=REGINA[1], subdivision="CA-SK", limit=10)

    during_office_hours = [result.name for result in find_help(query, now=WEDNESDAY_AFTERNOON).results]
    assert len(during_office_hours) == 10
    assert all(name.startswith("Regina Example Office") for name in during_office_hours)

    at_night = find_help(HelpQuery(**{**query.__dict__, "open_now": True}), now=SUNDAY_NIGHT).results
    assert [result.name for result in at_night] == ["Provincial Example Line"]
