import json
from dataclasses import replace

import pytest

from directory.search import find_help
from directory.serializers import NearestQuerySerializer, NearestResponseSerializer
from directory.views import nearest_query
from tests import builders

pytestmark = pytest.mark.django_db

NEAREST = "/api/v1/nearest/"
REGINA = (50.4480, -104.6054)


@pytest.fixture
def postcodes():
    builders.postcodes("CA S4P", "CA M5V", "GB SW1A", "AU 2000", "NZ 2000")


@pytest.fixture
def listings(postcodes):
    builders.service("National Example Line", country="CA", always_open=True, phone="+13065550100")
    builders.service("Provincial Example Unit", kind="police", subdivision="CA-SK", topics=("sextortion",))
    builders.service("Regina Example Police", kind="police", country="CA", point=REGINA, phone="+13065550102")
    builders.service("Toronto Example Police", kind="police", country="CA", point=(43.6426, -79.3871))


def test_a_postcode_gives_ranked_help_with_reasons_and_the_emergency_number(api, listings):
    response = api.get(NEAREST, {"postcode": "s4p 3y2"})
    assert response.status_code == 200
    body = response.json()
    assert body["query"]["country"] == "CA"
    assert body["query"]["postcode"] == "S4P"
    assert body["query"]["subdivision"] == "CA-SK"
    assert body["emergency_number"] == "911"
    rows = [(r["name"], r["reason"]) for r in body["results"]]
    assert rows == [
        ("Regina Example Police", "less than 1 km away"),
        ("Provincial Example Unit", "covers Saskatchewan"),
        ("National Example Line", "national, 24/7"),
    ]
    first = body["results"][0]
    assert first["distance_km"] == pytest.approx(0.0, abs=1)
    assert first["contacts"][0]["value"] == "+13065550102"
    assert first["url"].endswith(f"/api/v1/services/{first['id']}/")


def test_a_point_works_like_a_postcode(api, listings):
    response = api.get(NEAREST, {"lat": 43.64, "lon": -79.39, "country": "CA"})
    assert response.json()["results"][0]["name"] == "Toronto Example Police"


def test_a_country_alone_gives_national_help(api, listings):
    names = [r["name"] for r in api.get(NEAREST, {"country": "CA"}).json()["results"]]
    assert names == ["National Example Line"]


def test_topic_and_french_answers(api, listings):
    body = api.get(NEAREST, {"postcode": "S4P3Y2", "topic": "sextortion", "lang": "fr"}).json()
    assert body["results"][0]["name"] == "Provincial Example Unit"
    assert body["results"][0]["reason"] == "couvre Saskatchewan"


def test_the_reply_language_and_the_preferred_service_language_are_separate(api, listings):
    builders.service("Ligne Exemple", country="CA", languages=("de",), always_open=True, phone="+13065550103")
    body = api.get(NEAREST, {"postcode": "S4P3Y2", "language": "de", "lang": "fr"}).json()
    reasons = [result["reason"] for result in body["results"]]
    assert "à moins de 1 km" in reasons
    assert not any("km away" in reason for reason in reasons)
    national = [result["name"] for result in body["results"] if result["reason"].startswith("national")]
    assert national[0] == "Ligne Exemple"  # offered in German, so ranked first among the national lines


def test_an_ambiguous_postcode_asks_for_the_country(api, listings):
    response = api.get(NEAREST, {"postcode": "2000"})
    assert response.status_code == 400
    assert "country" in response.json()
    assert api.get(NEAREST, {"postcode": "2000", "country": "AU"}).json()["emergency_number"] == "000"


def test_an_unknown_postcode_is_a_404_with_a_message(api, listings):
    response = api.get(NEAREST, {"postcode": "ZE9", "country": "GB"})
    assert response.status_code == 404
    assert "not in the United Kingdom table" in response.json()["detail"]


def test_a_postcode_of_the_wrong_country_is_a_400(api, listings):
    response = api.get(NEAREST, {"postcode": "SW1A 1AA", "country": "CA"})
    assert response.status_code == 400
    assert "is not a Canada postcode" in response.json()["postcode"][0]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "postcode"),
        ({"postcode": "hello"}, "postcode"),
        ({"postcode": "x" * 40}, "postcode"),
        ({"lat": 91, "lon": 0, "country": "CA"}, "lat"),
        ({"lat": 50, "lon": 181, "country": "CA"}, "lon"),
        ({"lat": "north", "lon": 0, "country": "CA"}, "lat"),
        ({"lat": 50, "country": "CA"}, "lon"),
        ({"lat": 50, "lon": -104}, "country"),
        ({"lat": "nan", "lon": -104, "country": "CA"}, "lat"),
        ({"postcode": "S4P", "lat": 50, "lon": -104}, "postcode"),
        ({"country": "XX"}, "country"),
        ({"postcode": "S4P", "country": "ZA"}, "country"),
        ({"country": "CA", "limit": 0}, "limit"),
        ({"country": "CA", "limit": 51}, "limit"),
        ({"country": "CA", "limit": "ten"}, "limit"),
        ({"country": "CA", "topic": "nothing"}, "topic"),
        ({"country": "CA", "kind": "shop"}, "kind"),
        ({"country": "CA", "language": "klingon"}, "language"),
        ({"country": "CA", "age": -3}, "age"),
        ({"country": "CA", "open_now": "perhaps"}, "open_now"),
        ({"country": "CA", "verified": "no"}, "verified"),
        ({"country": "CA", "lang": "xx"}, "lang"),
    ],
)
def test_bad_nearest_parameters_get_a_400_naming_the_parameter(api, listings, params, field):
    response = api.get(NEAREST, params)
    assert response.status_code == 400, response.content
    assert response.json()[field]


def test_the_nearest_query_count_is_bounded(api, listings, django_assert_max_num_queries):
    # postcode + topic (twice: the parameter, then the search) + 2 x (at most 6 located rings + 6
    # coverage rings + 2 for each of 3 area tiers) when the topic needs backfilling + 2 for the 24/7
    # line + 4 for ranking facts + 2 for contacts and topics; none of it grows with the data.
    with django_assert_max_num_queries(47):
        assert api.get(NEAREST, {"postcode": "S4P3Y2", "topic": "sextortion"}).status_code == 200


def test_the_postcode_endpoint_gives_the_centroid_and_region(api, postcodes):
    body = api.get("/api/v1/postcodes/gb/sw1a1aa/").json()
    assert body["code"] == "SW1A"
    assert body["subdivision"] == "GB-ENG"
    assert body["subdivision_name"] == "England"
    assert 51.4 < body["latitude"] < 51.6


@pytest.mark.parametrize(
    ("path", "field", "message"),
    [
        ("/api/v1/postcodes/ZZ/1234/", "country", "is not an ISO 3166-1"),
        ("/api/v1/postcodes/ZA/0001/", "country", "No postcode table for ZA"),
        ("/api/v1/postcodes/CA/12345/", "postcode", "is not a Canada postcode"),
    ],
)
def test_the_postcode_endpoint_answers_an_unreadable_postcode_with_a_400(api, postcodes, path, field, message):
    response = api.get(path)
    assert response.status_code == 400
    assert message in response.json()[field][0]


def test_the_postcode_endpoint_answers_a_well_formed_postcode_missing_from_the_table_with_a_404(api, postcodes):
    response = api.get("/api/v1/postcodes/GB/ZE9/")
    assert response.status_code == 404
    assert "not in the United Kingdom table" in response.json()["detail"]


def test_services_near_a_postcode_are_ordered_by_distance(api, listings):
    builders.service("Moose Jaw Example Police", kind="police", country="CA", point=(50.3933, -105.5519))
    response = api.get("/api/v1/services/", {"postcode": "S4P 3Y2", "radius_km": 100})
    rows = [(r["name"], r["distance_km"]) for r in response.json()["results"]]
    assert [name for name, _ in rows] == ["Regina Example Police", "Moose Jaw Example Police"]
    assert rows[1][1] == pytest.approx(67.5, abs=1)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"near": "50.4"}, "near"),
        ({"near": "95,10"}, "near"),
        ({"near": "a,b"}, "near"),
        ({"radius_km": 10}, "radius_km"),
        ({"near": "50,-104", "radius_km": 0}, "radius_km"),
        ({"near": "50,-104", "radius_km": 5000}, "radius_km"),
        ({"postcode": "Z9Z9Z9"}, "postcode"),
        ({"postcode": "2000"}, "country"),
        ({"near": "50,-104", "postcode": "S4P"}, "postcode"),
    ],
)
def test_bad_near_filters_get_a_400_naming_the_parameter(api, listings, params, field):
    response = api.get("/api/v1/services/", params)
    assert response.status_code == 400, response.content
    assert response.json()[field]


def test_the_about_page_credits_the_data_sources(api):
    body = api.get("/api/v1/about/").json()
    attributions = " ".join(source["attribution"] for source in body["data_sources"])
    assert "GeoNames" in attributions
    assert "Royal Mail" in attributions
    assert "La Poste" in attributions


@pytest.mark.parametrize(
    "params",
    [{"postcode": "S4P 3Y2", "topic": "sextortion"}, {"lat": 43.64, "lon": -79.39, "country": "CA"}, {"country": "CA"}],
)
def test_the_answer_has_exactly_the_documented_shape(api, listings, params):
    # The view builds its body directly; the response serializer documents it in the OpenAPI schema.
    response = api.get(NEAREST, params)
    query = NearestQuerySerializer(data=params)
    assert query.is_valid(), query.errors
    search, resolved = nearest_query(query.validated_data)
    answer = find_help(replace(search, language="en"))
    body = {"query": resolved, "emergency_number": answer.emergency_number, "results": answer.results}
    documented = NearestResponseSerializer(body, context={"request": response.wsgi_request}).data
    assert response.json() == json.loads(json.dumps(documented))
    assert response.json()["results"]
