"""The seed import: the taxonomy file, the rules that read a CSV row, and load_seed against the real files."""

import io
import json
from collections import Counter
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import Max, Q

from directory.models import (
    ChannelKind,
    ContactChannel,
    Coverage,
    CoverageScope,
    GeocodePrecision,
    Language,
    Location,
    OpeningInterval,
    Organization,
    PostcodeArea,
    Schedule,
    Service,
    ServiceKind,
    Topic,
    VerificationState,
)
from directory.phones import reachable_from
from directory.seed import (
    CoverageSpec,
    WeeklyHours,
    audience,
    coverage_for,
    language_codes,
    load_seed,
    organization_name,
    parse_hours,
    plan_service,
    read_curated,
    seed_rows,
    service_kind,
    split_sources,
    timezone_for,
    topic_slugs,
)
from sms import parsing
from tests import builders

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CARRIER_WORDS = {
    "STOP",
    "STOPALL",
    "UNSUBSCRIBE",
    "CANCEL",
    "END",
    "QUIT",
    "REVOKE",
    "OPTOUT",
    "START",
    "UNSTOP",
    "YES",
    "HELP",
    "INFO",
}
# Words the SMS parser reads before topics: help, "more", language switches, carrier words.
PARSER_WORDS = {
    *parsing.OPT_OUT_WORDS,
    *parsing.OPT_IN_WORDS,
    *parsing.CARRIER_HELP_WORDS,
    *parsing.HELP_WORDS,
    *parsing.MORE_WORDS,
    *parsing.LANGUAGE_WORDS,
}
REQUIRED_TOPICS = {
    "sextortion",
    "csam_reporting",
    "image_removal",
    "grooming",
    "intimate_image_abuse",
    "emotional_support",
    "suicide_crisis",
    "victim_services",
    "police_reporting",
    "parent_support",
}
SOURCE_SEEN = datetime(2026, 11, 21, tzinfo=UTC)
# The date the NZ, DE, FR, IN and worldwide rows were read.
NEW_SOURCE_SEEN = datetime(2026, 12, 1, tzinfo=UTC)
NEW_COUNTRIES = ("NZ", "DE", "FR", "IN", "WW")
# Rows per country as the CSVs give them (Samaritans' "GB;IE" row counts under GB).
ROWS_PER_COUNTRY = {
    "CA": 6 + 23,
    "US": 5 + 31,
    "GB": 6 + 11,
    "AU": 4 + 8,
    "IE": 2 + 6,
    "NZ": 9 + 5,
    "DE": 9 + 4,
    "FR": 8 + 1,
    "IN": 5 + 7,
    "WW": 4,
}
# Take It Down's US row and its WW row are one listing.
LISTINGS = 23 + 79 + 35 + 17 - 1


def taxonomy() -> list[dict]:
    return json.loads((FIXTURES / "topics.json").read_text(encoding="utf-8"))


def row_named(name: str) -> dict[str, str]:
    return next(row for row in seed_rows() if row["name"] == name)


# --- The taxonomy file ---------------------------------------------------------------------------


def test_the_taxonomy_has_every_required_topic_in_four_languages():
    topics = taxonomy()

    assert {topic["slug"] for topic in topics} >= REQUIRED_TOPICS
    for topic in topics:
        assert set(topic["names"]) == {"en", "fr", "es", "de"}, topic["slug"]
        assert set(topic["keywords"]) == {"en", "fr", "es", "de"}, topic["slug"]
        assert all(topic["keywords"][language] for language in ("en", "fr", "es", "de")), topic["slug"]
        assert set(topic["advice"]) in ({"en", "fr", "es", "de"}, set()), topic["slug"]


def test_keywords_are_single_plain_uppercase_words():
    for topic in taxonomy():
        for words in topic["keywords"].values():
            assert all(word.isascii() and word.isalpha() and word.isupper() for word in words), words


def test_no_keyword_is_a_carrier_word_or_one_the_sms_parser_owns():
    words = {word for topic in taxonomy() for words in topic["keywords"].values() for word in words}
    inflected = {word + ending for word in words for ending in parsing.INFLECTIONS}

    assert not (words | inflected) & (CARRIER_WORDS | PARSER_WORDS)


def test_no_keyword_or_inflected_keyword_leads_to_two_topics_even_across_languages():
    topics_of: dict[str, set[str]] = {}
    for topic in taxonomy():
        for words in topic["keywords"].values():
            for word in words:
                for form in (word, *(word + ending for ending in parsing.INFLECTIONS)):
                    topics_of.setdefault(form, set()).add(topic["slug"])

    assert {word: slugs for word, slugs in topics_of.items() if len(slugs) > 1} == {}


def test_the_keywords_named_in_the_design_are_there():
    keywords = {topic["slug"]: topic["keywords"] for topic in taxonomy()}

    assert {"SEXTORTION", "BLACKMAIL"} <= set(keywords["sextortion"]["en"])
    assert {"SEXTORSION", "CHANTAGE"} <= set(keywords["sextortion"]["fr"])
    assert {"SEXTORSION", "CHANTAJE"} <= set(keywords["sextortion"]["es"])
    first_words = {slug: tuple(words[lang][0] for lang in ("en", "fr", "es")) for slug, words in keywords.items()}
    assert first_words["emotional_support"] == ("TALK", "PARLER", "HABLAR")
    assert first_words["police_reporting"] == ("POLICE", "POLICE", "POLICIA")
    assert first_words["csam_reporting"] == ("REPORT", "SIGNALER", "DENUNCIAR")
    assert first_words["image_removal"] == ("REMOVE", "RETIRER", "ELIMINAR")
    assert first_words["suicide_crisis"] == ("SUICIDE", "SUICIDE", "SUICIDIO")


def test_sextortion_advice_says_do_not_pay_and_keep_the_messages_in_each_language():
    advice = next(topic for topic in taxonomy() if topic["slug"] == "sextortion")["advice"]

    assert advice["en"] == "Don't pay or reply. Keep the messages. Report it - it's not your fault."
    assert advice["fr"].startswith("Ne paie pas et ne réponds plus. Garde les messages.")
    assert advice["es"].startswith("No pagues ni respondas. Guarda los mensajes.")
    assert advice["de"].startswith("Zahl kein Geld und antworte nicht mehr. Heb die Nachrichten auf.")


# --- The files and curated tables ----------------------------------------------------------------


def test_every_row_of_the_four_files_is_read():
    rows = seed_rows()

    assert len(rows) == 23 + 79 + 35 + 17
    assert Counter(row["country"].split(";")[0] for row in rows) == ROWS_PER_COUNTRY
    assert len({(row["name"], row["country"]) for row in rows}) == len(rows)


def test_curated_tables_only_name_rows_that_exist():
    names = {row["name"] for row in seed_rows()}
    curated = read_curated()

    assert set(curated.secondary) <= names
    assert set(curated.coverage) <= names
    assert set(curated.translations) <= names
    assert set(curated.remarks) <= names


def test_the_secondary_source_table_lists_the_thirteen_icac_rows_and_the_others_from_the_readme():
    secondary = read_curated().secondary
    icac = {name for name, items in secondary.items() if "site.cacontology.projectvic.org" in items[0].source}

    assert len(icac) == 13
    assert len(secondary) == 33 + 40
    assert [item.field for item in secondary["Saskatoon Police Service"]] == ["phone 306-975-8300", "HQ address"]


# --- Reading a row -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "organization"),
    [
        ("Cybertip.ca (Canadian Centre for Child Protection)", "Canadian Centre for Child Protection"),
        ("Texted.ca (Canadian Centre for Child Protection support team)", "Canadian Centre for Child Protection"),
        ("Childline (NSPCC)", "NSPCC"),
        ("NSPCC Helpline", "NSPCC"),
        ("Take It Down (NCMEC)", "NCMEC"),
        ("NCMEC CyberTipline", "NCMEC"),
        ("Revenge Porn Helpline (SWGfL)", "SWGfL"),
        ("Childline (ISPCC, Ireland)", "ISPCC"),
        ("Kids Helpline (yourtown)", "yourtown"),
        ("Toronto Police Service - Child Exploitation Section (Sex Crimes Unit)", "Toronto Police Service"),
        (
            "Saskatchewan Internet Child Exploitation (ICE) Unit - Regina office",
            "Saskatchewan Internet Child Exploitation (ICE) Unit",
        ),
        ("Colorado ICAC Task Force (Colorado Springs Police Department)", "Colorado Springs Police Department"),
        ("Los Angeles-area ICAC Task Force (LAPD)", "Los Angeles Police Department (LAPD)"),
        ("Service de police de la Ville de Montréal (SPVM)", "Service de police de la Ville de Montréal (SPVM)"),
        ("Victoria Police Department (VicPD)", "Victoria Police Department (VicPD)"),
        ("Mill Street Garda Station (Galway)", "An Garda Síochána"),
        ("Kids Help Phone", "Kids Help Phone"),
    ],
)
def test_the_organisation_comes_from_the_name(name, organization):
    assert organization_name(name) == organization


def test_an_agency_that_takes_reports_is_a_reporting_body_and_others_are_support_agencies():
    assert service_kind("agency", "Take It Down (NCMEC); hash-based removal of images") == ServiceKind.REPORTING
    assert service_kind("agency", "Crime Stoppers Australia; anonymous reporting of crime") == ServiceKind.REPORTING
    assert service_kind("agency", "Zebra Child and Youth Advocacy Centre; child-friendly interviews") == (
        ServiceKind.SUPPORT_AGENCY
    )
    assert service_kind("police", "Regina Police Service") == ServiceKind.POLICE
    assert service_kind("helpline", "Samaritans") == ServiceKind.HELPLINE


def test_topics_follow_the_description():
    cybertip = row_named("Cybertip.ca (Canadian Centre for Child Protection)")

    assert topic_slugs(f"{cybertip['name']}; {cybertip['topics']}", ServiceKind.REPORTING) == [
        "sextortion",
        "csam_reporting",
        "grooming",
    ]
    assert topic_slugs("Samaritans; emotional support for anyone at risk of suicide", ServiceKind.HELPLINE) == [
        "emotional_support",
        "suicide_crisis",
    ]


def test_intimate_image_abuse_is_for_adults_not_images_of_children():
    kind = ServiceKind.REPORTING
    assert "intimate_image_abuse" in topic_slugs("adults: intimate image abuse incl. sextortion", kind)
    assert "intimate_image_abuse" not in topic_slugs("sharing of intimate images of under-18s", kind)
    assert "intimate_image_abuse" not in topic_slugs("grooming and image-based abuse of children", kind)


def test_police_units_are_for_police_reporting_and_not_for_image_removal():
    topics = topic_slugs("sextortion victims: use eSafety for image removal", ServiceKind.POLICE)

    assert "police_reporting" in topics
    assert "image_removal" not in topics


@pytest.mark.parametrize(
    ("name", "ages"),
    [
        ("Kids Helpline (yourtown)", (5, 25)),
        ("Childline (NSPCC)", (None, 19)),
        ("Childline (ISPCC, Ireland)", (None, 18)),
        ("Report Remove (Childline and Internet Watch Foundation)", (None, 17)),
        ("Revenge Porn Helpline (SWGfL)", (18, None)),
        ("Cybertip.ca (Canadian Centre for Child Protection)", (None, None)),
    ],
)
def test_the_audience_is_read_from_the_description(name, ages):
    assert audience(row_named(name)["topics"]) == ages


def test_languages_map_to_iso_codes_and_the_rest_is_kept():
    assert language_codes("English; French") == ([("en", "English"), ("fr", "French")], [])
    assert language_codes("English; Spanish; 250+ languages via interpreters (phone)") == (
        [("en", "English"), ("es", "Spanish")],
        ["250+ languages via interpreters (phone)"],
    )
    assert language_codes("English; Spanish (online reporting forms)") == (
        [("en", "English"), ("es", "Spanish")],
        ["Spanish (online reporting forms)"],
    )
    assert language_codes("multilingual investigators") == ([], ["multilingual investigators"])


@pytest.mark.parametrize(
    "text",
    [
        "24/7",
        "24/7/365",
        "24 hours",
        "24 hours a day, every day",
        "24 hours, 365 days",
        "24-hour toll-free hotline (per NCMEC FAQ)",
        "24-hour hotline",
        "non-emergency line 24/7",
    ],
)
def test_round_the_clock_texts_are_always_open(text):
    assert parse_hours(text) == [WeeklyHours(always_open=True)]


def test_weekday_hours_become_intervals_and_a_remark_about_email_is_left_out():
    hours = parse_hours(row_named("Revenge Porn Helpline (SWGfL)")["hours"])

    assert hours == [WeeklyHours(intervals=tuple((day, time(10), time(16)) for day in range(5)))]


def test_hours_after_midnight_are_kept_as_written():
    (hours,) = parse_hours("08:00-02:00 daily")

    assert hours.intervals == tuple((day, time(8), time(2)) for day in range(7))


def test_hours_that_name_channels_are_for_those_channels():
    assert parse_hours("24/7 (phone, text, online chat)") == [
        WeeklyHours(always_open=True, channels=frozenset({ChannelKind.PHONE, ChannelKind.SMS, ChannelKind.CHAT}))
    ]
    phone, written = parse_hours(row_named("NSPCC Helpline")["hours"])
    assert phone.channels == {ChannelKind.PHONE}
    assert phone.intervals == (
        *((day, time(8), time(22)) for day in range(5)),
        (5, time(9), time(18)),
        (6, time(9), time(18)),
    )
    assert written == WeeklyHours(always_open=True, channels=frozenset({ChannelKind.EMAIL, ChannelKind.WEB_FORM}))


def test_hours_of_something_else_than_the_service_are_not_structured():
    assert parse_hours("Service Centre (HQ lobby) 8:00-17:00 daily (as of 2022)") == []


def test_appointment_hours_are_read_without_the_qualifier():
    (hours,) = parse_hours("Mon-Fri 8:00-16:30, by appointment (as of 2022)")

    assert hours.intervals == tuple((day, time(8), time(16, 30)) for day in range(5))


def test_the_time_zone_follows_the_region_then_the_country():
    assert timezone_for("CA", "CA-SK") == "America/Regina"
    assert timezone_for("CA", "national") == "America/Toronto"
    assert timezone_for("GB", "GB-SCT") == "Europe/London"
    assert timezone_for("AU", "AU-NSW") == "Australia/Sydney"
    assert timezone_for("US", "US-CA") == "America/Los_Angeles"
    assert timezone_for("IE", "IE-D") == "Europe/Dublin"
    assert timezone_for("NZ", "NZ-CAN") == "Pacific/Auckland"
    assert timezone_for("IN", "national") == "Asia/Kolkata"
    assert timezone_for("WW", "worldwide") == "UTC"
    with pytest.raises(ValueError, match="No time zone"):
        timezone_for("ZA", "national")


def test_coverage_follows_the_region():
    assert coverage_for(["GB", "IE"], "UK and Republic of Ireland", "", None) == (
        CoverageSpec(CoverageScope.COUNTRY, country="GB"),
        CoverageSpec(CoverageScope.COUNTRY, country="IE"),
    )
    assert coverage_for(["US"], "worldwide (images taken before age 18)", "", None) == (
        CoverageSpec(CoverageScope.WORLDWIDE),
    )
    assert coverage_for(["AU"], "AU-TAS", "", None) == (
        CoverageSpec(CoverageScope.SUBDIVISION, country="AU", subdivision="AU-TAS"),
    )
    assert coverage_for(["CA"], "CA-SK", "Regina", None) == (
        CoverageSpec(CoverageScope.RADIUS, country="CA", radius_km=50.0),
    )


def test_sources_keep_their_annotations_apart_from_the_url():
    assert split_sources("https://a.example/x | https://b.example/y (phone number)") == [
        ("https://a.example/x", ""),
        ("https://b.example/y", "(phone number)"),
    ]


def test_a_row_with_a_phone_from_a_blog_is_pending_with_the_blog_named():
    plan = plan_service(row_named("Saskatoon Police Service"), read_curated())

    assert plan.verification_state == VerificationState.PENDING
    assert "phone 306-975-8300: copsandbloggers.ca (blog)" in plan.evidence_note
    assert "HQ address: a Wikipedia mirror" in plan.evidence_note


# --- load_seed against the database --------------------------------------------------------------


@pytest.fixture(scope="module")
def seed_output(django_db_setup, django_db_blocker):
    """Run load_seed once, on an empty postcode table, for this module's database tests."""
    out = io.StringIO()
    with django_db_blocker.unblock():
        PostcodeArea.objects.all().delete()
        call_command("load_seed", stdout=out)
    yield out.getvalue()
    with django_db_blocker.unblock():
        builders.clear_directory()


def service(name: str) -> Service:
    return Service.objects.get(name=name)


def in_country(country: str) -> int:
    return Service.objects.filter(Q(coverage__country=country) | Q(locations__country=country)).distinct().count()


def model_counts() -> dict[str, int]:
    models = (Organization, Service, ContactChannel, Schedule, OpeningInterval, Coverage, Location, Topic, Language)
    return {model.__name__: model.objects.count() for model in models}


@pytest.mark.django_db
def test_every_row_is_imported_and_summarised(seed_output):
    assert Service.objects.count() == LISTINGS
    assert Topic.objects.count() == len(taxonomy())
    assert "Rows: 154 (AU 12, CA 29, DE 13, FR 9, GB 17, IE 8, IN 12, NZ 14, US 36, WW 4)" in seed_output
    assert f"Listings: {LISTINGS}" in seed_output
    assert "verification: pending 73, verified 80" in seed_output
    assert "    IN: pending 12\n" in seed_output
    assert "    DE: pending 10, verified 3\n" in seed_output
    assert "123 phone/SMS channels parsed (phone 113, sms 10)" in seed_output
    # Only emergency numbers are left as notes (the service already gives them itself).
    assert "7 phone/SMS entries not parsed" in seed_output
    assert "    Gwent Police: 999 emergency\n" in seed_output


@pytest.mark.django_db
def test_national_short_codes_libphonenumber_does_not_know_become_channels(seed_output):
    """The listed ones (fixtures/short_codes.csv): dialled as written, only from inside their country."""

    def values(name: str, kind: str = "phone") -> list[str]:
        return list(service(name).channels.filter(kind=kind).values_list("value", flat=True))

    assert "1930" in values("National Cyber Crime Reporting Portal and helpline 1930 (I4C, Ministry of Home Affairs)")
    assert "1930" in values("Tamil Nadu Police \N{EN DASH} State Cyber Crime Wing")
    assert "14416" in values("Tele-MANAS (National Tele Mental Health Programme)")
    assert values("NZ Police \N{EN DASH} Wellington Central Police Station") == ["105"]
    assert values("Hilfetelefon Gewalt gegen Frauen") == ["116016"]
    netsafe = service("Netsafe").channels.get(kind="sms")
    assert (netsafe.value, netsafe.sms_keyword) == ("4282", "NETSAFE")
    assert values("Youthline", "sms") == ["234"]
    assert not reachable_from("phone", "1930", ["IN"], "NZ")
    assert reachable_from("phone", "1930", ["IN"], "IN")


@pytest.mark.django_db
def test_listings_are_found_in_their_countries(seed_output):
    # Samaritans covers GB and IE; Take It Down (a US row) covers the world, so no single country.
    assert {country: in_country(country) for country in ROWS_PER_COUNTRY if country != "WW"} == {
        "CA": 29,
        "US": 35,
        "GB": 17,
        "AU": 12,
        "IE": 9,
        "NZ": 14,
        "DE": 13,
        "FR": 9,
        "IN": 12,
    }
    worldwide = Service.objects.filter(coverage__scope=CoverageScope.WORLDWIDE).order_by("name")
    assert list(worldwide.values_list("name", flat=True)) == [
        "Child Helpline International \u2013 member helplines",
        "INHOPE \u2013 global network of internet hotlines",
        "StopNCII.org (Revenge Porn Helpline / SWGfL)",
        "Take It Down (NCMEC)",
    ]


@pytest.mark.django_db
def test_a_second_run_creates_and_changes_nothing(seed_output):
    before = model_counts()
    last_change = Service.objects.aggregate(last=Max("updated_at"))["last"]
    organization_change = Organization.objects.aggregate(last=Max("updated_at"))["last"]

    summary = load_seed()

    assert model_counts() == before
    assert summary.outcomes == {"unchanged": LISTINGS}
    assert Service.objects.aggregate(last=Max("updated_at"))["last"] == last_change
    assert Organization.objects.aggregate(last=Max("updated_at"))["last"] == organization_change


@pytest.mark.django_db
def test_a_changed_listing_is_put_back_in_place(seed_output):
    listing = service("Regina Police Service")
    listing.description = "edited"
    listing.save()
    listing.channels.filter(kind=ChannelKind.PHONE).delete()

    summary = load_seed()

    assert summary.outcomes == {"updated": 1, "unchanged": LISTINGS - 1}
    again = service("Regina Police Service")
    assert again.pk == listing.pk
    assert again.description.startswith("municipal police; non-emergency line")
    assert again.channels.get(kind=ChannelKind.PHONE).value == "+13067776500"


@pytest.mark.django_db
def test_a_listing_a_moderator_verified_is_left_alone(seed_output):
    moderator = get_user_model().objects.create_user("moderator-for-seed-test")
    Service.objects.filter(name="Saskatoon Police Service").update(
        verification_state=VerificationState.VERIFIED,
        verified_at=datetime(2026, 12, 1, tzinfo=UTC),
        verified_by=moderator,
        description="checked by phone",
    )

    summary = load_seed()

    assert summary.outcomes == {"kept_by_moderator": 1, "unchanged": LISTINGS - 1}
    listing = service("Saskatoon Police Service")
    assert (listing.verification_state, listing.description) == (VerificationState.VERIFIED, "checked by phone")


@pytest.mark.django_db
def test_kids_help_phone_has_its_phone_text_line_hours_and_french_name(seed_output):
    listing = service("Kids Help Phone")

    phone = listing.channels.get(kind=ChannelKind.PHONE, is_primary=True)
    sms = listing.channels.get(kind=ChannelKind.SMS)
    schedule = listing.schedules.get(channel=None)
    assert (phone.value, phone.display) == ("+18006686868", "1-800-668-6868")
    assert (sms.value, sms.sms_keyword) == ("686868", "CONNECT")
    assert (schedule.always_open, schedule.timezone) == (True, "America/Toronto")
    assert listing.localized("name", "fr") == "Jeunesse, J'écoute"
    assert listing.channels.get(kind=ChannelKind.WEBSITE).value == "https://kidshelpphone.ca"
    assert set(listing.languages.values_list("code", flat=True)) == {"en", "fr"}
    assert set(listing.topics.values_list("slug", flat=True)) == {"emotional_support", "suicide_crisis"}


@pytest.mark.django_db
def test_kids_help_phone_is_pending_because_its_number_came_from_a_news_article(seed_output):
    listing = service("Kids Help Phone")

    assert listing.verification_state == VerificationState.PENDING
    assert "CBC News article (2018)" in listing.evidence_note
    assert listing.verified_at is None


@pytest.mark.django_db
def test_cybertip_has_its_french_name(seed_output):
    assert service("Cybertip.ca (Canadian Centre for Child Protection)").localized("name", "fr") == "Cyberaide.ca"


@pytest.mark.django_db
def test_the_lapd_vanity_number_is_dialable(seed_output):
    phone = service("Los Angeles Police Department (LAPD)").channels.get(is_primary=True)

    assert (phone.value, phone.display) == ("+18772755273", "877-ASK-LAPD (877-275-5273)")


@pytest.mark.django_db
def test_saskatoon_police_is_pending_and_names_the_blog(seed_output):
    listing = service("Saskatoon Police Service")

    assert listing.verification_state == VerificationState.PENDING
    assert "copsandbloggers.ca (blog)" in listing.evidence_note
    assert listing.verified_at is None
    assert listing.hours_note == "Service Centre (HQ lobby) 8:00-17:00 daily (as of 2022)"
    assert not listing.schedules.exists()


@pytest.mark.django_db
def test_regina_police_is_placed_in_regina_and_covers_the_area_around_it(seed_output):
    listing = service("Regina Police Service")

    location = listing.locations.get()
    coverage = listing.coverage.get()
    assert (location.city, location.subdivision, location.precision) == ("Regina", "CA-SK", GeocodePrecision.CITY)
    assert location.latitude == pytest.approx(50.4, abs=0.15)
    assert location.longitude == pytest.approx(-104.6, abs=0.15)
    assert (coverage.scope, coverage.radius_km) == (CoverageScope.RADIUS, 50.0)
    assert (coverage.latitude, coverage.longitude) == (location.latitude, location.longitude)


@pytest.mark.django_db
def test_a_postcode_places_a_location_more_precisely_than_its_city(seed_output):
    location = service("Saskatoon Police Service").locations.get()

    assert (location.postcode, location.precision) == ("S7K 3P9", GeocodePrecision.POSTCODE)
    assert location.latitude == pytest.approx(52.16, abs=0.1)


@pytest.mark.django_db
def test_a_city_the_tables_cannot_place_keeps_no_point_and_covers_its_region(seed_output):
    listing = service(
        "Police Scotland - East Lothian (Lothians and Scottish Borders Division), Haddington police office"
    )

    location = listing.locations.get()
    assert (location.latitude, location.longitude, location.precision) == (None, None, GeocodePrecision.NONE)
    assert listing.coverage.get().subdivision == "GB-SCT"


@pytest.mark.django_db
def test_a_provincial_unit_covers_its_province(seed_output):
    listing = service("Saskatchewan Internet Child Exploitation (ICE) Unit - Saskatoon office")

    assert list(listing.coverage.values_list("scope", "subdivision")) == [(CoverageScope.SUBDIVISION, "CA-SK")]
    assert listing.locations.get().city == "Saskatoon"


@pytest.mark.django_db
def test_every_listing_keeps_all_its_sources(seed_output):
    new_names = {row["name"] for row in seed_rows() if row["source_seen"] == NEW_SOURCE_SEEN.date().isoformat()}
    for listing in Service.objects.all():
        assert listing.evidence_url, listing.name
        assert listing.evidence_sources[0] == listing.evidence_url, listing.name
        seen = NEW_SOURCE_SEEN if listing.name in new_names and listing.name != "Take It Down (NCMEC)" else SOURCE_SEEN
        assert listing.source_seen == seen.date(), listing.name
    assert len(service("Saskatoon Police Service").evidence_sources) == 4


@pytest.mark.django_db
def test_only_listings_with_a_verification_date_are_verified(seed_output):
    verified = Service.objects.filter(verification_state=VerificationState.VERIFIED)

    assert not verified.filter(verified_at=None).exists()
    for listing in verified:
        assert listing.verified_at in (SOURCE_SEEN, NEW_SOURCE_SEEN)
        assert listing.review_due == listing.verified_at + timedelta(days=180)
        assert listing.verified_by is None
        assert "Checked against" in listing.evidence_note
    assert set(Service.objects.values_list("verification_state", flat=True)) == {
        VerificationState.VERIFIED,
        VerificationState.PENDING,
    }


@pytest.mark.django_db
def test_the_organisations_own_pages_are_named_only_when_the_first_source_is_on_its_site(seed_output):
    assert service("Cybertip.ca (Canadian Centre for Child Protection)").evidence_note.startswith(
        "Checked against the organisation's own published pages (read 2026-11-21)."
    )
    assert "the first is not on the organisation's own website" in service("Staffordshire Police").evidence_note


@pytest.mark.django_db
def test_samaritans_covers_great_britain_and_ireland(seed_output):
    coverage = service("Samaritans").coverage.values_list("scope", "country")

    assert sorted(coverage) == [(CoverageScope.COUNTRY, "GB"), (CoverageScope.COUNTRY, "IE")]


@pytest.mark.django_db
def test_every_listing_with_a_phone_has_exactly_one_primary_phone(seed_output):
    for listing in Service.objects.filter(channels__kind=ChannelKind.PHONE).distinct():
        assert listing.channels.filter(kind=ChannelKind.PHONE, is_primary=True).count() == 1, listing.name


@pytest.mark.django_db
def test_per_channel_hours_are_on_the_channels(seed_output):
    lifeline = service("Lifeline Australia")
    nspcc = service("NSPCC Helpline")

    assert lifeline.schedules.filter(channel__kind=ChannelKind.SMS, always_open=True).exists()
    assert lifeline.schedules.get(channel=None).always_open
    for phone in nspcc.channels.filter(kind=ChannelKind.PHONE):
        assert phone.schedule.intervals.filter(weekday=5, opens=time(9), closes=time(18)).exists()


@pytest.mark.django_db
def test_a_station_open_past_midnight_closes_before_it_opens(seed_output):
    schedule = service("O'Connell Street Garda Station").schedules.get()

    assert schedule.timezone == "Europe/Dublin"
    assert set(schedule.intervals.values_list("weekday", "opens", "closes")) == {
        (day, time(8), time(2)) for day in range(7)
    }


@pytest.mark.django_db
def test_what_could_not_become_a_channel_or_language_is_kept_in_the_description(seed_output):
    assert "Phone (as listed): 999 emergency" in service("Police Service of Northern Ireland (PSNI)").description
    assert "250+ languages via interpreters (phone)" in service("988 Suicide & Crisis Lifeline").description
    assert "multilingual investigators" in service("NYPD Special Victims Unit").description


@pytest.mark.django_db
def test_organisations_are_shared_and_typed(seed_output):
    assert Organization.objects.get(name="NSPCC").services.count() == 3
    assert Organization.objects.get(name="An Garda Síochána").services.count() == 6
    assert Organization.objects.get(name="FBI").kind == "government"
    assert Organization.objects.get(name="Regina Police Service").kind == "police"
    assert Organization.objects.get(name="Kids Help Phone").kind == "charity"


@pytest.mark.django_db
def test_load_seed_loads_the_postcode_table_first_when_it_is_empty(seed_output):
    assert "CA: 1662 postcodes" in seed_output
    assert PostcodeArea.objects.filter(country="CA", code="S4P").exists()


def test_iso_language_codes_are_read_as_codes_not_names():
    assert language_codes("en; other languages via ezispeak interpreters") == (
        [("en", "English")],
        ["other languages via ezispeak interpreters"],
    )
    assert language_codes("hi; en") == ([("hi", "Hindi"), ("en", "English")], [])


def test_every_row_the_new_notes_call_third_party_only_is_pending():
    curated = read_curated()
    rows = [row for row in seed_rows() if row["source_seen"] == "2026-12-01"]
    pending = {row["name"] for row in rows if plan_service(row, curated).verification_state == "pending"}

    assert "New Zealand Police non-emergency line 105" in pending
    assert "3018 (Association e-Enfance)" in pending
    assert "TelefonSeelsorge" in pending
    assert {row["name"] for row in rows if row["country"] == "IN"} <= pending
    assert "Netsafe" not in pending
    assert "PHAROS \u2013 portail officiel de signalement des contenus illicites" not in pending
    assert "StopNCII.org (Revenge Porn Helpline / SWGfL)" not in pending


@pytest.mark.django_db
def test_take_it_down_is_one_worldwide_listing_with_the_sources_of_both_rows(seed_output):
    listing = service("Take It Down (NCMEC)")

    assert list(listing.coverage.values_list("scope", flat=True)) == [CoverageScope.WORLDWIDE]
    assert "https://takeitdown.ncmec.org/faq/" in listing.evidence_sources
    assert listing.evidence_sources[0] == listing.evidence_url
    assert "Listed twice in the shared data" in listing.evidence_note
    assert listing.channels.get(kind=ChannelKind.PHONE).value == "+18008435678"


@pytest.mark.django_db
def test_conflicts_and_doubts_in_the_notes_reach_the_moderator_in_the_evidence(seed_output):
    netsafe = service("Netsafe")
    tele_manas = service("Tele-MANAS (National Tele Mental Health Programme)")

    assert netsafe.verification_state == VerificationState.VERIFIED
    assert "Conflict: the Netsafe pages" in netsafe.evidence_note
    assert tele_manas.verification_state == VerificationState.PENDING
    assert '"1-800-91-4416", probably a typo' in tele_manas.evidence_note


@pytest.mark.django_db
def test_the_cork_garda_station_is_placed_in_cork(seed_output):
    location = service("Anglesea Street Garda Station (Cork City Divisional HQ)").locations.get()

    assert (location.precision, location.latitude, location.longitude) == (GeocodePrecision.CITY, 51.885, -8.4802)
