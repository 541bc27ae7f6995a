"""Nearest help and SMS replies in NZ, DE, FR, IN, GB counties and Cork, with the real seed and postcode tables."""

import itertools
from datetime import UTC, datetime

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from directory.models import PostcodeArea
from sms.service import handle_inbound
from tests import builders

pytestmark = pytest.mark.django_db

NEAREST = "/api/v1/nearest/"
_SIDS = itertools.count()

# National lines of each country (any one of them must be in the answer).
NATIONAL = {
    "DE": {
        "TelefonSeelsorge",
        "Nummer gegen Kummer \u2013 Kinder- und Jugendtelefon",
        "HateAid \u2013 Betroffenenberatung",
    },
    "FR": {
        "3018 (Association e-Enfance)",
        "119 \u2013 Allô Enfance en Danger",
        "3114 \u2013 numéro national de prévention du suicide",
    },
    "NZ": {"Netsafe", "1737 Need to Talk? (Whakarongorau Aotearoa)", "Lifeline Aotearoa", "Youthline"},
    "IN": {"Child Helpline 1098 (CHILDLINE)", "National Commission for Women (NCW) helpline"},
    "GB": {"Childline (NSPCC)", "NSPCC Helpline"},
    "IE": {"Garda child sexual abuse reporting line", "Childline (ISPCC, Ireland)"},
}

# place: (postcode, country, emergency number, the local unit the data has there, or None)
PLACES = {
    "Berlin": ("10115", "DE", "112", "Polizei Berlin \u2013 Internetwache and Landeskriminalamt (LKA)"),
    "Munich": (
        "80331",
        "DE",
        "112",
        "Polizeipräsidium München \u2013 Kommissariat 17 (sexualised violence against children)",
    ),
    "Paris": ("75001", "FR", "112", "Brigade de protection des mineurs (BPM), Préfecture de police de Paris"),
    "Lyon": ("69001", "FR", "112", None),
    "Auckland": ("1010", "NZ", "111", "NZ Police \u2013 Auckland Central Police Base"),
    "Wellington": ("6011", "NZ", "111", "NZ Police \u2013 Wellington Central Police Station"),
    "Christchurch": (
        "8011",
        "NZ",
        "111",
        "NZ Police \u2013 Christchurch Central Police Station (Canterbury District HQ)",
    ),
    "Delhi": (
        "110001",
        "IN",
        "112",
        "Delhi Police \u2013 IFSO (Intelligence Fusion & Strategic Operations, cyber crime unit)",
    ),
    "Mumbai": ("400001", "IN", "112", "Mumbai Police \u2013 Cyber wing (Crime Branch) and cyber police stations"),
    "Stoke-on-Trent": ("ST1", "GB", "999", "Staffordshire Police"),
    "Cork": ("T12", "IE", "112", "Anglesea Street Garda Station (Cork City Divisional HQ)"),
}

# place: (sender, text, reply language, words the reply must contain)
TEXTS = {
    "Berlin": ("+4915112345678", "HILFE 10115", "de", ["Notruf: 112, Polizei 110", "Antworte"]),
    "Munich": ("+4915112345678", "80331", "de", ["Notruf: 112", "Kommissariat 17"]),
    "Paris": ("+33612345678", "AIDE 75001", "fr", ["Urgence: 112", "3018", "119"]),
    "Lyon": ("+33612345678", "69001", "fr", ["Urgence: 112"]),
    "Auckland": ("+64211234567", "HELP 1010", "en", ["Emergency: 111"]),
    "Wellington": ("+64211234567", "HELP 6011", "en", ["Emergency: 111"]),
    "Christchurch": ("+64211234567", "help 8011", "en", ["Emergency: 111"]),
    "Delhi": ("+919812345678", "HELP 110001", "en", ["Emergency: 112", "1098"]),
    "Mumbai": ("+919812345678", "HELP 400001", "en", ["Emergency: 112"]),
    "Stoke-on-Trent": ("+447700900123", "help ST1", "en", ["1. Staffordshire Police: 101", "Emergency: 999"]),
    "Cork": ("+353851234567", "help T12", "en", ["Emergency: 112", "Anglesea Street Garda Station"]),
}


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        PostcodeArea.objects.all().delete()
        call_command("load_postcodes", countries="US,GB,IE,NZ,DE,FR,IN", verbosity=0)
        call_command("load_seed", verbosity=0)
    yield
    with django_db_blocker.unblock():
        builders.clear_directory()


def nearest(**params) -> dict:
    response = APIClient().get(NEAREST, params)
    assert response.status_code == 200, response.content
    return response.json()


def text(sender: str, body: str):
    return handle_inbound(sender, body, f"SM-nine-countries-{next(_SIDS)}", simulated=True)


@pytest.mark.parametrize("place", PLACES)
def test_each_place_gets_its_emergency_number_a_national_line_and_its_local_unit_first(seeded, place):
    postcode, country, emergency, local = PLACES[place]
    body = nearest(postcode=postcode, country=country, limit=20)
    names = [result["name"] for result in body["results"]]

    assert body["emergency_number"] == emergency
    assert body["query"]["country"] == country
    assert NATIONAL[country] & set(names), names
    if local is not None:
        first_national = next(i for i, r in enumerate(body["results"]) if r["reason"].startswith("national"))
        assert local in names[:first_national], names


@pytest.mark.parametrize("place", TEXTS)
def test_each_place_is_answered_in_the_language_its_keyword_or_country_implies(seeded, place):
    sender, body, language, expected = TEXTS[place]
    reply = text(sender, body)

    assert reply.language == language
    assert reply.segments <= 3
    assert reply.encoding == "GSM-7"
    for words in expected:
        assert words in reply.text, reply.text


def test_a_german_texter_gets_german_with_a_german_national_line_and_110(seeded):
    reply = text("+4915112345678", "HILFE 10115")

    assert reply.language == "de"
    assert reply.segments <= 3
    assert "Polizei 110" in reply.text
    assert "TelefonSeelsorge: 0800 111 0 111" in reply.text
    assert "Antworte mit einer Nummer für Details" in reply.text


def test_the_api_serves_german_reasons_for_lang_de(seeded):
    results = nearest(postcode="80331", country="DE", lang="de")["results"]

    assert results[0]["reason"] == "1 km entfernt"
    assert any(result["reason"].startswith("landesweit") for result in results)


def test_paris_gets_pharos_and_the_french_lines_in_french(seeded):
    results = nearest(postcode="75001", country="FR", lang="fr")["results"]
    names = {result["name"] for result in results}

    assert {"3018 (Association e-Enfance)", "119 \u2013 Allô Enfance en Danger"} <= names
    assert "PHAROS \u2013 portail officiel de signalement des contenus illicites" in names
    assert any(result["reason"] == "national, 24/7" for result in results)


def test_a_number_two_listings_share_is_given_once_and_the_second_offers_its_other_way(seeded):
    # Delhi Police's cyber unit and the national portal both give 1930; the portal also has its website.
    reply = text("+919812345678", "HELP 110001")

    assert reply.text.count("1930") == 2, reply.text  # the number once, and in the portal's name
    assert "National Cyber Crime Reporting Portal and helpline 1930: https://cybercrime.gov.in" in reply.text


@pytest.mark.parametrize(
    ("sender", "body"),
    [
        ("+4915112345678", "HILFE ERPRESSUNG 10115"),
        ("+33612345678", "sextorsion 75001"),
        ("+919812345678", "sextortion 110001"),
        ("+64211234567", "blackmail 6011"),
    ],
)
def test_sextortion_answers_abroad_offer_the_worldwide_takedown_services_by_their_websites(seeded, sender, body):
    reply = text(sender, body)

    assert "https://takeitdown.ncmec.org" in reply.text
    assert "https://stopncii.org" in reply.text
    assert "THE-LOST" not in reply.text


@pytest.mark.parametrize(("postcode", "country"), [("10115", "DE"), ("110001", "IN"), ("6011", "NZ")])
def test_take_it_down_is_offered_abroad_without_its_us_toll_free_number(seeded, postcode, country):
    results = nearest(postcode=postcode, country=country, topic="image_removal")["results"]
    take_it_down = next(r for r in results if r["name"] == "Take It Down (NCMEC)")

    assert take_it_down["reason"] in ("worldwide", "international", "weltweit")
    assert [contact["value"] for contact in take_it_down["contacts"]] == ["https://takeitdown.ncmec.org"]


def test_in_the_us_take_it_down_keeps_its_toll_free_number(seeded):
    body = nearest(lat=40.75, lon=-73.99, country="US", topic="image_removal")
    take_it_down = next(r for r in body["results"] if r["name"] == "Take It Down (NCMEC)")

    assert "+18008435678" in [contact["value"] for contact in take_it_down["contacts"]]


def test_where_nothing_national_matches_the_worldwide_takedown_services_lead(seeded):
    results = nearest(postcode="110001", country="IN", topic="image_removal")["results"]
    names = [result["name"] for result in results]

    assert names.index("StopNCII.org (Revenge Porn Helpline / SWGfL)") < names.index("Child Helpline 1098 (CHILDLINE)")


def test_a_wolverhampton_edge_postcode_in_staffordshire_finds_staffordshire_police(seeded):
    results = nearest(postcode="WS11", country="GB")["results"]

    assert results[0]["name"] == "Staffordshire Police"
    assert results[0]["reason"] == "covers Staffordshire"


def test_in_a_dublin_reply_listings_to_call_come_before_a_station_with_only_a_website(seeded, monkeypatch):
    # A Wednesday afternoon in Dublin: at night what is open first ranks another listing fifth.
    monkeypatch.setattr(timezone, "now", lambda: datetime(2026, 12, 2, 15, 20, tzinfo=UTC))
    lines = text("+353851234567", "help D02 X285").text.splitlines()
    numbered = [line for line in lines if line[:1].isdigit()]

    assert "https://" not in numbered[0]
    assert any("O'Connell Street Garda Station: https://www.garda.ie" in line for line in numbered[1:])


def test_in_a_beverly_hills_reply_a_line_to_call_comes_first_not_the_fbi_website(seeded):
    lines = text("+13105550123", "help 90210").text.splitlines()

    assert lines[0].startswith("1. ")
    assert "https://" not in lines[0]
    assert not any("FBI Los Angeles Field Office" in line for line in lines[:1])


def test_the_topics_are_named_in_german_for_lang_de(seeded):
    response = APIClient().get("/api/v1/topics/", {"lang": "de"})
    names = {row["slug"]: row["name"] for row in response.json()["results"]}

    assert response.status_code == 200
    assert names["image_removal"] == "Ein Bild entfernen lassen"
    assert names["parent_support"] == "Hilfe für Eltern"
