from datetime import timedelta

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from directory.models import Service, VerificationState
from tests import builders

pytestmark = pytest.mark.django_db

SERVICES = "/api/v1/services/"


@pytest.fixture
def listings() -> dict[str, Service]:
    kids = builders.service(
        "Kids Line Example",
        country="CA",
        topics=("emotional_support", "sextortion"),
        languages=("en", "fr"),
        phone="+13065550101",
        sms="555010",
        sms_keyword="CONNECT",
        always_open=True,
        min_age=5,
        max_age=25,
        translations={"fr": {"name": "Ligne Jeunes Exemple"}},
    )
    police = builders.service(
        "Regina Example Police",
        kind="police",
        country="CA",
        subdivision="CA-SK",
        point=(50.4480, -104.6054),
        topics=("police_reporting",),
        phone="+13065550102",
    )
    pending = builders.service(
        "Pending Example Line", country="CA", topics=("sextortion",), state=VerificationState.PENDING
    )
    uk = builders.service("UK Example Line", country="GB", topics=("emotional_support",), phone="+447700900123")
    world = builders.service("Worldwide Example Takedown", kind="reporting", worldwide=True, topics=("image_removal",))
    return {"kids": kids, "police": police, "pending": pending, "uk": uk, "world": world}


def names(response) -> list[str]:
    return [row["name"] for row in response.json()["results"]]


def test_it_lists_verified_services_in_a_stable_order_by_default(api, listings):
    response = api.get(SERVICES)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 4
    assert names(response) == [
        "Kids Line Example",
        "Regina Example Police",
        "UK Example Line",
        "Worldwide Example Takedown",
    ]
    assert set(body) == {"count", "next", "previous", "results"}


def test_verified_any_includes_pending_listings_and_says_so(api, listings):
    response = api.get(SERVICES, {"verified": "any"})
    rows = {row["name"]: row for row in response.json()["results"]}
    assert rows["Pending Example Line"]["verification_state"] == "pending"
    assert api.get(SERVICES, {"verified": "false"}).json()["count"] == 1


def test_a_verified_listing_overdue_for_review_is_shown_as_stale_and_left_out_by_default(api, listings):
    Service.objects.filter(pk=listings["uk"].pk).update(review_due=timezone.now() - timedelta(days=1))
    assert "UK Example Line" not in names(api.get(SERVICES))
    rows = {row["name"]: row for row in api.get(SERVICES, {"verified": "any"}).json()["results"]}
    assert rows["UK Example Line"]["verification_state"] == "stale"


def test_country_filter_lists_services_serving_that_country_including_worldwide_ones(api, listings):
    assert names(api.get(SERVICES, {"country": "ca"})) == [
        "Kids Line Example",
        "Regina Example Police",
        "Worldwide Example Takedown",
    ]


@override_settings(READ_MODEL=False)
def test_country_and_kind_filters_read_one_id_set_and_need_no_distinct(api, listings):
    # A listing both located in and covering the country is listed once, from one IN over a UNION:
    # PostgreSQL cannot hash an OR of two large IN sets, and DISTINCT over every column cost seconds.
    builders.service("Both Example Unit", kind="police", country="CA", point=(50.45, -104.61))
    Service.objects.get(name="Both Example Unit").coverage.create(scope="country", country="CA")
    with CaptureQueriesContext(connection) as queries:
        body = api.get(SERVICES, {"country": "CA", "kind": "police"}).json()
    assert [row["name"] for row in body["results"]] == ["Both Example Unit", "Regina Example Police"]
    assert body["count"] == 2
    listing_queries = [q["sql"] for q in queries.captured_queries if '"directory_coverage"' in q["sql"]]
    assert listing_queries
    for sql in listing_queries[:2]:
        assert " UNION " in sql
        assert "DISTINCT" not in sql


def test_region_filter_includes_provincial_national_and_worldwide_services(api, listings):
    assert names(api.get(SERVICES, {"region": "CA-SK"})) == [
        "Kids Line Example",
        "Regina Example Police",
        "Worldwide Example Takedown",
    ]
    assert names(api.get(SERVICES, {"region": "CA-ON"})) == ["Kids Line Example", "Worldwide Example Takedown"]


def test_topic_kind_language_channel_and_age_filters_narrow_the_list(api, listings):
    assert names(api.get(SERVICES, {"topic": "sextortion"})) == ["Kids Line Example"]
    assert names(api.get(SERVICES, {"kind": "police"})) == ["Regina Example Police"]
    assert names(api.get(SERVICES, {"kind": ["police", "reporting"]})) == [
        "Regina Example Police",
        "Worldwide Example Takedown",
    ]
    assert names(api.get(SERVICES, {"language": "fr"})) == ["Kids Line Example"]
    assert names(api.get(SERVICES, {"channel": "sms"})) == ["Kids Line Example"]
    assert "Kids Line Example" not in names(api.get(SERVICES, {"age": 40}))
    assert "Kids Line Example" in names(api.get(SERVICES, {"age": 15}))


def test_text_search_matches_every_word(api, listings):
    assert names(api.get(SERVICES, {"q": "regina police"})) == ["Regina Example Police"]
    assert names(api.get(SERVICES, {"q": "regina kids"})) == []


def test_modified_after_filters_on_the_last_change(api, listings):
    Service.objects.filter(pk=listings["uk"].pk).update(updated_at=timezone.now() + timedelta(days=2))
    after = (timezone.now() + timedelta(days=1)).isoformat()
    assert names(api.get(SERVICES, {"modified_after": after})) == ["UK Example Line"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"kind": "shop"}, "kind"),
        ({"topic": "no-such-topic"}, "topic"),
        ({"language": "xx"}, "language"),
        ({"country": "XX"}, "country"),
        ({"country": "Canada"}, "country"),
        ({"country": "%s"}, "country"),
        ({"country": "%(x)s"}, "country"),
        ({"region": "%"}, "region"),
        ({"region": "CA-XX"}, "region"),
        ({"region": "SK"}, "region"),
        ({"channel": "pigeon"}, "channel"),
        ({"age": "old"}, "age"),
        ({"age": "-1"}, "age"),
        ({"age": "15.5"}, "age"),
        ({"age": "500"}, "age"),
        ({"verified": "maybe"}, "verified"),
        ({"modified_after": "yesterday"}, "modified_after"),
        ({"q": "x" * 201}, "q"),
        ({"page": "abc"}, "page"),
        ({"page": "0"}, "page"),
        ({"page_size": "1000"}, "page_size"),
        ({"lang": "it"}, "lang"),
    ],
)
def test_bad_list_parameters_get_a_400_naming_the_parameter(api, listings, params, field):
    response = api.get(SERVICES, params)
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert response.json()[field]


def test_a_page_past_the_end_is_a_404_with_a_message(api, listings):
    response = api.get(SERVICES, {"page": 99})
    assert response.status_code == 404
    assert response.json()["detail"]


def test_the_list_answers_in_french_when_asked(api, listings):
    assert "Ligne Jeunes Exemple" in names(api.get(SERVICES, {"lang": "fr"}))
    response = api.get(SERVICES, headers={"Accept-Language": "fr-CA,fr;q=0.9,en;q=0.5"})
    assert "Ligne Jeunes Exemple" in names(response)
    assert "Kids Line Example" in names(api.get(SERVICES, {"lang": "es"}))


def test_the_list_query_count_does_not_grow_with_the_number_of_listings(api, listings, django_assert_max_num_queries):
    for number in range(15):
        builders.service(f"Extra Example {number:02}", country="CA", topics=("sextortion",), phone="+13065550199")
    api.get(SERVICES)  # the process's read model catches up with the new listings
    with django_assert_max_num_queries(8):
        response = api.get(SERVICES, {"country": "CA", "topic": "sextortion"})
    assert response.json()["count"] == 16


def test_the_detail_shows_channels_hours_coverage_and_evidence(api, listings):
    response = api.get(f"{SERVICES}{listings['kids'].pk}/")
    assert response.status_code == 200
    body = response.json()
    assert body["channels"][0] == {
        "kind": "phone",
        "value": "+13065550101",
        "display": "",
        "extension": "",
        "sms_keyword": "",
        "label": "",
        "is_primary": True,
        "hours": None,
    }
    assert body["channels"][1]["sms_keyword"] == "CONNECT"
    assert body["hours"]["always_open"] is True
    assert body["open_now"] is True
    assert body["coverage"] == [
        {
            "scope": "country",
            "country": "CA",
            "subdivision": "",
            "latitude": None,
            "longitude": None,
            "radius_km": None,
            "name": "Canada",
        }
    ]
    assert body["verification"]["state"] == "verified"
    assert body["verification"]["evidence_url"] == "https://example.org/source"
    assert (body["min_age"], body["max_age"]) == (5, 25)


def test_the_detail_query_count_is_bounded(api, listings, django_assert_max_num_queries):
    with django_assert_max_num_queries(10):
        assert api.get(f"{SERVICES}{listings['police'].pk}/").status_code == 200


def test_unknown_and_malformed_ids_are_404(api, listings):
    assert api.get(f"{SERVICES}999999/").status_code == 404
    assert api.get(f"{SERVICES}abc/").status_code == 404
    assert api.get(f"{SERVICES}99999999999999999999999/").status_code == 404


def test_an_archived_listing_is_gone_from_list_and_detail(api, listings):
    Service.objects.filter(pk=listings["uk"].pk).update(archived_at=timezone.now())
    assert "UK Example Line" not in names(api.get(SERVICES, {"verified": "any"}))
    assert api.get(f"{SERVICES}{listings['uk'].pk}/").status_code == 404
