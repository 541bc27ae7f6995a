import pytest

from tests import builders

pytestmark = pytest.mark.django_db


@pytest.fixture
def listings():
    builders.topic("sextortion", en="Sextortion", fr="Sextorsion", es="Sextorsión")
    builders.service("Kids Line Example", country="CA", topics=("sextortion",), languages=("en", "fr"))
    builders.service("Regina Example Police", kind="police", subdivision="CA-SK", point=(50.448, -104.605))
    builders.service("UK Example Line", country="GB", org="UK Example Org", languages=("en",))


def test_topics_are_named_in_the_requested_language(api, listings):
    response = api.get("/api/v1/topics/", {"lang": "fr"})
    assert response.status_code == 200
    assert response.json()["results"][0]["name"] == "Sextorsion"
    detail = api.get("/api/v1/topics/sextortion/", headers={"Accept-Language": "es"})
    assert detail.json()["name"] == "Sextorsión"
    assert api.get("/api/v1/topics/nothing/").status_code == 404


def test_languages_lists_only_languages_some_listing_is_offered_in(api, listings):
    builders.language("de", "German")
    codes = [row["code"] for row in api.get("/api/v1/languages/").json()["results"]]
    assert codes == ["en", "fr"]


def test_organizations_are_listed_and_filterable(api, listings):
    rows = api.get("/api/v1/organizations/").json()["results"]
    assert [row["name"] for row in rows] == ["Example Org", "UK Example Org"]
    assert api.get("/api/v1/organizations/", {"q": "uk"}).json()["count"] == 1
    assert api.get("/api/v1/organizations/", {"kind": "bank"}).status_code == 400


def test_regions_lists_countries_and_subdivisions_present_in_the_data(api, listings):
    rows = api.get("/api/v1/regions/").json()["results"]
    assert [(row["code"], row["type"], row["service_count"]) for row in rows] == [
        ("CA", "country", 2),
        ("CA-SK", "subdivision", 1),
        ("GB", "country", 1),
    ]
    assert rows[1]["name"] == "Saskatchewan"
