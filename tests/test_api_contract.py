"""The documented contract is the tested one: the validating client, and the error statuses openapi.yaml lists."""

import pytest
import yaml
from rest_framework.settings import api_settings

from tests import builders
from tests.openapi_client import SCHEMA_FILE, ContractViolation, _resolved, validate_response

pytestmark = pytest.mark.django_db

JSON = {"Content-Type": "application/json"}
# The headers every public read carries (directory.http_caching), so body checks are reached.
READ = {**JSON, "ETag": '"x"', "Cache-Control": "public, max-age=60", "Vary": "Accept-Language, Authorization"}


def test_the_validating_client_refuses_a_null_the_schema_does_not_allow():
    body = b'{"name": "Helpline directory", "api_version": null, "data_sources": []}'
    with pytest.raises(ContractViolation, match="api_version"):
        validate_response("GET", "/api/v1/about/", 200, READ, body)


def test_the_validating_client_refuses_an_undocumented_field():
    body = b'{"name": "x", "api_version": "v1", "data_sources": [], "extra": 1}'
    with pytest.raises(ContractViolation, match="extra"):
        validate_response("GET", "/api/v1/about/", 200, READ, body)


def test_the_validating_client_refuses_an_undocumented_status():
    with pytest.raises(ContractViolation, match="does not document"):
        validate_response("GET", "/api/v1/about/", 418, JSON, b'{"detail": "teapot"}')


def test_the_validating_client_requires_the_documented_retry_after_header():
    body = b'{"detail": "slow", "limit": "anonymous_per_minute", "allowed": 1, "window": "minute", "retry_after": 5}'
    with pytest.raises(ContractViolation, match="Retry-After"):
        validate_response("GET", "/api/v1/about/", 429, JSON, body)


def test_every_operation_documents_its_error_statuses_and_their_bodies():
    document = yaml.safe_load(SCHEMA_FILE.read_text(encoding="utf-8"))
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert {"404", "406", "429", "503"} <= set(responses), (method, path)
            assert {"401", "403"} & set(responses), (method, path)
            # The conditional-request headers (shared $ref parameters) are never malformed: no 400 for them.
            if [parameter for parameter in operation.get("parameters", ()) if "$ref" not in parameter]:
                assert responses["400"]["content"]["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/FieldErrors"
                }
            assert "Retry-After" in _resolved(responses["429"])["headers"]
            assert "Retry-After" in _resolved(responses["503"])["headers"]


def test_a_throttled_request_gets_a_documented_429_with_retry_after(api, monkeypatch):
    monkeypatch.setitem(api_settings.DEFAULT_THROTTLE_RATES, "anon", "1/minute")
    assert api.get("/api/v1/about/").status_code == 200
    response = api.get("/api/v1/about/")
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0


def test_wrong_credentials_get_a_documented_refusal(api):
    builders.topic("sextortion")
    api.credentials(HTTP_AUTHORIZATION="Token " + "0" * 64)
    response = api.get("/api/v1/topics/")
    assert response.status_code in (401, 403)
    assert response.json()["detail"]


def test_an_unacceptable_accept_header_gets_a_documented_406(api):
    response = api.get("/api/v1/about/", HTTP_ACCEPT="application/xml")
    assert response.status_code == 406


def test_a_page_past_the_end_gets_a_documented_404(api):
    response = api.get("/api/v1/topics/", {"page": 5})
    assert response.status_code == 404


def test_an_address_no_api_route_serves_is_a_json_404(api):
    response = api.get("/api/v1/languages/a.b/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_an_empty_verified_parameter_still_shows_only_verified_listings(api):
    builders.service("Verified Example Line", country="CA")
    builders.service("Pending Example Line", country="CA", state="pending")
    names = [result["name"] for result in api.get("/api/v1/services/", {"verified": ""}).json()["results"]]
    assert names == ["Verified Example Line"]


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/api/v1/services/", {"age": "15.0"}, "age"),
        ("/api/v1/nearest/", {"country": "CA", "age": "15.0"}, "age"),
        ("/api/v1/nearest/", {"country": "CA", "limit": "10.0"}, "limit"),
    ],
)
def test_an_integer_parameter_written_as_a_decimal_is_a_400_as_the_schema_says(api, path, params, field):
    response = api.get(path, params)
    assert response.status_code == 400
    assert response.json()[field]


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/api/v1/nearest/", {"country": "CA", "topic": "sext\x00ortion"}, "topic"),
        ("/api/v1/services/", {"topic": "sext\x00ortion"}, "topic"),
        ("/api/v1/services/", {"language": "\x00"}, "language"),
    ],
)
def test_a_null_character_in_a_parameter_is_a_400_naming_it_on_every_database(api, path, params, field):
    response = api.get(path, params)
    assert response.status_code == 400
    assert response.json() == {field: ["Null characters are not allowed."]}


def test_a_null_character_in_an_api_address_is_a_404(api):
    assert api.get("/api/v1/topics/sext%00ortion/").status_code == 404
