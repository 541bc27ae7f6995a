"""One rule turns a postcode into a place, and every way in answers the same input the same way."""

import pytest

from directory import errors
from directory.geocoding import resolve_place
from tests import builders

pytestmark = pytest.mark.django_db


@pytest.fixture
def postcodes():
    builders.postcodes("CA S4P", "GB SW1A", "AU 2000", "NZ 2000")


# (postcode, country) -> (status, the field a 400 names)
CASES = [
    (("S4P 3Y2", ""), (200, "")),
    (("s4p3y2", "CA"), (200, "")),
    (("2000", "AU"), (200, "")),
    (("2000", ""), (400, "country")),
    (("hello", ""), (400, "postcode")),
    (("SW1A 1AA", "CA"), (400, "postcode")),
    (("0001", "ZA"), (400, "country")),
    (("ZE9", "GB"), (404, "")),
    (("S4R", ""), (404, "")),
]


def _status(postcode: str, country: str) -> tuple[int, str]:
    try:
        resolve_place(postcode=postcode, country=country)
    except errors.InvalidPlace as error:
        return 400, error.field
    except errors.PostcodeNotFound:
        return 404, ""
    return 200, ""


@pytest.mark.parametrize(("given", "expected"), CASES)
def test_the_resolution_rule_reads_each_postcode_as_documented(postcodes, given, expected):
    assert _status(*given) == expected


@pytest.mark.parametrize(("given", "expected"), CASES)
def test_nearest_postcodes_and_the_services_list_answer_a_postcode_alike(api, postcodes, given, expected):
    postcode, country = given
    status, field = expected
    params = {"postcode": postcode, **({"country": country} if country else {})}
    answers = [api.get("/api/v1/nearest/", params), api.get("/api/v1/services/", {**params, "verified": "any"})]
    if country:
        answers.append(api.get(f"/api/v1/postcodes/{country}/{postcode.replace(' ', '')}/"))
    for response in answers:
        assert response.status_code == status, (response.wsgi_request.get_full_path(), response.content)
        if status == 400:
            assert response.json()[field]
        if status == 404:
            assert "table" in response.json()["detail"]


def test_a_point_without_a_country_is_a_400_on_nearest_but_enough_for_the_services_list(api, postcodes):
    assert api.get("/api/v1/nearest/", {"lat": 50.45, "lon": -104.61}).json()["country"]
    assert api.get("/api/v1/services/", {"near": "50.45,-104.61"}).status_code == 200


def test_a_postcode_and_a_point_together_are_refused_alike(api, postcodes):
    nearest = api.get("/api/v1/nearest/", {"postcode": "S4P", "lat": 50, "lon": -104, "country": "CA"})
    services = api.get("/api/v1/services/", {"postcode": "S4P", "near": "50,-104"})
    assert nearest.status_code == services.status_code == 400
    assert nearest.json()["postcode"] == services.json()["postcode"]


def test_the_sms_gateway_answers_a_postcode_the_api_cannot_place_with_the_national_lines(postcodes):
    from sms.service import handle_inbound

    builders.service("National Example Line", country="CA", always_open=True, phone="+13065550100")
    reply = handle_inbound(sender="+13065550123", body="HELP S4R 1A1", message_sid="SM-resolution-1")
    assert _status("S4R 1A1", "CA") == (404, "")
    assert "National Example Line" in reply.text
