"""Nearest help with the real seed listings and postcode tables."""

import pytest
from django.core.management import call_command

from directory.models import PostcodeArea, Service
from tests import builders
from tests.openapi_client import ValidatingAPIClient

pytestmark = pytest.mark.django_db

NEAREST = "/api/v1/nearest/"


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        PostcodeArea.objects.all().delete()
        call_command("load_postcodes", countries="CA,GB,AU,IE", verbosity=0)
        call_command("load_seed", verbosity=0)
    yield
    with django_db_blocker.unblock():
        builders.clear_directory()


def nearest(**params) -> dict:
    response = ValidatingAPIClient().get(NEAREST, params)
    assert response.status_code == 200, response.content
    return response.json()


def test_a_regina_postcode_puts_regina_and_saskatchewan_help_before_national_lines(seeded):
    body = nearest(postcode="S4P 3Y2")
    assert body["emergency_number"] == "911"
    assert body["query"]["subdivision"] == "CA-SK"
    results = body["results"]
    first_national = next(i for i, r in enumerate(results) if r["reason"].startswith("national"))
    local_or_provincial = [r["name"] for r in results[:first_national]]
    assert local_or_provincial[0] == "Regina Police Service"
    assert any("Regina office" in name for name in local_or_provincial)
    assert all("km" in r["reason"] or "Saskatchewan" in r["reason"] for r in results[:first_national])
    assert any(r["reason"] == "national, 24/7" and r["always_open"] for r in results)


def test_a_london_postcode_gives_uk_services_and_999(seeded):
    body = nearest(postcode="SW1A 1AA")
    assert body["emergency_number"] == "999"
    assert body["query"]["country"] == "GB"
    names = [r["name"] for r in body["results"]]
    assert "Childline (NSPCC)" in names
    assert names[0].startswith("Metropolitan Police Service")
    assert not any("Garda" in name or "Kids Help Phone" in name for name in names)


def test_sydney_2000_gives_australian_services_and_000(seeded):
    body = nearest(postcode="2000", country="AU")
    assert body["emergency_number"] == "000"
    assert body["query"]["subdivision"] == "AU-NSW"
    names = [r["name"] for r in body["results"]]
    assert names[0].startswith("NSW Police Force")
    assert "Kids Helpline (yourtown)" in names


def test_montreal_in_french_prefers_french_serving_services_and_answers_in_french(seeded):
    body = nearest(postcode="H2X 1Y4", language="fr")
    results = body["results"]
    names = [r["name"] for r in results]
    assert "Jeunesse, J'écoute" in names
    assert "Cyberaide.ca" in names
    assert any(r["reason"].startswith("à ") for r in results)
    national = [r["id"] for r in results if r["reason"].startswith("national")]
    french = set(Service.objects.filter(languages__code="fr").values_list("id", flat=True)) & set(national)
    assert len(french) == 2
    assert set(national[: len(french)]) == french


def test_pending_listings_are_never_presented_as_verified(seeded):
    body = nearest(postcode="S4P 3Y2", limit=50)
    pending = set(Service.objects.filter(verification_state="pending").values_list("id", flat=True))
    shown = {r["id"]: r["verification_state"] for r in body["results"]}
    assert pending & set(shown)
    assert {shown[service_id] for service_id in pending & set(shown)} == {"pending"}


def test_only_verified_when_asked(seeded):
    body = nearest(postcode="S4P 3Y2", verified="true", limit=50)
    assert {r["verification_state"] for r in body["results"]} == {"verified"}


def test_the_canadian_services_list_shows_the_seeded_listings(seeded):
    params = {"country": "CA", "verified": "any", "page_size": "100"}
    response = ValidatingAPIClient().get("/api/v1/services/", params)
    names = [row["name"] for row in response.json()["results"]]
    assert "Kids Help Phone" in names
    assert "Regina Police Service" in names
    assert "Childline (NSPCC)" not in names
