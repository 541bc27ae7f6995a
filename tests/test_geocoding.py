"""Postcodes and cities to points from the real offline tables; the loader; the optional online geocoder."""

import csv
import io
import logging
import random
from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from geopy.exc import GeocoderTimedOut

from directory import geocoding
from directory.geocoding import (
    SUPPORTED_COUNTRIES,
    Place,
    county_for,
    locate_city,
    resolve_postcode,
    subdivision_for,
)
from directory.models import PostcodeArea

POSTCODE_TABLES = Path(__file__).resolve().parent.parent / "fixtures" / "postcodes"
# The big tables are cut down to the real rows these tests need (whole, they would triple the
# module's setup time): each keeps the neighbours of the codes tested, so an absent code is truly absent.
REAL_ROWS_NEEDED: dict[str, Callable[[dict[str, str]], bool]] = {
    "US": lambda row: (
        row["admin1"] in {"New York", "California"}
        or row["postcode"].startswith("010")
        or "Springfield" in row["place"]
    ),
    "DE": lambda row: row["postcode"][:2] in {"01", "10"} or row["place"] == "München",
    "FR": lambda row: row["postcode"][:2] in {"01", "10", "75"} or row["admin1"] == "974",
}


def write_subset(country: str, directory: Path) -> None:
    keep = REAL_ROWS_NEEDED[country]
    with (POSTCODE_TABLES / f"{country}.csv").open(encoding="utf-8", newline="") as source:
        reader = csv.DictReader(source)
        with (directory / f"{country}.csv").open("w", encoding="utf-8", newline="") as subset:
            writer = csv.DictWriter(subset, fieldnames=reader.fieldnames or [])
            writer.writeheader()
            writer.writerows(row for row in reader if keep(row))


@pytest.fixture(scope="module", autouse=True)
def postcode_tables(django_db_setup, django_db_blocker, tmp_path_factory):
    """Load the real postcode tables once for this module, and empty the table afterwards."""
    subsets = tmp_path_factory.mktemp("postcodes")
    for country in REAL_ROWS_NEEDED:
        write_subset(country, subsets)
    with django_db_blocker.unblock():
        call_command("load_postcodes", countries="CA,GB,AU,IE,NZ", stdout=io.StringIO())
        call_command("load_postcodes", countries=",".join(REAL_ROWS_NEEDED), directory=subsets, stdout=io.StringIO())
    yield
    with django_db_blocker.unblock():
        PostcodeArea.objects.all().delete()


def load_postcodes(*args: str, **options: object) -> str:
    out = io.StringIO()
    call_command("load_postcodes", *args, stdout=out, **options)
    return out.getvalue()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("raw", "country", "code", "subdivision"),
    [
        ("S4P 3Y2", None, "S4P", "CA-SK"),
        ("s4p3y2", "CA", "S4P", "CA-SK"),
        ("H2X 1Y4", None, "H2X", "CA-QC"),
        ("m5v2t6", None, "M5V", "CA-ON"),
        ("SW1A 1AA", None, "SW1A", "GB-ENG"),
        ("eh1 1yz", "gb", "EH1", "GB-SCT"),
        ("2000", None, "2000", "AU-NSW"),
        ("6011", "NZ", "6011", "NZ-WGN"),
        ("D02 X285", None, "D02", "IE-L"),
        ("10001", None, "10001", "US-NY"),
        ("90210-1234", "US", "90210", "US-CA"),
        ("10115", "DE", "10115", "DE-BE"),
        ("75001", "FR", "75001", "FR-75C"),
    ],
)
def test_it_resolves_a_postcode_to_its_area(raw, country, code, subdivision):
    place = resolve_postcode(raw, country)

    assert place is not None
    assert (place.code, place.subdivision) == (code, subdivision)


@pytest.mark.django_db
def test_regina_s4p_is_in_regina_saskatchewan():
    place = resolve_postcode("S4P 3Y2")

    assert place == Place("CA", "S4P", 50.448, -104.6054, "Regina Central", "CA-SK")


@pytest.mark.django_db
def test_without_a_country_it_takes_the_first_country_whose_table_has_the_code():
    # 01067 is not a US ZIP code (western Massachusetts is 010xx) but is a Dresden PLZ; 01000 is only French.
    dresden = resolve_postcode("01067")
    french = resolve_postcode("01000")

    assert dresden is not None
    assert dresden == resolve_postcode("01067", "DE")
    assert french is not None
    assert french.country == "FR"


@pytest.mark.django_db
def test_the_country_given_wins_over_the_format_order():
    new_york = resolve_postcode("10001")

    assert new_york is not None
    assert new_york.country == "US"
    assert resolve_postcode("10001", "FR") is None  # 10000 is Troyes; there is no 10001


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("raw", "country"),
    [
        ("", None),
        ("HELP", None),
        ("ZZZ 999", None),
        ("00000", None),
        ("2000", "NZ"),  # a valid format with no such postcode in New Zealand
        ("G0B", "CA"),  # dropped from the table: its only point was 850 km off
        ("M5V", "US"),
        ("M5V", "XX"),
        ("'; DROP TABLE directory_postcodearea; --", None),
        ("\x00\ud800", "CA"),
    ],
)
def test_junk_and_unknown_postcodes_resolve_to_nothing(raw, country):
    assert resolve_postcode(raw, country) is None


@pytest.mark.django_db
def test_a_resolved_postcode_is_cached_for_a_while(django_assert_num_queries):
    first = resolve_postcode("S4P 3Y2")
    with django_assert_num_queries(0):
        again = resolve_postcode("s4p")

    assert again == first


@pytest.mark.django_db
def test_an_unknown_postcode_is_cached_too(django_assert_num_queries):
    assert resolve_postcode("G0B", "CA") is None
    with django_assert_num_queries(0):
        assert resolve_postcode("G0B 1A0", "CA") is None


@pytest.mark.django_db
def test_a_postcode_is_remembered_in_the_process_without_the_shared_cache(django_assert_num_queries, monkeypatch):
    first = resolve_postcode("S4P 3Y2")
    monkeypatch.setattr(geocoding, "cache", None)  # any use of the shared cache would fail
    with django_assert_num_queries(0):
        assert resolve_postcode("S4P") == first


def _looked_up_in_sql(country: str, code: str) -> geocoding.Place | None:
    """The reference: the row's own unique-index seek, as a query."""
    row = PostcodeArea.objects.filter(country=country, code=code).first()
    if row is None:
        return None
    return geocoding.Place(row.country, row.code, row.latitude, row.longitude, row.place, row.subdivision, row.county)


@pytest.mark.django_db
def test_the_postcode_table_in_memory_answers_exactly_as_the_database_for_every_row_and_for_near_misses():
    rows = list(PostcodeArea.objects.values_list("country", "code"))
    assert len(rows) > 5000  # the real tables of five countries
    table = geocoding.PostcodeTable.read()
    reference = {
        (area.country, area.code): geocoding.Place(
            area.country, area.code, area.latitude, area.longitude, area.place, area.subdivision, area.county
        )
        for area in PostcodeArea.objects.all()
    }
    assert all(table.find(country, code) == reference[country, code] for country, code in rows)

    rng = random.Random(14)
    asked = [
        ("GB", "SW1A"),
        ("CA", ""),
        ("", "CAS4P"),
        ("C", "AS4P"),
        ("CA", "S4P\0"),
        ("CA", "S4P "),
        ("ca", "S4P"),
        ("CA", "\ud800"),
        ("US", "9" * 40),
        ("ZZ", "S4P"),
        ("CA", "s4p"),
    ]
    for country, code in rng.sample(rows, 500):
        cut = rng.randrange(len(code) + 1)
        asked += [
            (country, code[:cut]),
            (country, code + rng.choice("0A ")),
            (rng.choice(("CA", "GB", "AU", "IE", "NZ", "US")), code),
            (country, code[:cut] + rng.choice("0123456789ABCXYZ") + code[cut + 1 :]),
        ]
    for country, code in asked:
        expected = reference.get((country, code)) if "\0" not in code else None
        assert table.find(country, code) == expected, (country, code)
        if "\0" not in code and "\ud800" not in code:
            assert _looked_up_in_sql(country, code) == expected


def test_an_empty_postcode_table_finds_nothing():
    assert geocoding.PostcodeTable([]).find("CA", "S4P") is None


@pytest.mark.django_db
def test_an_edited_or_reloaded_postcode_is_looked_up_again(django_assert_num_queries):
    area = PostcodeArea.objects.get(country="CA", code="S4P")
    assert getattr(resolve_postcode("S4P", "CA"), "place", None) == area.place
    area.place = "Regina Downtown"
    area.save()
    assert getattr(resolve_postcode("S4P", "CA"), "place", None) == "Regina Downtown"
    area.delete()
    assert resolve_postcode("S4P", "CA") is None
    load_postcodes(countries="CA")
    with django_assert_num_queries(1):
        assert resolve_postcode("S4P", "CA") is not None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("country", "city", "subdivision", "near", "expected_subdivision"),
    [
        ("CA", "Regina", "", (50.45, -104.61), "CA-SK"),
        ("CA", "Toronto", "", (43.67, -79.39), "CA-ON"),
        ("CA", "montréal", "CA-QC", (45.53, -73.59), "CA-QC"),
        ("GB", "London", "", (51.51, -0.12), "GB-ENG"),
        ("AU", "Sydney", "", (-33.87, 151.21), "AU-NSW"),
        ("US", "Springfield", "US-IL", (39.78, -89.62), "US-IL"),
        ("DE", "München", "", (48.14, 11.56), "DE-BY"),
        ("FR", "Paris", "", (48.86, 2.34), "FR-75C"),
        ("IE", "Dublin", "", (53.34, -6.28), "IE-L"),
    ],
)
def test_it_puts_a_city_on_the_map_from_its_postcode_areas(country, city, subdivision, near, expected_subdivision):
    place = locate_city(country, city, subdivision)

    assert place is not None
    assert (place.latitude, place.longitude) == pytest.approx(near, abs=0.05)
    assert place.subdivision == expected_subdivision


@pytest.mark.django_db
@pytest.mark.parametrize("spelling", ["München", "Munchen", "MÜNCHEN", "  münchen "])
def test_city_names_match_whatever_their_case_and_accents(spelling):
    assert locate_city("DE", spelling) == Place("DE", "", 48.1435, 11.5618, "München", "DE-BY")


@pytest.mark.django_db
def test_a_french_saint_matches_the_la_poste_abbreviation():
    place = locate_city("FR", "Saint-Denis", "FR-974")

    assert place is not None
    assert place.subdivision == "FR-974"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("country", "city", "subdivision"),
    [
        ("US", "Springfield", ""),  # dozens of Springfields in many states: no single point
        ("CA", "Regina", "CA-ON"),
        ("GB", "Nowhereville Fake", ""),
        ("GB", "", ""),
        ("GB", "12345", ""),
        ("GB", "!!!", ""),
        ("ES", "Madrid", ""),
    ],
)
def test_it_returns_nothing_rather_than_guess_a_city(country, city, subdivision):
    assert locate_city(country, city, subdivision) is None


@pytest.mark.parametrize(
    ("country", "admin_name", "code"),
    [
        ("CA", "Saskatchewan", "CA-SK"),
        ("CA", "Quebec", "CA-QC"),
        ("CA", "Nunavut Territory", "CA-NU"),
        ("CA", "Northwest Territory", "CA-NT"),
        ("US", "California", "US-CA"),
        ("US", "District of Columbia", "US-DC"),
        ("GB", "England", "GB-ENG"),
        ("GB", "Scotland", "GB-SCT"),
        ("GB", "Wales", "GB-WLS"),
        ("GB", "Northern Ireland", "GB-NIR"),
        ("AU", "New South Wales", "AU-NSW"),
        ("IE", "Leinster", "IE-L"),
        ("IE", "Connacht", "IE-C"),
        ("IE", "Munster", "IE-M"),
        ("IE", "Ulster", "IE-U"),
        ("NZ", "Manawatu-Wanganui", "NZ-MWT"),
        ("NZ", "Wellington", "NZ-WGN"),
        ("DE", "Baden-Württemberg", "DE-BW"),
        ("DE", "Thuringen", "DE-TH"),
        ("IN", "Jammu And Kashmir", "IN-JK"),
        ("IN", "The Dadra And Nagar Haveli And Daman And Diu", "IN-DH"),
        ("IN", "Tamil Nadu", "IN-TN"),
        ("FR", "01", "FR-01"),
        ("FR", "2A", "FR-2A"),
        ("FR", "971", "FR-971"),
        ("FR", "75", "FR-75C"),
        ("ca", " saskatchewan ", "CA-SK"),
        ("CA", "CA-SK", "CA-SK"),
    ],
)
def test_it_maps_region_names_to_iso_3166_2(country, admin_name, code):
    assert subdivision_for(country, admin_name) == code


@pytest.mark.parametrize(
    ("country", "admin_name"),
    [("US", "Marshall Islands"), ("GB", ""), ("CA", "Atlantis"), ("XX", "Anywhere"), ("FR", "99"), ("", "Ontario")],
)
def test_an_unknown_region_maps_to_nothing(country, admin_name):
    assert subdivision_for(country, admin_name) == ""


@pytest.mark.parametrize("country", SUPPORTED_COUNTRIES)
def test_every_region_in_the_postcode_tables_has_an_iso_code(country):
    with (POSTCODE_TABLES / f"{country}.csv").open(encoding="utf-8", newline="") as table:
        regions = {row["admin1"] for row in csv.DictReader(table)} - {""}
    # The Marshall Islands are a country of their own, though they keep US ZIP codes.
    unmapped = {region for region in regions if not subdivision_for(country, region)} - {"Marshall Islands"}

    assert regions
    assert unmapped == set()


@pytest.mark.django_db
def test_the_loader_fills_the_table_with_raw_region_names_and_iso_codes():
    dublin = PostcodeArea.objects.get(country="IE", code="D02")
    crown_dependency = PostcodeArea.objects.get(country="GB", code="JE2")

    assert (dublin.place, dublin.admin_name, dublin.subdivision) == ("Dublin 2", "Leinster", "IE-L")
    assert (crown_dependency.admin_name, crown_dependency.subdivision) == ("", "")
    assert PostcodeArea.objects.filter(country="CA").count() == 1662
    assert PostcodeArea.objects.filter(country="GB").count() == 3002


@pytest.mark.django_db
def test_loading_again_changes_nothing_and_duplicates_nothing():
    before = list(PostcodeArea.objects.filter(country__in=["IE", "CA"]).values_list())

    output = load_postcodes(countries="IE,CA")

    assert output.splitlines() == [
        "IE: 138 postcodes (0 created, 0 updated, 0 removed)",
        "CA: 1662 postcodes (0 created, 0 updated, 0 removed)",
    ]
    assert list(PostcodeArea.objects.filter(country__in=["IE", "CA"]).values_list()) == before


@pytest.mark.django_db
def test_loading_restores_changed_rows_adds_missing_ones_and_removes_stray_ones():
    PostcodeArea.objects.filter(country="IE", code="D02").update(latitude=0.0, subdivision="")
    PostcodeArea.objects.filter(country="IE", code="D6W").delete()
    PostcodeArea.objects.create(country="IE", code="ZZZ", latitude=1.0, longitude=1.0)

    output = load_postcodes(countries="ie")

    assert output == "IE: 138 postcodes (1 created, 1 updated, 1 removed)\n"
    dublin = PostcodeArea.objects.get(country="IE", code="D02")
    assert (dublin.latitude, dublin.longitude, dublin.subdivision) == (53.34, -6.2543, "IE-L")
    assert PostcodeArea.objects.filter(country="IE", code="D6W").exists()
    assert not PostcodeArea.objects.filter(country="IE", code="ZZZ").exists()


@pytest.mark.django_db
def test_loading_only_the_countries_asked_for_leaves_the_others_alone():
    PostcodeArea.objects.filter(country="GB", code="SW1A").update(latitude=0.0)

    load_postcodes(countries="IE")

    assert PostcodeArea.objects.get(country="GB", code="SW1A").latitude == 0.0


@pytest.mark.django_db
@pytest.mark.parametrize("countries", ["ES", "CA,XX", ","])
def test_loading_an_unsupported_country_is_refused(countries):
    with pytest.raises(CommandError, match="Unsupported countries"):
        load_postcodes(countries=countries)


@pytest.mark.django_db
def test_a_table_with_a_key_the_app_could_never_look_up_is_refused_whole(tmp_path):
    (tmp_path / "IE.csv").write_text(
        "country,postcode,latitude,longitude,place,admin1\n"
        "IE,A41,53.5195,-6.2667,Fake Place One,Leinster\n"
        "IE,D02 X285,53.3400,-6.2543,Fake Place Two,Leinster\n",
        encoding="utf-8",
    )
    PostcodeArea.objects.filter(country="IE", code="A41").update(place="unchanged")

    with pytest.raises(CommandError, match=r"IE.csv:3: 'D02 X285' is not a IE postcode key"):
        load_postcodes(countries="IE", directory=tmp_path)

    assert PostcodeArea.objects.get(country="IE", code="A41").place == "unchanged"


@pytest.mark.django_db
def test_a_table_with_a_point_off_the_globe_is_refused(tmp_path):
    (tmp_path / "IE.csv").write_text(
        "country,postcode,latitude,longitude,place,admin1\nIE,A41,153.5,-6.2,Fake Place,Leinster\n",
        encoding="utf-8",
    )

    with pytest.raises(CommandError, match="A41 has no valid point"):
        load_postcodes(countries="IE", directory=tmp_path)


class FakeNominatim:
    """Stands in for the one function that talks to Nominatim, and counts the calls."""

    def __init__(self, answer=None, error=None):
        self.answer, self.error, self.calls = answer, error, 0

    def __call__(self, query, country):
        self.calls += 1
        if self.error:
            raise self.error
        return self.answer


def test_the_online_geocoder_is_not_asked_when_the_setting_is_off(settings, monkeypatch):
    settings.GEOCODER_ONLINE = False
    nominatim = FakeNominatim(answer=(50.0, -104.0, "Fake Street, Regina"))
    monkeypatch.setattr(geocoding, "_ask_nominatim", nominatim)

    assert geocoding.geocode_online("1 Fake Street, Regina", "CA") is None
    assert nominatim.calls == 0


def test_the_online_geocoder_answers_and_is_cached_when_enabled(settings, monkeypatch):
    settings.GEOCODER_ONLINE = True
    nominatim = FakeNominatim(answer=(50.0, -104.0, "Fake Street, Regina"))
    monkeypatch.setattr(geocoding, "_ask_nominatim", nominatim)

    first = geocoding.geocode_online("1 Fake Street, Regina", "ca")
    second = geocoding.geocode_online("1  fake street, regina", "CA")

    assert first == second == Place("CA", "", 50.0, -104.0, "Fake Street, Regina", "")
    assert nominatim.calls == 1


def test_an_online_geocoder_failure_returns_nothing_logs_no_address_and_is_not_cached(settings, monkeypatch, caplog):
    settings.GEOCODER_ONLINE = True
    nominatim = FakeNominatim(error=GeocoderTimedOut("timed out"))
    monkeypatch.setattr(geocoding, "_ask_nominatim", nominatim)

    with caplog.at_level(logging.WARNING, logger="directory.geocoding"):
        assert geocoding.geocode_online("1 Fake Street, Regina", "CA") is None
        assert geocoding.geocode_online("1 Fake Street, Regina", "CA") is None

    assert "GeocoderTimedOut" in caplog.text
    assert "Fake Street" not in caplog.text
    assert nominatim.calls == 2


def test_an_address_nominatim_does_not_know_is_remembered_as_unknown(settings, monkeypatch):
    settings.GEOCODER_ONLINE = True
    nominatim = FakeNominatim(answer=None)
    monkeypatch.setattr(geocoding, "_ask_nominatim", nominatim)

    assert geocoding.geocode_online("Nowhere Fake Road", "GB") is None
    assert geocoding.geocode_online("Nowhere Fake Road", "GB") is None
    assert nominatim.calls == 1


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("Staffordshire", "GB-STS"),
        ("Durham", "GB-DUR"),
        ("City of Edinburgh", "GB-EDH"),
        ("Vale of Glamorgan", "GB-VGL"),
        ("County of Bristol", "GB-BST"),
        ("Western Isles", "GB-ELS"),
        ("Greater Manchester", ""),
        ("Greater London", ""),
        ("West Midlands", ""),
        ("County Antrim", ""),
        ("", ""),
    ],
)
def test_a_gb_county_name_maps_to_its_iso_code_and_a_metropolitan_county_to_none(name, code):
    assert county_for("GB", name) == code


@pytest.mark.django_db
def test_a_gb_postcode_resolves_to_its_county_as_well_as_its_nation():
    areas = {code: resolve_postcode(code, "GB") for code in ("ST1", "WS11", "SW1A")}

    assert {code: (place.subdivision, place.county) for code, place in areas.items() if place} == {
        "ST1": ("GB-ENG", "GB-STS"),
        "WS11": ("GB-ENG", "GB-STS"),
        "SW1A": ("GB-ENG", ""),
    }


@pytest.mark.django_db
def test_the_misplaced_p14_routing_key_is_not_in_the_irish_table():
    assert resolve_postcode("P14", "IE") is None
    cork = resolve_postcode("T12", "IE")
    assert cork is not None
    assert cork.place == "Cork city southside"


@pytest.mark.django_db
def test_cork_is_placed_from_its_northside_and_southside_areas_within_its_province():
    cork = locate_city("IE", "Cork", "IE-M")

    assert cork is not None
    assert (cork.latitude, cork.longitude, cork.subdivision) == (51.885, -8.4802, "IE-M")
