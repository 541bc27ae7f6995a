"""Read the free-text phone and SMS fields of the seed listings into contact channels.

The fields are written for people, e.g. ``101 (non-emergency); textphone 18001 101`` or
``613-236-1222 ext 7300 (Police Reporting Unit); ext 5944 (…)``. Each ``;``-separated entry becomes
one channel. An entry that is not a line of the service itself (an emergency number such as
``999 emergency``) or that cannot be read comes back as a note, so nothing is dropped.

Channel values are E.164 (``+18006686868``) when libphonenumber says the number can be dialled from
abroad, otherwise the digits as dialled inside the country (``988``, ``116123``, ``131444``,
``1800551800``). Star codes keep their star (``*877``): without it they dial something else.

A few national short codes that the researched listings give are missing from libphonenumber's
short-number metadata (India's 1930 cyber crime line, New Zealand Police's 105, Germany's 116 016…).
``fixtures/short_codes.csv`` names each, with the listing and the source that give it; those, and only
those, are accepted as short codes of their country too.
"""

import csv
import re
from collections.abc import Collection
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

import phonenumbers
from phonenumbers import PhoneMetadata, shortnumberinfo
from phonenumbers.phonenumberutil import _is_number_matching_desc, _number_type_helper

EMERGENCY_NUMBERS = frozenset({"000", "111", "112", "911", "999"})

_ENTRY = re.compile(
    r"^(?:(?P<mode>textphone|TTY)\s+)?"
    r"(?P<number>[+*]?[0-9A-Z](?:[0-9A-Z -]*[0-9A-Z])?)"
    r"(?:\s+ext\.?\s*(?P<extension>\d+))?"
    r"(?:\s*\((?P<bracket>[^()]*)\))?"
    r"\s*(?P<rest>.*)$"
)
_EXTENSION_ONLY = re.compile(r"^ext\.?\s*(?P<extension>\d+)(?:\s*\((?P<bracket>[^()]*)\))?\s*(?P<rest>.*)$")
# "from outside UK: +44 203 879 8560", or with no colon before an international number: "from abroad +33 1 …".
_LABELLED_NUMBER = re.compile(r"^(?P<label>[^:+]+?)(?::\s*|\s+(?=\+))(?P<number>\+?[0-9][0-9 ()-]*[0-9])$")
# "4282 (text 'Netsafe')", "234 (free text)", "741741 (text HOME)".
_SMS_ENTRY = re.compile(
    r"^(?P<number>\+?[0-9][0-9 -]*[0-9])"
    r"(?:\s*\((?:text\s+(?P<quote>['\"]?)(?P<keyword>[A-Za-z0-9]+)(?P=quote)|free text)\))?$"
)
SHORT_CODES_FILE = Path(__file__).resolve().parent.parent / "fixtures" / "short_codes.csv"


@cache
def listed_short_codes() -> frozenset[tuple[str, str]]:
    """(country, digits) of the short codes in ``fixtures/short_codes.csv``."""
    with SHORT_CODES_FILE.open(encoding="utf-8", newline="") as handle:
        return frozenset((row["country"], row["number"]) for row in csv.DictReader(handle))


@dataclass(frozen=True)
class ContactSpec:
    """A phone or SMS channel read from the source text."""

    kind: str
    value: str
    display: str
    extension: str = ""
    sms_keyword: str = ""
    label: str = ""
    is_primary: bool = False


@dataclass(frozen=True)
class ParsedContacts:
    channels: tuple[ContactSpec, ...] = ()
    notes: tuple[str, ...] = ()


def dial_value(text: str, country: str) -> str | None:
    """Return what to store for a written number: E.164, in-country digits, a star code, or None."""
    if text.startswith("*"):
        digits = _digits(phonenumbers.convert_alpha_characters_in_number(text[1:]))
        return f"*{digits}" if digits else None
    written = phonenumbers.convert_alpha_characters_in_number(text)
    try:
        number = phonenumbers.parse(written, country)
    except phonenumbers.NumberParseException:
        return None
    if phonenumbers.is_valid_number(number):
        if phonenumbers.can_be_internationally_dialled(number) and not _is_nanp_seven_digit(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        return _digits(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL))
    if shortnumberinfo.is_valid_short_number_for_region(number, country):
        return _digits(written)
    if (country, _digits(written)) in listed_short_codes():
        return _digits(written)
    return None


# Channels that go through the telephone network; the others (websites, forms, chat, WhatsApp) work anywhere.
DIALLED_KINDS = ("phone", "sms")
# Numbers that, as a rule, do not connect from another country's network.
_DOMESTIC_TYPES = frozenset({phonenumbers.PhoneNumberType.TOLL_FREE, phonenumbers.PhoneNumberType.SHARED_COST})


def reachable_from(kind: str, value: str, home_countries: Collection[str], caller_country: str) -> bool:
    """Tell whether someone in ``caller_country`` can use a channel of a listing serving ``home_countries``.

    A number stored in E.164 works from its own country code's countries (all of +1 for a North
    American number) and from abroad unless it is toll-free or shared-cost (1-800, 0800 …). Digits
    stored as dialled in the country (short codes, national-only numbers, star codes) work only in
    the countries the listing serves. With no caller country, every channel counts.
    """
    if kind not in DIALLED_KINDS or not caller_country:
        return True
    caller_country = caller_country.upper()
    if not value.startswith("+"):
        return caller_country in home_countries
    if caller_country in _regions_of_calling_code(value):
        return True
    return reachable_by_parsing(value, caller_country)


def reachable_by_parsing(value: str, caller_country: str) -> bool:
    """The E.164 rule of ``reachable_from`` read off the fully parsed number.

    ``phonenumbers.can_be_internationally_dialled`` and ``phonenumbers.number_type`` each look for the
    number's region first, which for a calling code shared by many regions (+1: 25) tries each region's
    patterns in turn, most of a parse's cost. The region is looked for once here and both answers read off
    its metadata, as those two functions do; ``tests/test_channel_reachability.py`` holds this to them.
    """
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return False
    if caller_country in phonenumbers.region_codes_for_country_code(number.country_code or 0):
        return True
    region = phonenumbers.region_code_for_number(number)
    national = phonenumbers.national_significant_number(number)
    own = PhoneMetadata.metadata_for_region(region, None) if region else None
    if own is not None and _is_number_matching_desc(national, own.no_international_dialling):
        return False  # not can_be_internationally_dialled
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(number.country_code or 0, region) if region else None
    kind = phonenumbers.PhoneNumberType.UNKNOWN if metadata is None else _number_type_helper(national, metadata)
    return kind not in _DOMESTIC_TYPES


_E164 = re.compile(r"\+[1-9][0-9]{6,14}")


def _regions_of_calling_code(value: str) -> tuple[str, ...]:
    """The regions of an E.164 number's country calling code, read as ``phonenumbers.parse`` reads it (the
    codes are prefix-free, one to three digits), without parsing the rest; () when it is not plain E.164."""
    if not _E164.fullmatch(value):
        return ()
    for length in (1, 2, 3):
        regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(int(value[1 : 1 + length]))
        if regions:
            return tuple(regions)
    return ()


def parse_contacts(phone: str, sms: str, country: str) -> ParsedContacts:
    """Read both fields of one listing; the first proper phone line becomes the primary one."""
    phones = parse_phone_field(phone, country)
    texts = parse_sms_field(sms, country)
    return ParsedContacts(channels=phones.channels + texts.channels, notes=phones.notes + texts.notes)


def parse_phone_field(raw: str, country: str) -> ParsedContacts:
    channels: list[ContactSpec] = []
    proper: list[bool] = []
    notes: list[str] = []
    for entry in _entries(raw):
        extension = _EXTENSION_ONLY.match(entry)
        if extension and channels:
            previous = channels[-1]
            channels.append(
                replace(
                    previous,
                    extension=extension["extension"],
                    label=_join(extension["bracket"], extension["rest"]),
                    is_primary=False,
                )
            )
            proper.append(proper[-1])
            continue
        parsed = _parse_phone_entry(entry, country)
        if parsed is None:
            notes.append(entry)
            continue
        for spec, is_proper in parsed:
            channels.append(spec)
            proper.append(is_proper)
    if True in proper:
        first = proper.index(True)
        channels[first] = replace(channels[first], is_primary=True)
    return ParsedContacts(channels=tuple(channels), notes=tuple(notes))


def parse_sms_field(raw: str, country: str) -> ParsedContacts:
    channels: list[ContactSpec] = []
    notes: list[str] = []
    for entry in _entries(raw):
        match = _SMS_ENTRY.match(entry)
        value = dial_value(match["number"], country) if match else None
        if match is None or value is None:
            notes.append(entry)
            continue
        channels.append(
            ContactSpec(kind="sms", value=value, display=match["number"], sms_keyword=(match["keyword"] or "").upper())
        )
    return ParsedContacts(channels=tuple(channels), notes=tuple(notes))


def _parse_phone_entry(entry: str, country: str) -> list[tuple[ContactSpec, bool]] | None:
    """Return the channels of one entry, each with whether it is a proper line, or None for a note."""
    match = _ENTRY.match(entry)
    if match is None:
        return None
    written, mode, bracket, rest = match["number"], match["mode"], match["bracket"] or "", match["rest"]
    if mode:
        return _parse_relay_entry(mode, written, bracket, rest)
    if _digits(written) in EMERGENCY_NUMBERS:
        return None
    value = dial_value(written, country)
    if value is None:
        return None
    display, label, extra = written, rest, []
    if bracket and dial_value(bracket, country) == value:
        display = f"{written} ({bracket})"
    elif labelled := _LABELLED_NUMBER.match(bracket):
        other = dial_value(labelled["number"], country)
        if other is None:
            return None
        extra.append(
            (ContactSpec(kind="phone", value=other, display=labelled["number"], label=labelled["label"]), False)
        )
    else:
        label = _join(bracket, rest)
    spec = ContactSpec(kind="phone", value=value, display=display, extension=match["extension"] or "", label=label)
    return [(spec, not value.startswith("*")), *extra]


def _parse_relay_entry(mode: str, written: str, bracket: str, rest: str) -> list[tuple[ContactSpec, bool]] | None:
    """Read a textphone or TTY entry: the relay digits to dial, then any instruction such as "then 131 444#"."""
    if bracket or (rest and not rest.startswith("then ")):
        return None
    display = f"{written} {rest}".strip()
    return [(ContactSpec(kind="phone", value=_digits(written), display=display, label=mode), False)]


def _is_nanp_seven_digit(number: phonenumbers.PhoneNumber) -> bool:
    """Tell apart 310-xxxx style numbers, which have no area code and cannot be written in E.164."""
    return number.country_code == 1 and len(phonenumbers.national_significant_number(number)) != 10


def _entries(raw: str) -> list[str]:
    return [entry.strip() for entry in raw.split(";") if entry.strip()]


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def _join(*parts: str | None) -> str:
    return "; ".join(part.strip() for part in parts if part and part.strip())
