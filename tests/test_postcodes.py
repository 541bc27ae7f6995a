"""Recognising postcodes: each country's format, and postcodes inside free text (pure, no database)."""

import csv
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from directory.geocoding import (
    SUPPORTED_COUNTRIES,
    PostcodeMatch,
    countries_for_postcode,
    find_postcode_in_text,
    normalize_postcode,
)

POSTCODE_TABLES = Path(__file__).resolve().parent.parent / "fixtures" / "postcodes"


@pytest.mark.parametrize(
    ("country", "raw", "key"),
    [
        ("CA", "m5v2t6", "M5V"),
        ("CA", "M5V 2T6", "M5V"),
        ("CA", "M5V", "M5V"),
        ("CA", " s4p 3y2 ", "S4P"),
        ("CA", "H2X-1Y4", "H2X"),
        ("GB", "sw1a1aa", "SW1A"),
        ("GB", "SW1A 1AA", "SW1A"),
        ("GB", "EH1", "EH1"),
        ("GB", "eh1 1yz", "EH1"),
        ("GB", "EH11YZ", "EH1"),
        ("GB", "EH11", "EH11"),
        ("GB", "ME1", "ME1"),
        ("GB", "W1A 1AA", "W1A"),
        ("GB", "JE2 3AB", "JE2"),
        ("US", "90210-1234", "90210"),
        ("US", "90210", "90210"),
        ("US", "00501", "00501"),
        ("AU", "2000", "2000"),
        ("AU", "0800", "0800"),
        ("NZ", "6011", "6011"),
        ("NZ", "0110", "0110"),
        ("IE", "D02 X285", "D02"),
        ("IE", "d02x285", "D02"),
        ("IE", "D02", "D02"),
        ("IE", "D6W", "D6W"),
        ("IE", "d6w y123", "D6W"),
        ("DE", "10115", "10115"),
        ("DE", "01067", "01067"),
        ("FR", "75001", "75001"),
        ("FR", "20000", "20000"),
        ("FR", "97100", "97100"),
        ("IN", "110001", "110001"),
        ("IN", "110 001", "110001"),
        ("ca", "m5v 2t6", "M5V"),
    ],
)
def test_it_normalises_a_postcode_to_the_table_key(country, raw, key):
    assert normalize_postcode(country, raw) == key


@pytest.mark.parametrize(
    ("country", "raw"),
    [
        ("CA", "HELP"),
        ("CA", "D5V"),  # D is never used in Canadian postcodes
        ("CA", "W1A"),  # nor W as a first letter
        ("CA", "M5V 2T"),
        ("CA", "M5V2T6X"),
        ("GB", "HELP"),
        ("GB", "ME"),
        ("GB", "QQ1"),  # no such postcode area
        ("GB", "EH1A"),  # a letter after the district only in central London
        ("GB", "SW1A 1CA"),  # C is never in the inward code's letters
        ("GB", "SW1A 1A"),
        ("US", "9021"),
        ("US", "00000"),
        ("US", "90210-123"),
        ("AU", "200"),
        ("AU", "0500"),
        ("NZ", "0000"),
        ("IE", "B02"),  # not an Eircode routing key
        ("IE", "D02 X28"),
        ("IE", "D02 B285"),  # B is not in the Eircode alphabet
        ("DE", "00123"),
        ("FR", "99000"),
        ("FR", "96000"),
        ("IN", "011001"),
        ("IN", "11000"),
        ("ES", "28001"),  # not a supported country
        ("CA", ""),
        ("CA", "   "),
        ("CA", "M5V\x002T6"),
        ("CA", "\uff2d\uff15\uff36"),  # full-width letters are not a postcode an SMS keyboard sends
        ("GB", "\u017fw1a"),  # a long s upper-cases to S, but is not ASCII
        ("US", "1" * 100),
    ],
)
def test_it_rejects_what_is_not_that_countrys_format(country, raw):
    assert normalize_postcode(country, raw) is None


@pytest.mark.parametrize(
    ("raw", "countries"),
    [
        ("S4P 3Y2", ("CA",)),
        ("H2X", ("CA",)),
        ("SW1A 1AA", ("GB",)),
        ("EH1", ("GB",)),
        ("D02 X285", ("IE",)),
        ("2000", ("AU", "NZ")),
        ("0500", ("NZ",)),
        ("10001", ("US", "DE", "FR")),
        ("00501", ("US",)),
        ("90210-1234", ("US",)),
        ("110001", ("IN",)),
        ("HELP", ()),
        ("", ()),
    ],
)
def test_it_lists_the_countries_whose_format_fits_most_specific_first(raw, countries):
    assert countries_for_postcode(raw) == countries


@pytest.mark.parametrize("country", SUPPORTED_COUNTRIES)
def test_every_key_in_the_postcode_tables_normalises_to_itself(country):
    with (POSTCODE_TABLES / f"{country}.csv").open(encoding="utf-8", newline="") as table:
        keys = [row["postcode"] for row in csv.DictReader(table)]

    assert keys
    assert [key for key in keys if normalize_postcode(country, key) != key] == []


def found(text: str, hint: str | None = None) -> tuple[str, str, str] | None:
    match = find_postcode_in_text(text, hint)
    return (match.country, match.key, text[match.start : match.end]) if match else None


@pytest.mark.parametrize(
    ("text", "hint", "expected"),
    [
        ("help me pls my postcode is m5v2t6", None, ("CA", "M5V", "m5v2t6")),
        ("help me pls my postcode is m5v2t6", "CA", ("CA", "M5V", "m5v2t6")),
        ("AIDE H2X 1Y4", "CA", ("CA", "H2X", "H2X 1Y4")),
        ("HELP S4P 3Y2", None, ("CA", "S4P", "S4P 3Y2")),
        ("s4p3y2 help", "CA", ("CA", "S4P", "s4p3y2")),
        ("HELP SW1A 1AA please", None, ("GB", "SW1A", "SW1A 1AA")),
        ("HELP SW1A 1AA please", "GB", ("GB", "SW1A", "SW1A 1AA")),
        ("help eh1", "GB", ("GB", "EH1", "eh1")),
        ("HELP ME1 4AA", "GB", ("GB", "ME1", "ME1 4AA")),
        ("help D02 X285", "IE", ("IE", "D02", "D02 X285")),
        ("help d6w", "IE", ("IE", "D6W", "d6w")),
        ("ayuda 10001", None, ("US", "10001", "10001")),
        ("ayuda 10001", "US", ("US", "10001", "10001")),
        ("hilfe 10001", "DE", ("DE", "10001", "10001")),
        ("aide 75001", "FR", ("FR", "75001", "75001")),
        ("2000 help", None, ("AU", "2000", "2000")),
        ("2000 help", "AU", ("AU", "2000", "2000")),
        ("help 6011", "NZ", ("NZ", "6011", "6011")),
        ("help 110 001", "IN", ("IN", "110001", "110 001")),
        ("help 90210-1234", "US", ("US", "90210", "90210-1234")),
        ("help 2000.", "AU", ("AU", "2000", "2000")),
        ("HELP:M5V", "CA", ("CA", "M5V", "M5V")),
        ("«M5V 2T6»", None, ("CA", "M5V", "M5V 2T6")),
    ],
)
def test_it_finds_the_postcode_in_free_text(text, hint, expected):
    assert found(text, hint) == expected


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("HELP", None),
        ("HELP ME PLS", None),
        ("help me", "GB"),
        ("I AM 15", None),
        ("i am 15 and scared", "AU"),
        ("2000 help", "US"),  # four digits are not a US postcode
        ("ayuda 10001", "ES"),  # five digits from a Spanish number are a Spanish postcode, not ours
        ("call me 416 555 1234", None),
        ("they want $2000", "AU"),
        ("they want 2000$", "AU"),
        ("at 20:00 tonight", "AU"),
        ("on 12/2000", "AU"),
        ("+61 2000 0000", None),
        ("ref 123456789", None),
        ("talk l8r", "CA"),
        ("b4 tonight", "GB"),
        ("m8 help", "GB"),
        ("helpme1", "GB"),
        ("ABCM5V", None),
        ("M5VX", None),
        ("", None),
    ],
)
def test_it_does_not_take_words_ages_or_other_numbers_for_a_postcode(text, hint):
    assert find_postcode_in_text(text, hint) is None


def test_a_full_postcode_wins_over_an_earlier_partial_one():
    assert found("EH1 or M5V 2T6", "CA") == ("CA", "M5V", "M5V 2T6")


def test_a_full_alphanumeric_postcode_counts_whatever_the_senders_country():
    assert found("help D02 X285", "US") == ("IE", "D02", "D02 X285")
    assert found("AIDE H2X 1Y4", "FR") == ("CA", "H2X", "H2X 1Y4")


def test_a_partial_postcode_of_another_country_than_the_hint_is_ignored():
    assert find_postcode_in_text("help EH1", "CA") is None


def test_the_hint_chooses_between_countries_sharing_a_format():
    assert found("2000", "NZ") == ("NZ", "2000", "2000")
    assert found("10001", "FR") == ("FR", "10001", "10001")


def test_a_text_speak_word_still_counts_when_written_as_a_full_postcode():
    assert found("help L8R 1A1", "CA") == ("CA", "L8R", "L8R 1A1")


def test_the_span_points_into_the_text_as_given_even_after_characters_that_change_length():
    text = "Straße ǅ İ help sw1a 1aa"

    assert found(text) == ("GB", "SW1A", "sw1a 1aa")


@given(st.text())
def test_normalising_never_raises_and_returns_a_key_or_none(raw):
    for country in SUPPORTED_COUNTRIES:
        key = normalize_postcode(country, raw)
        assert key is None or (key.isascii() and key.isalnum() and key == key.upper())


@given(st.text(), st.sampled_from([None, "", "CA", "US", "GB", "AU", "ES", "zz", " ca "]))
def test_finding_never_raises_and_the_match_is_a_postcode_of_its_country(text, hint):
    match = find_postcode_in_text(text, hint)

    assert match is None or isinstance(match, PostcodeMatch)
    if match is not None:
        assert 0 <= match.start < match.end <= len(text)
        assert normalize_postcode(match.country, text[match.start : match.end]) == match.key


@given(
    st.lists(
        st.one_of(
            st.sampled_from(["help", "HELP", "me", "pls", "aide", "ayuda", "M5V 2T6", "15", "2000", "  ", "!"]),
            st.text(),
        )
    ),
)
def test_finding_in_text_built_from_message_words_never_raises(words):
    text = " ".join(words)

    match = find_postcode_in_text(text, "CA")

    assert match is None or normalize_postcode(match.country, text[match.start : match.end]) == match.key
