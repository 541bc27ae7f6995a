"""Every example in the README answers, on the data `make run` loads, what its comment promises."""

import io
import re
from pathlib import Path

import pytest
from django.core.management import call_command

from directory.models import PostcodeArea
from tests import builders
from tests.openapi_client import ValidatingAPIClient

pytestmark = pytest.mark.django_db

README = Path(__file__).resolve().parent.parent / "README.md"


def _names(body: dict) -> list[str]:
    return [result["name"] for result in body["results"]]


# Each example's promise, as its comment in the README states it.
PROMISES = {
    "/api/v1/services/?country=CA": lambda body: (
        body["count"] > 0 and all(result["verification_state"] == "verified" for result in body["results"])
    ),
    "/api/v1/services/?topic=sextortion&country=CA&lang=fr": lambda body: (
        "Cyberaide.ca" in _names(body) and all("sextortion" in result["topics"] for result in body["results"])
    ),
    "/api/v1/services/?kind=helpline&channel=sms&country=CA&verified=any&lang=fr": lambda body: (
        "Jeunesse, J'écoute" in _names(body) and all(result["kind"] == "helpline" for result in body["results"])
    ),
    "/api/v1/nearest/?postcode=S4P3Y2&topic=sextortion": lambda body: (
        body["emergency_number"] == "911" and body["results"] and all(result["reason"] for result in body["results"])
    ),
    "/api/v1/nearest/?postcode=2000&country=AU": lambda body: (
        body["emergency_number"] == "000" and body["results"] and all(result["reason"] for result in body["results"])
    ),
    "/api/v1/nearest/?lat=51.5&lon=-0.12&country=GB&open_now=true": lambda body: (
        body["results"]
        and all(result["open_now"] is not False for result in body["results"])
        and any(result["always_open"] for result in body["results"])
    ),
    "/api/v1/services/?postcode=M5V2T6&country=CA&radius_km=50&kind=police&verified=any": lambda body: (
        any("Toronto" in name for name in _names(body))
        and all(result["kind"] == "police" and result["distance_km"] <= 50 for result in body["results"])
        and [r["distance_km"] for r in body["results"]] == sorted(r["distance_km"] for r in body["results"])
    ),
    "/api/v1/postcodes/GB/SW1A1AA/": lambda body: body["code"] == "SW1A" and body["subdivision"] == "GB-ENG",
    "/api/v1/topics/?lang=es": lambda body: "Sextorsión" in _names(body),
    "/api/v1/regions/": lambda body: body["count"] > 40 and {"AU", "AU-NSW"} <= {r["code"] for r in body["results"]},
}


def readme_examples() -> list[str]:
    return re.findall(r"^curl '127\.0\.0\.1:8000(/api/[^']+)'$", README.read_text(encoding="utf-8"), re.MULTILINE)


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        PostcodeArea.objects.all().delete()
        call_command("load_postcodes", countries="CA,GB,AU,US,DE", verbosity=0)
        call_command("load_seed", verbosity=0)
    yield
    with django_db_blocker.unblock():
        builders.clear_directory()


def test_every_readme_example_has_its_promise_checked():
    assert set(readme_examples()) == set(PROMISES)


@pytest.mark.parametrize("example", sorted(PROMISES))
def test_the_readme_example_answers_what_its_comment_promises(seeded, example):
    response = ValidatingAPIClient().get(example)
    assert response.status_code == 200, response.content
    assert PROMISES[example](response.json()), response.json()


# The README's SMS simulator examples: each gets numbered local help in the keyword's language.
SIMULATIONS = {
    ("+13065550123", "HELP S4P 3Y2"): ("1. Regina Police Service", "Emergency: 911"),
    ("+15145550123", "AIDE H2X 1Y4"): ("1. Sureté du Québec", "Urgence: 911"),
    ("+12125550123", "AYUDA 10001"): ("1. NYPD", "Emergencias: 911"),
    ("+4915112345678", "HILFE 10115"): ("TelefonSeelsorge", "Notruf: 112, Polizei 110"),
}


def readme_simulations() -> list[tuple[str, str]]:
    pattern = r'^DEBUG=1 \.venv/bin/python manage\.py simulate_sms --from (\+\d+) "([^"]+)"$'
    return re.findall(pattern, README.read_text(encoding="utf-8"), re.MULTILINE)


def test_every_readme_sms_simulation_has_its_promise_checked():
    assert set(readme_simulations()) == set(SIMULATIONS)


@pytest.mark.parametrize(("sender", "body"), sorted(SIMULATIONS))
def test_the_readme_sms_simulation_answers_with_local_help_in_the_keywords_language(seeded, sender, body):
    out = io.StringIO()
    call_command("simulate_sms", body, sender=sender, stdout=out)
    for expected in SIMULATIONS[sender, body]:
        assert expected in out.getvalue()
