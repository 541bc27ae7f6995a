from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from directory.models import VerificationState
from directory.search import HelpQuery, find_help
from tests import builders

pytestmark = pytest.mark.django_db

REGINA = (50.4480, -104.6054)
MOOSE_JAW = (50.3933, -105.5519)
# A Wednesday, 15:00 in Regina (UTC-6 all year).
WEDNESDAY_AFTERNOON = datetime(2026, 11, 18, 15, 0, tzinfo=ZoneInfo("America/Regina"))


def regina(**overrides) -> HelpQuery:
    fields = {"country": "CA", "latitude": REGINA[0], "longitude": REGINA[1], "subdivision": "CA-SK"}
    return HelpQuery(**{**fields, **overrides})


def names(answer) -> list[str]:
    return [result.name for result in answer.results]


@pytest.fixture
def prairie():
    builders.service("National Example Line", country="CA", always_open=True, phone="+13065550100")
    builders.service("Provincial Example Unit", kind="police", subdivision="CA-SK")
    builders.service("Regina Example Police", kind="police", country="CA", point=REGINA, phone="+13065550102")
    builders.service("Moose Jaw Example Police", kind="police", country="CA", point=MOOSE_JAW)
    builders.service("Ontario Example Unit", kind="police", subdivision="CA-ON")
    builders.service("UK Example Line", country="GB", always_open=True)
    builders.service("Worldwide Example Takedown", kind="reporting", worldwide=True)


def test_local_comes_before_provincial_before_national_before_worldwide(prairie):
    answer = find_help(regina(), now=WEDNESDAY_AFTERNOON)
    assert names(answer) == [
        "Regina Example Police",
        "Moose Jaw Example Police",
        "Provincial Example Unit",
        "National Example Line",
        "Worldwide Example Takedown",
    ]
    assert answer.emergency_number == "911"


def test_each_result_says_why_it_is_listed(prairie):
    reasons = {r.name: (r.reason, r.distance_km) for r in find_help(regina(), now=WEDNESDAY_AFTERNOON).results}
    assert reasons["Regina Example Police"] == ("less than 1 km away", 0.0)
    assert reasons["Moose Jaw Example Police"] == ("68 km away", 67.5)
    assert reasons["Provincial Example Unit"] == ("covers Saskatchewan", None)
    assert reasons["National Example Line"] == ("national, 24/7", None)
    assert reasons["Worldwide Example Takedown"] == ("worldwide", None)


def test_reasons_follow_the_query_language(prairie):
    reasons = {r.name: r.reason for r in find_help(regina(language="fr"), now=WEDNESDAY_AFTERNOON).results}
    assert reasons["Provincial Example Unit"] == "couvre Saskatchewan"
    assert reasons["National Example Line"] == "national, 24/7"


def test_far_away_located_services_are_not_nearby(prairie):
    builders.service("Saskatoon Example Police", kind="police", country="CA", point=(52.1332, -106.67))
    assert "Saskatoon Example Police" not in names(find_help(regina(), now=WEDNESDAY_AFTERNOON))


def test_a_radius_coverage_counts_only_when_the_point_is_inside_it():
    builders.service("Wide Example Unit", kind="police", country="CA", point=(50.0, -104.0), radius_km=100)
    builders.service("Narrow Example Unit", kind="police", country="CA", point=(50.0, -104.0), radius_km=5)
    found = names(find_help(regina(kinds=("police",)), now=WEDNESDAY_AFTERNOON))
    assert "Wide Example Unit" in found
    assert "Narrow Example Unit" not in found


def test_a_pending_listing_comes_after_an_otherwise_equal_verified_one_and_says_so(prairie):
    builders.service("Pending Regina Example", kind="police", country="CA", point=REGINA, state="pending")
    results = find_help(regina(), now=WEDNESDAY_AFTERNOON).results
    assert [(r.name, r.verification_state) for r in results[:2]] == [
        ("Regina Example Police", "verified"),
        ("Pending Regina Example", "pending"),
    ]


def test_open_services_come_before_closed_ones_in_the_same_area():
    builders.service("Closed Example Line", country="CA", hours=((0, time(9), time(10)),), timezone="America/Regina")
    builders.service("Always Example Line", country="CA", always_open=True, state="pending")
    assert names(find_help(regina(), now=WEDNESDAY_AFTERNOON)) == ["Always Example Line", "Closed Example Line"]


def test_verified_only_leaves_pending_listings_out(prairie):
    builders.service("Pending Regina Example", country="CA", point=REGINA, state=VerificationState.PENDING)
    assert "Pending Regina Example" not in names(find_help(regina(verified_only=True), now=WEDNESDAY_AFTERNOON))


def test_a_topic_puts_matching_services_first_and_backfills_with_the_rest(prairie):
    builders.service("Sextortion Example Line", country="CA", topics=("sextortion",))
    found = names(find_help(regina(topic="sextortion"), now=WEDNESDAY_AFTERNOON))
    assert found[0] == "Sextortion Example Line"
    assert "Regina Example Police" in found


def test_the_national_24_7_line_is_always_included_even_when_the_list_is_full(prairie):
    for number in range(6):
        builders.service(f"Regina Extra Example {number}", country="CA", point=REGINA)
    answer = find_help(regina(limit=3), now=WEDNESDAY_AFTERNOON)
    assert len(answer.results) == 3
    assert answer.results[-1].name == "National Example Line"
    assert answer.results[-1].always_open is True


def test_a_country_alone_gives_national_and_worldwide_help(prairie):
    answer = find_help(HelpQuery(country="GB"), now=WEDNESDAY_AFTERNOON)
    assert names(answer) == ["UK Example Line", "Worldwide Example Takedown"]
    assert answer.emergency_number == "999"


def test_services_in_the_asked_language_are_preferred():
    builders.service("English Example Line", country="CA", languages=("en",))
    builders.service("Bilingual Example Line", country="CA", languages=("en", "fr"))
    builders.service("Unstated Example Line", country="CA")
    found = names(find_help(regina(language="fr"), now=WEDNESDAY_AFTERNOON))
    assert found == ["Bilingual Example Line", "Unstated Example Line", "English Example Line"]


def test_open_now_drops_services_known_to_be_closed_and_keeps_unknown_hours():
    weekday_mornings = tuple((day, time(9), time(12)) for day in range(5))
    builders.service("Morning Example Line", country="CA", hours=weekday_mornings, timezone="America/Regina")
    builders.service(
        "Afternoon Example Line", country="CA", hours=((2, time(14), time(18)),), timezone="America/Regina"
    )
    builders.service("Unstated Example Line", country="CA")
    answer = find_help(regina(open_now=True), now=WEDNESDAY_AFTERNOON)
    assert names(answer) == ["Afternoon Example Line", "Unstated Example Line"]
    assert [r.open_now for r in answer.results] == [True, None]


def test_kind_and_age_filters_apply():
    builders.service("Teen Example Line", country="CA", min_age=12, max_age=19)
    builders.service("Adult Example Line", country="CA", min_age=18)
    builders.service("Example Police", kind="police", country="CA")
    assert names(find_help(regina(age=15), now=WEDNESDAY_AFTERNOON)) == ["Example Police", "Teen Example Line"]
    assert names(find_help(regina(kinds=("police",)), now=WEDNESDAY_AFTERNOON)) == ["Example Police"]


def test_equal_scores_are_ordered_by_name_then_id():
    for name in ("Charlie Example", "Alpha Example", "Bravo Example"):
        builders.service(name, country="CA")
    assert names(find_help(regina(), now=WEDNESDAY_AFTERNOON)) == ["Alpha Example", "Bravo Example", "Charlie Example"]


def test_archived_and_defunct_listings_never_appear(prairie):
    from django.utils import timezone

    from directory.models import Service

    Service.objects.filter(name="Regina Example Police").update(archived_at=timezone.now())
    Service.objects.filter(name="Provincial Example Unit").update(status="defunct")
    found = names(find_help(regina(), now=WEDNESDAY_AFTERNOON))
    assert "Regina Example Police" not in found
    assert "Provincial Example Unit" not in found


def test_the_search_runs_a_bounded_number_of_queries(prairie, django_assert_max_num_queries):
    for number in range(20):
        builders.service(f"Regina Extra Example {number}", country="CA", point=REGINA, topics=("sextortion",))
    with django_assert_max_num_queries(17):
        find_help(regina(topic="sextortion"), now=WEDNESDAY_AFTERNOON)
