"""Reading the phone and SMS fields of the seed CSVs. Every input string here is copied from the data."""

import csv
from pathlib import Path

import pytest

from directory.phones import ContactSpec, dial_value, parse_contacts, parse_phone_field, parse_sms_field

HELPLINES = Path(__file__).resolve().parent.parent / "fixtures" / "helplines"


def only(specs: tuple[ContactSpec, ...]) -> ContactSpec:
    assert len(specs) == 1, specs
    return specs[0]


@pytest.mark.parametrize(
    ("written", "country", "stored"),
    [
        ("1-800-668-6868", "CA", "+18006686868"),
        ("1 800 659-4264", "CA", "+18006594264"),
        ("0800 1111", "GB", "+448001111"),
        ("0345 6000 459", "GB", "+443456000459"),
        ("+44 203 879 8560", "GB", "+442038798560"),
        ("1800 66 66 66", "IE", "+3531800666666"),
        ("0477 13 11 14", "AU", "+61477131114"),
    ],
)
def test_it_stores_numbers_that_can_be_dialled_from_abroad_as_e164(written, country, stored):
    assert dial_value(written, country) == stored


@pytest.mark.parametrize(
    ("written", "country", "stored"),
    [
        ("988", "CA", "988"),
        ("988", "US", "988"),
        ("101", "GB", "101"),
        ("116 123", "GB", "116123"),
        ("116 123", "IE", "116123"),
        ("686868", "CA", "686868"),
        ("741741", "US", "741741"),
        ("50101", "IE", "50101"),
        ("13 11 14", "AU", "131114"),
        ("131 444", "AU", "131444"),
        ("1800 55 1800", "AU", "1800551800"),
        ("1800 333 000", "AU", "1800333000"),
    ],
)
def test_it_stores_short_and_domestic_only_codes_as_the_digits_to_dial(written, country, stored):
    assert dial_value(written, country) == stored


def test_it_converts_vanity_letters_to_digits():
    assert dial_value("1-800-CALL-FBI", "US") == "+18002255324"
    assert dial_value("1-800-THE-LOST", "US") == "+18008435678"
    assert dial_value("877-ASK-LAPD", "US") == "+18772755273"


def test_it_keeps_the_star_of_a_mobile_star_code():
    assert dial_value("*877", "CA") == "*877"
    assert dial_value("*OPP", "CA") == "*677"


def test_it_keeps_a_seven_digit_310_number_as_dialled_because_it_has_no_e164_form():
    assert dial_value("310-7267", "CA") == "3107267"


def test_it_refuses_text_that_is_not_a_number():
    assert dial_value("ask at the front desk", "GB") is None
    assert dial_value("12", "GB") is None


def test_a_plain_number_becomes_the_primary_phone():
    spec = only(parse_phone_field("1-866-658-9022", "CA").channels)

    assert spec == ContactSpec(kind="phone", value="+18666589022", display="1-866-658-9022", is_primary=True)


def test_kids_help_phone_gets_a_phone_and_a_keyword_text_line():
    parsed = parse_contacts("1-800-668-6868", "686868 (text CONNECT)", "CA")

    phone, sms = parsed.channels
    assert (phone.kind, phone.value, phone.is_primary) == ("phone", "+18006686868", True)
    assert (sms.kind, sms.value, sms.sms_keyword, sms.display) == ("sms", "686868", "CONNECT", "686868")
    assert parsed.notes == ()


def test_crisis_text_line_has_a_text_line_and_no_phone():
    parsed = parse_contacts("", "741741 (text HOME)", "US")

    sms = only(parsed.channels)
    assert (sms.kind, sms.value, sms.sms_keyword, sms.is_primary) == ("sms", "741741", "HOME", False)


def test_a_text_number_without_keyword_is_read_too():
    assert only(parse_sms_field("0477 13 11 14", "AU").channels).value == "+61477131114"
    assert only(parse_sms_field("988", "US").channels).value == "988"


def test_the_vanity_form_in_brackets_stays_in_the_display():
    spec = only(parse_phone_field("1-800-843-5678 (1-800-THE-LOST)", "US").channels)

    assert spec.value == "+18008435678"
    assert spec.display == "1-800-843-5678 (1-800-THE-LOST)"
    assert spec.label == ""


def test_the_digits_in_brackets_after_a_vanity_number_stay_in_the_display():
    spec = only(parse_phone_field("877-ASK-LAPD (877-275-5273)", "US").channels)

    assert (spec.value, spec.display, spec.label) == ("+18772755273", "877-ASK-LAPD (877-275-5273)", "")


def test_the_alberta_310_line_keeps_its_vanity_display():
    spec = only(parse_phone_field("310-RCMP (310-7267)", "CA").channels)

    assert (spec.value, spec.display, spec.is_primary) == ("3107267", "310-RCMP (310-7267)", True)


def test_a_vanity_number_with_a_condition_keeps_the_condition_as_label():
    spec = only(parse_phone_field("1-800-THE-LOST (if the image is not on your device)", "US").channels)

    assert (spec.value, spec.display, spec.label) == (
        "+18008435678",
        "1-800-THE-LOST",
        "if the image is not on your device",
    )


def test_a_bracketed_label_is_kept():
    spec = only(parse_phone_field("801-281-1211 (ICAC tip line)", "US").channels)

    assert (spec.value, spec.label) == ("+18012811211", "ICAC tip line")


def test_several_numbers_each_become_a_channel_and_the_first_is_primary():
    first, second = parse_phone_field("646-610-7272; 212-267-7273", "US").channels

    assert (first.value, first.is_primary) == ("+16466107272", True)
    assert (second.value, second.is_primary) == ("+12122677273", False)


def test_labelled_numbers_separated_by_semicolons_keep_their_labels():
    hotline, stoppers = parse_phone_field(
        "1-800-387-5437 (Alberta Child Abuse Hotline); 1-800-222-8477 (Crime Stoppers)", "CA"
    ).channels

    assert (hotline.value, hotline.label, hotline.is_primary) == ("+18003875437", "Alberta Child Abuse Hotline", True)
    assert (stoppers.value, stoppers.label, stoppers.is_primary) == ("+18002228477", "Crime Stoppers", False)


def test_extensions_without_a_number_reuse_the_number_before_them():
    channels = parse_phone_field(
        "613-236-1222 ext 7300 (Police Reporting Unit); ext 5944 (Sexual Assault/Child Abuse Section); "
        "ext 2223 (Victim Support Unit)",
        "CA",
    ).channels

    assert [(c.value, c.extension, c.label, c.is_primary) for c in channels] == [
        ("+16132361222", "7300", "Police Reporting Unit", True),
        ("+16132361222", "5944", "Sexual Assault/Child Abuse Section", False),
        ("+16132361222", "2223", "Victim Support Unit", False),
    ]


def test_a_mobile_star_code_is_a_secondary_line_labelled_from_mobiles():
    line, star = parse_phone_field("416-808-2222 (non-emergency); *877 (*TPS) from mobiles", "CA").channels

    assert (line.value, line.label, line.is_primary) == ("+14168082222", "non-emergency", True)
    assert (star.value, star.display, star.label, star.is_primary) == ("*877", "*877 (*TPS)", "from mobiles", False)


def test_the_opp_star_code_is_converted_from_letters():
    line, star = parse_phone_field("1-888-310-1122 (OPP non-emergency, 24/7); *OPP from mobiles", "CA").channels

    assert (line.value, line.label, line.is_primary) == ("+18883101122", "OPP non-emergency, 24/7", True)
    assert (star.value, star.display, star.label) == ("*677", "*OPP", "from mobiles")


def test_uk_101_and_its_textphone_relay_number_are_two_lines():
    line, textphone = parse_phone_field("101 (non-emergency); textphone 18001 101", "GB").channels

    assert (line.value, line.label, line.is_primary) == ("101", "non-emergency", True)
    assert (textphone.value, textphone.display, textphone.label, textphone.is_primary) == (
        "18001101",
        "18001 101",
        "textphone",
        False,
    )


def test_a_tty_entry_keeps_the_dialling_instruction_in_its_display():
    line, tty = parse_phone_field("131 444 (Police Assistance Line); TTY 133 677 then 131 444#", "AU").channels

    assert (line.value, line.label, line.is_primary) == ("131444", "Police Assistance Line", True)
    assert (tty.value, tty.display, tty.label, tty.is_primary) == ("133677", "133 677 then 131 444#", "TTY", False)


@pytest.mark.parametrize("emergency", ["999 emergency", "999 if immediate threat"])
def test_an_emergency_number_is_a_note_not_a_channel(emergency):
    parsed = parse_phone_field(f"101 (non-emergency); {emergency}", "GB")

    assert [c.value for c in parsed.channels] == ["101"]
    assert parsed.notes == (emergency,)


def test_a_number_for_callers_abroad_is_a_second_labelled_line():
    uk, abroad = parse_phone_field("0808 800 5000 (from outside UK: +44 203 879 8560)", "GB").channels

    assert (uk.value, uk.display, uk.label, uk.is_primary) == ("+448088005000", "0808 800 5000", "", True)
    assert (abroad.value, abroad.display, abroad.label, abroad.is_primary) == (
        "+442038798560",
        "+44 203 879 8560",
        "from outside UK",
        False,
    )


def test_a_label_with_hours_in_it_stays_a_label():
    spec = only(parse_phone_field("131 444 (Policelink, 24/7)", "AU").channels)

    assert (spec.value, spec.label) == ("131444", "Policelink, 24/7")


def test_unreadable_entries_come_back_as_notes():
    parsed = parse_contacts("ask at the front desk; 101", "text us any time", "GB")

    assert [c.value for c in parsed.channels] == ["101"]
    assert parsed.notes == ("ask at the front desk", "text us any time")


def test_an_extension_with_no_number_before_it_is_a_note():
    parsed = parse_phone_field("ext 5944 (Sexual Assault/Child Abuse Section)", "CA")

    assert parsed.channels == ()
    assert parsed.notes == ("ext 5944 (Sexual Assault/Child Abuse Section)",)


def test_empty_fields_give_nothing():
    assert parse_contacts("", "", "CA").channels == ()
    assert parse_contacts("", "", "CA").notes == ()


def seed_rows() -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for name in ("known-services.csv", "local-services.csv"):
        with (HELPLINES / name).open(encoding="utf-8", newline="") as handle:
            rows.extend(csv.DictReader(handle))
    return rows


def test_every_seed_phone_entry_becomes_a_channel_except_the_emergency_mentions():
    notes: list[str] = []
    for row in seed_rows():
        parsed = parse_contacts(row["phone"], row.get("sms", ""), row["country"].split(";")[0])
        notes.extend(parsed.notes)
        primaries = [c for c in parsed.channels if c.is_primary]
        assert len(primaries) == (1 if any(c.kind == "phone" for c in parsed.channels) else 0), row["name"]

    assert sorted(notes) == ["999 emergency", "999 emergency", "999 if immediate threat"]
