"""The HSDS 3.0 API under /hsds/: every answer validates against the official schemas, parameters combine."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from jsonschema import Draft202012Validator
from rest_framework.test import APIClient

from directory import hsds
from directory.models import Service
from tests import builders, hsds_listings
from tests.openapi_client import ValidatingAPIClient

pytestmark = pytest.mark.django_db

PAGE_SCHEMA = Draft202012Validator(hsds_listings.OPENAPI["components"]["schemas"]["Page"])
ROOT_SCHEMA = Draft202012Validator(
    hsds_listings.OPENAPI["paths"]["/"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
)


@pytest.fixture
def api() -> APIClient:
    return ValidatingAPIClient()


@pytest.fixture
def listings() -> dict[str, Service]:
    builders.postcodes("CA S4P", "CA S7K")
    return hsds_listings.build()


def valid(record: dict, schema: str) -> dict:
    errors = hsds.schema_errors(record, schema)
    assert errors == [], errors
    return record


def a_page(response, item_schema: str) -> dict:
    assert response.status_code == 200, response.content
    body = response.json()
    assert list(PAGE_SCHEMA.iter_errors(body)) == []
    assert set(body) == {
        "total_items",
        "total_pages",
        "page_number",
        "size",
        "first_page",
        "last_page",
        "empty",
        "contents",
    }
    for item in body["contents"]:
        valid(item, item_schema)
    return body


def names(body: dict) -> list[str]:
    return [item["name"] if "name" in item else item["service"]["name"] for item in body["contents"]]


def test_the_root_names_the_hsds_version_the_profile_and_the_openapi_file(api):
    response = api.get("/hsds/")
    assert response.status_code == 200
    body = response.json()
    assert list(ROOT_SCHEMA.iter_errors(body)) == []
    assert body["version"] == "3.0"
    assert body["profile"] == "http://testserver/hsds/profile/"
    assert body["openapi_url"] == "http://testserver/api/schema/?format=json"
    openapi = api.get(body["openapi_url"])
    assert openapi.status_code == 200
    assert "/hsds/services" in json.loads(openapi.content)["paths"]
    profile = api.get("/hsds/profile/").json()
    assert profile["fields"]["schedule"]["timezone_name"]["type"] == "string"
    assert "contact_channel" in profile["objects"]


def test_the_services_list_validates_and_publishes_only_what_the_public_may_see(api, listings):
    body = a_page(api.get("/hsds/services"), "compiled/service_list.json")
    assert names(body) == [
        "Kids Line Example",
        "Pending Example Line",
        "Regina Example Police",
        "Saskatoon Example Centre",
        "Worldwide Example Takedown",
    ]
    assert body["total_items"] == 5
    assert body["total_pages"] == 1
    assert body["first_page"]
    assert body["last_page"]
    pending = next(item for item in body["contents"] if item["name"] == "Pending Example Line")
    assert pending["verification"]["state"] == "pending"
    assert "assured_date" not in pending


def test_an_archived_listing_is_not_published(api, listings):
    Service.objects.filter(pk=listings["world"].pk).update(archived_at=timezone.now())
    assert "Worldwide Example Takedown" not in names(api.get("/hsds/services").json())
    assert api.get(f"/hsds/services/{listings['world'].hsds_id}").status_code == 404
    assert api.get(f"/hsds/services/{listings['inactive'].hsds_id}").status_code == 404


def test_a_full_service_validates_with_its_phones_hours_areas_languages_and_topics(api, listings):
    response = api.get(f"/hsds/services/{listings['kids'].hsds_id}")
    assert response.status_code == 200
    record = valid(response.json(), "service.json")
    assert record["assured_date"] == "2026-11-01"
    assert record["minimum_age"] == 5
    assert record["maximum_age"] == 25
    assert record["url"] == "https://kids.example.org"
    assert record["translations"] == {"fr": {"name": "Ligne Jeunes Exemple"}}
    assert [(p["number"], p["type"]) for p in record["phones"]] == [("+13065550101", "voice"), ("555010", "text")]
    assert record["phones"][1]["description"] == "text CONNECT"
    keyword = [c for c in record["contact_channels"] if c["kind"] == "sms"]
    assert keyword[0]["sms_keyword"] == "CONNECT"
    assert record["open_now"] is True
    assert [a["scope"] for a in record["service_areas"]] == ["country"]
    assert sorted(lang["code"] for lang in record["languages"]) == ["en", "fr"]
    assert sorted(a["taxonomy_term"]["code"] for a in record["attributes"]) == ["emotional_support", "sextortion"]
    always, *chat = record["schedules"]
    assert always["always_open"] is True
    assert "contact_channel_id" not in always
    chat_id = next(c["id"] for c in record["contact_channels"] if c["kind"] == "chat")
    assert [(s["byday"], s["opens_at"], s["closes_at"], s["timezone_name"], s["contact_channel_id"]) for s in chat] == [
        ("MO,TU,WE,TH,FR", "18:00:00", "23:30:00", "America/Regina", chat_id),
        ("SA", "22:00:00", "02:00:00", "America/Regina", chat_id),
    ]
    assert all("timezone" not in s for s in record["schedules"])


def test_services_filters_combine_as_and(api, listings):
    sextortion = hsds.term_id("sextortion")
    body = a_page(api.get("/hsds/services", {"taxonomy_term_id": sextortion}), "compiled/service_list.json")
    assert names(body) == ["Kids Line Example", "Pending Example Line"]
    body = api.get("/hsds/services", {"taxonomy_term_id": sextortion, "search": "pending line"}).json()
    assert names(body) == ["Pending Example Line"]
    organization = str(listings["kids"].organization.hsds_id)
    body = api.get("/hsds/services", {"taxonomy_term_id": sextortion, "organization_id": organization}).json()
    assert names(body) == ["Kids Line Example"]
    body = api.get("/hsds/services", {"taxonomy_id": hsds.TAXONOMY_ID, "search": "example"}).json()
    assert "Saskatoon Example Centre" not in names(body)
    assert len(names(body)) == 4
    assert api.get("/hsds/services", {"taxonomy_id": "00000000-0000-4000-8000-000000000000"}).json()["empty"]


def test_modified_after_keeps_services_changed_on_or_after_the_moment(api, listings):
    moment = timezone.now() + timedelta(minutes=1)
    Service.objects.filter(pk=listings["police"].pk).update(updated_at=moment)
    body = api.get("/hsds/services", {"modified_after": moment.isoformat()}).json()
    assert names(body) == ["Regina Example Police"]


def test_minimal_and_full_change_what_each_service_carries(api, listings):
    minimal = a_page(api.get("/hsds/services", {"minimal": "true"}), "compiled/service_list.json")
    assert {tuple(sorted(item)) for item in minimal["contents"]} == {("id", "last_modified", "name", "status")}
    full = a_page(api.get("/hsds/services", {"full": "true", "per_page": 2}), "service.json")
    assert all("phones" in item for item in full["contents"])
    assert (full["size"], full["total_pages"], full["last_page"]) == (2, 3, False)


def test_pages_report_their_place(api, listings):
    body = a_page(api.get("/hsds/services", {"per_page": 2, "page": 3}), "compiled/service_list.json")
    assert (body["page_number"], body["size"], body["first_page"], body["last_page"], body["empty"]) == (
        3,
        1,
        False,
        True,
        False,
    )
    beyond = a_page(api.get("/hsds/services", {"per_page": 2, "page": 9}), "compiled/service_list.json")
    assert beyond["contents"] == []
    assert beyond["total_items"] == 5


def test_ndjson_streams_every_record_without_pages(api, listings):
    for number in range(7):
        builders.service(f"Extra Example Line {number}", country="CA")
    response = api.get("/hsds/services", {"format": "ndjson", "per_page": 2})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-ndjson"
    lines = b"".join(response.streaming_content).decode().splitlines()
    records = [json.loads(line) for line in lines]
    assert len(records) == 12
    for record in records:
        valid(record, "compiled/service_list.json")
    full = api.get("/hsds/services", {"format": "ndjson", "full": "true"})
    for line in b"".join(full.streaming_content).decode().splitlines():
        valid(json.loads(line), "service.json")


@pytest.mark.parametrize(
    ("path", "params", "bad"),
    [
        ("/hsds/services", {"page": "0"}, "page"),
        ("/hsds/services", {"per_page": "501"}, "per_page"),
        ("/hsds/services", {"format": "xml"}, "format"),
        ("/hsds/services", {"taxonomy_term_id": "sextortion"}, "taxonomy_term_id"),
        ("/hsds/services", {"organization_id": "12"}, "organization_id"),
        ("/hsds/services", {"modified_after": "yesterday"}, "modified_after"),
        ("/hsds/services", {"minimal": "maybe"}, "minimal"),
        ("/hsds/services", {"full": "2"}, "full"),
        ("/hsds/services", {"search": "x" * 201}, "search"),
        ("/hsds/organizations", {"full_service": "nope"}, "full_service"),
        ("/hsds/service_at_locations", {"postcode": "ZZZ"}, "postcode"),
        ("/hsds/service_at_locations", {"postcode": "S4P3Y2", "proximity": "far"}, "proximity"),
        ("/hsds/service_at_locations", {"proximity": "1000"}, "proximity"),
        ("/hsds/service_at_locations", {"postcode": "S4P3Y2", "country": "XX"}, "country"),
        ("/hsds/taxonomy_terms", {"parent_id": "x"}, "parent_id"),
        ("/hsds/taxonomies", {"page": "%"}, "page"),
    ],
)
def test_a_bad_parameter_is_a_400_naming_it(api, listings, path, params, bad):
    response = api.get(path, params)
    assert response.status_code == 400, response.content
    assert bad in response.json()


@pytest.mark.parametrize(
    "path",
    [
        "/hsds/services/not-a-uuid",
        "/hsds/services/00000000-0000-4000-8000-000000000000",
        "/hsds/organizations/00000000-0000-4000-8000-000000000000",
        "/hsds/service_at_locations/12",
        "/hsds/taxonomies/00000000-0000-4000-8000-000000000000",
        "/hsds/taxonomy_terms/%25",
    ],
)
def test_an_unknown_id_is_a_404(api, listings, path):
    assert api.get(path).status_code == 404


def test_organizations_validate_and_list_only_those_with_published_services(api, listings):
    body = a_page(api.get("/hsds/organizations"), "compiled/organization_list.json")
    assert [item["name"] for item in body["contents"]] == [
        "Example Org",
        "Kids Example Org",
        "Regina Example Police Service",
    ]
    assert all(item["kind"] for item in body["contents"])
    full = a_page(api.get("/hsds/organizations", {"full": "true", "search": "kids"}), "organization.json")
    assert [s["name"] for s in full["contents"][0]["services"]] == ["Kids Line Example"]
    builders.organization("Unlisted Example Org")
    assert "Unlisted Example Org" not in [i["name"] for i in api.get("/hsds/organizations").json()["contents"]]


def test_an_organization_carries_its_published_services(api, listings):
    organization = listings["pending"].organization
    response = api.get(f"/hsds/organizations/{organization.hsds_id}", {"full_service": "true"})
    assert response.status_code == 200
    record = valid(response.json(), "organization.json")
    assert [s["name"] for s in record["services"]] == [
        "Pending Example Line",
        "Saskatoon Example Centre",
        "Worldwide Example Takedown",
    ]
    for service in record["services"]:
        valid(service, "service.json")
    summary = api.get(f"/hsds/organizations/{organization.hsds_id}").json()
    assert all("phones" not in s for s in summary["services"])


def test_service_at_locations_validate_and_carry_the_address(api, listings):
    body = a_page(api.get("/hsds/service_at_locations"), "compiled/service_at_location_list.json")
    assert names(body) == ["Regina Example Police"]
    location = body["contents"][0]["location"]
    assert location["addresses"][0]["postal_code"] == "S4P 3Y2"
    assert location["addresses"][0]["state_province"] == "CA-SK"
    detail = api.get(f"/hsds/service_at_locations/{body['contents'][0]['id']}")
    assert detail.status_code == 200
    valid(detail.json(), "service_at_location.json")
    valid(detail.json()["service"], "service.json")


def test_a_postcode_keeps_locations_of_services_whose_area_holds_it(api, listings):
    builders.service("Toronto Example Desk", country="CA", subdivision="CA-ON", point=(43.65, -79.38))
    inside = api.get("/hsds/service_at_locations", {"postcode": "S4P3Y2"}).json()
    assert names(inside) == ["Regina Example Police"]
    near = api.get("/hsds/service_at_locations", {"postcode": "S4P3Y2", "proximity": "5000"}).json()
    assert names(near) == ["Regina Example Police"]
    far = api.get("/hsds/service_at_locations", {"postcode": "S7K", "proximity": "5000", "country": "CA"}).json()
    assert far["empty"] is True


def test_taxonomies_and_terms_validate(api, listings):
    taxonomies = a_page(api.get("/hsds/taxonomies"), "taxonomy.json")
    assert taxonomies["contents"][0]["id"] == hsds.TAXONOMY_ID
    assert api.get(f"/hsds/taxonomies/{hsds.TAXONOMY_ID}").status_code == 200
    terms = a_page(api.get("/hsds/taxonomy_terms", {"search": "sextortion"}), "taxonomy_term.json")
    assert [t["code"] for t in terms["contents"]] == ["sextortion"]
    term = api.get(f"/hsds/taxonomy_terms/{hsds.term_id('sextortion')}")
    assert valid(term.json(), "taxonomy_term.json")["taxonomy_id"] == hsds.TAXONOMY_ID
    assert api.get("/hsds/taxonomy_terms", {"parent_id": hsds.TAXONOMY_ID}).json()["empty"] is True
    lines = b"".join(api.get("/hsds/taxonomy_terms", {"format": "ndjson"}).streaming_content).decode().splitlines()
    assert sorted(json.loads(line)["code"] for line in lines) == [
        "emotional_support",
        "image_removal",
        "police_reporting",
        "sextortion",
    ]


def test_a_services_page_takes_a_fixed_number_of_queries(api, listings, django_assert_num_queries):
    for number in range(10):
        builders.service(f"Extra Example Line {number}", country="CA", phone=f"+1306555{number:04d}")
    # The count, the page, then one query per relation: topics, languages, channels, schedules, their
    # intervals, service areas, locations; and the newest change, for Last-Modified.
    with django_assert_num_queries(10):
        response = api.get("/hsds/services", {"full": "true"})
    assert response.json()["size"] == 15


def test_an_organizations_page_with_full_services_takes_a_fixed_number_of_queries(
    api, listings, django_assert_num_queries
):
    for number in range(10):
        builders.service(f"Extra Example Line {number}", country="CA", org=f"Extra Example Org {number}")
    # The count, the page, its services, then one query per relation of theirs (as for /hsds/services).
    with django_assert_num_queries(11):
        response = api.get("/hsds/organizations", {"full": "true", "full_service": "true"})
    assert response.json()["size"] == 13


def test_a_service_at_locations_page_takes_a_fixed_number_of_queries(api, listings, django_assert_num_queries):
    for number in range(10):
        builders.service(f"Extra Example Desk {number}", kind="police", country="CA", point=(50.45, -104.6 + number))
    # The count, the page, its services, then one query per relation of theirs.
    with django_assert_num_queries(11):
        response = api.get("/hsds/service_at_locations", {"full": "true"})
    assert response.json()["size"] == 11


@pytest.mark.parametrize(
    "query",
    [
        "modified_after=0001-01-01T00:00:00-05:00",
        "modified_after=9999-12-31T23:59:59-05:00",
        "page=99999999999999999999999",
        "per_page=-1",
        "search=%00",
        "search=%25%27%22",
        "format=",
        "full=",
        "taxonomy_term_id=%00",
        "postcode=%E2%80%8F&proximity=1e308",
        "postcode=S4P3Y2&proximity=nan",
        "postcode=S4P3Y2&country=%25",
    ],
)
@pytest.mark.parametrize("path", ["/hsds/services", "/hsds/service_at_locations", "/hsds/organizations"])
def test_no_input_gets_a_server_error(api, listings, path, query):
    response = api.get(f"{path}?{query}")
    assert response.status_code in (200, 400), response.content


def test_summary_and_minimal_pages_read_only_what_they_show(api, listings, django_assert_num_queries):
    # The count, the page and (for the url and email) the channels; minimal needs no channels.
    with django_assert_num_queries(4):
        assert api.get("/hsds/services").json()["size"] == 5
    with django_assert_num_queries(3):
        assert api.get("/hsds/services", {"minimal": "true"}).json()["size"] == 5
