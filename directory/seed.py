"""Import the seed listings (``fixtures/helplines``) and the topic taxonomy (``fixtures/topics.json``).

Reading a CSV row into a ``ServicePlan`` is pure and rule-based (see the small tables below);
``load_seed`` writes the plans in one transaction. Listings are matched on name + country and updated
in place, and a listing already as the files describe is not touched, so a second run changes nothing.
A listing a moderator has verified (``verified_by`` set) is left as the moderator left it.
"""

import csv
import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pycountry
from django.conf import settings
from django.db import transaction
from django.db.models import Q

from directory.audit import acting_as
from directory.changes import bump_version
from directory.geocoding import Place, locate_city, resolve_postcode
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
    OrganizationKind,
    Schedule,
    Service,
    ServiceKind,
    Topic,
    VerificationState,
)
from directory.phones import ContactSpec, parse_contacts
from directory.validators import is_subdivision_code

FIXTURES = Path(settings.BASE_DIR) / "fixtures"
HELPLINES = FIXTURES / "helplines"
SEED_FILES = (
    "known-services.csv",
    "local-services.csv",
    "national-services-nz-de-fr-in-ww.csv",
    "local-services-nz-de-fr-in.csv",
)
# The country code the shared data gives rows that serve everyone, wherever they are.
WORLDWIDE = "WW"
CITY_RADIUS_KM = 50.0
REVIEW_INTERVAL_DAYS = 180

# --- Organisations -------------------------------------------------------------------------------

# Text in a service name -> its organisation, where the name's brackets do not say it plainly.
ORGANIZATION_ALIASES: tuple[tuple[str, str], ...] = (
    ("Canadian Centre for Child Protection", "Canadian Centre for Child Protection"),
    ("Report Remove", "NSPCC"),
    ("NSPCC", "NSPCC"),
    ("NCMEC", "NCMEC"),
    ("FBI", "FBI"),
    ("RCMP", "RCMP"),
    ("CEOP", "National Crime Agency"),
    ("ACCCE", "Australian Centre to Counter Child Exploitation (ACCCE)"),
    ("Garda", "An Garda Síochána"),
    ("ALERT Internet Child Exploitation", "ALERT"),
    ("LAPD", "Los Angeles Police Department (LAPD)"),
    ("NYPD", "NYPD"),
    ("Saskatoon Police Service", "Saskatoon Police Service"),
)
GOVERNMENT_MARKERS = (
    "RCMP",
    "FBI",
    "National Crime Agency",
    "Australian Centre to Counter Child Exploitation",
    "eSafety Commissioner",
    "Attorney General",
    "District Attorney",
)
POLICE_MARKERS = ("Police", "Sheriff", "Garda", "Sûreté", "Bureau of", "Law Enforcement", "NYPD", "ALERT")
CHARITY_MARKERS = (
    "Canadian Centre for Child Protection",
    "Kids Help Phone",
    "NSPCC",
    "ISPCC",
    "Samaritans",
    "SWGfL",
    "yourtown",
    "Lifeline Australia",
)
_TRAILING_BRACKET = re.compile(r"^(?P<head>.+?)\s*\((?P<inner>[^()]+)\)$")


def organization_name(service_name: str) -> str:
    """Name the organisation behind a listing: an alias, the part before " - ", the brackets, or the name."""
    for text, organization in ORGANIZATION_ALIASES:
        if text in service_name:
            return organization
    head, separator, _ = service_name.replace(" \u2013 ", " - ").partition(" - ")
    if separator:
        return head.strip()
    match = _TRAILING_BRACKET.match(service_name)
    if match:
        inner = match["inner"].split(",")[0].strip()
        if not inner.startswith("formerly") and not _is_acronym_of(inner, match["head"]):
            return inner
    return service_name


def organization_kind(organization: str, row_kind: str) -> str:
    if any(marker in organization for marker in GOVERNMENT_MARKERS):
        return OrganizationKind.GOVERNMENT
    if row_kind == "police" or any(marker in organization for marker in POLICE_MARKERS):
        return OrganizationKind.POLICE
    if any(marker in organization for marker in CHARITY_MARKERS):
        return OrganizationKind.CHARITY
    return OrganizationKind.NGO


def _is_acronym_of(short: str, words: str) -> bool:
    """Tell whether ``short``'s capitals spell initials of ``words`` ("SPVM" of "Service de police … Montréal")."""
    capitals = [char for char in short if char.isupper()]
    initials = iter(word[0].upper() for word in re.findall(r"\w+", words))
    return len(capitals) >= 2 and all(capital in initials for capital in capitals)


# --- Service kind, topics, audience, languages -----------------------------------------------------

REPORTING_WORDS = ("report", "remov", "tipline")


def service_kind(row_kind: str, text: str) -> str:
    """Map the CSV kind; an agency is a reporting body when it takes reports or removes images."""
    if row_kind == "helpline":
        return ServiceKind.HELPLINE
    if row_kind == "police":
        return ServiceKind.POLICE
    if any(word in text.lower() for word in REPORTING_WORDS):
        return ServiceKind.REPORTING
    return ServiceKind.SUPPORT_AGENCY


# Intimate images of adults; "intimate images of under-18s" and "image-based abuse of children" are not.
_INTIMATE_IMAGES = re.compile(r"(?:intimate images?|revenge porn|image-based abuse)\b(?! of (?:children|under-18s))")


def topic_slugs(text: str, kind: str) -> list[str]:
    """Assign taxonomy topics from a listing's name and description and its kind."""
    text = text.lower()

    def mentions(*words: str) -> bool:
        return any(word in text for word in words)

    rules = (
        ("sextortion", mentions("sextortion", "sexual extortion", "blackmail")),
        (
            "csam_reporting",
            kind in (ServiceKind.REPORTING, ServiceKind.POLICE)
            and mentions("child sexual abuse material", "csam", "exploitation", "illegal", "indecent images"),
        ),
        ("image_removal", kind != ServiceKind.POLICE and mentions("remov", "takedown", "notices to platforms", "hash")),
        ("grooming", mentions("luring", "grooming", "enticement", "leurre")),
        ("intimate_image_abuse", _INTIMATE_IMAGES.search(text) is not None),
        ("emotional_support", mentions("emotional support", "counselling", "listening", "any worry", "crisis support")),
        ("suicide_crisis", mentions("suicid", "crisis")),
        (
            "victim_services",
            kind == ServiceKind.SUPPORT_AGENCY
            or mentions("victim services", "victim support", "support for victims", "advocacy centre"),
        ),
        ("police_reporting", kind == ServiceKind.POLICE),
        ("parent_support", mentions("parent")),
    )
    return [slug for slug, applies in rules if applies]


_AGE_RANGE = re.compile(r"aged (\d+)\s*[\u2013-]\s*(\d+)")
_UP_TO_AGE = re.compile(r"(?:up to age (\d+)|aged (\d+) and under)")
_UNDER_18_FIRST = re.compile(r"^under-18s?\b")
_ADULTS = re.compile(r"\badults \(18\+\)")


def audience(text: str) -> tuple[int | None, int | None]:
    """Read who a listing is for ("aged 5-25", "up to age 19", "under-18s …", "adults (18+)")."""
    if match := _AGE_RANGE.search(text):
        return int(match[1]), int(match[2])
    if match := _UP_TO_AGE.search(text):
        return None, int(match[1] or match[2])
    # Only at the start: elsewhere "under-18s" names whose images are reported, not who may call.
    if _UNDER_18_FIRST.search(text):
        return None, 17
    if _ADULTS.search(text):
        return 18, None
    return None, None


def language_codes(raw: str) -> tuple[list[tuple[str, str]], list[str]]:
    """Map "English; Spanish (online forms)" or "en; hi" to [(code, name)], returning what did not map cleanly."""
    languages: list[tuple[str, str]] = []
    leftovers: list[str] = []
    for part in (part.strip() for part in raw.split(";")):
        if not part:
            continue
        name = re.sub(r"\s*\(.*\)$", "", part)
        language = _language(name)
        if language is None:
            leftovers.append(part)
            continue
        code = getattr(language, "alpha_2", None) or language.alpha_3
        languages.append((code, language.name))
        if name != part:
            leftovers.append(part)
    return languages, leftovers


def _language(name: str) -> Any:
    """An ISO 639 code ("en", "hin") is read as a code, anything else as a language's name."""
    if re.fullmatch(r"[a-z]{2}", name):
        return pycountry.languages.get(alpha_2=name)
    if re.fullmatch(r"[a-z]{3}", name):
        return pycountry.languages.get(alpha_3=name)
    try:
        return pycountry.languages.lookup(name)
    except LookupError:
        return None


# --- Opening hours -------------------------------------------------------------------------------

CHANNEL_WORDS = {
    "phone": ChannelKind.PHONE,
    "text": ChannelKind.SMS,
    "online chat": ChannelKind.CHAT,
    "email": ChannelKind.EMAIL,
    "online form": ChannelKind.WEB_FORM,
}
DAYS = {
    "mon\u2013fri": (0, 1, 2, 3, 4),
    "mon-fri": (0, 1, 2, 3, 4),
    "weekdays": (0, 1, 2, 3, 4),
    "weekends": (5, 6),
    "daily": (0, 1, 2, 3, 4, 5, 6),
}
_QUALIFIERS = re.compile(r"\s*\((?:excl\. bank holidays|as of \d{4})\)|,\s*by appointment")
_CHANNELS_AFTER = re.compile(r"^(?P<body>.*?)\s*\((?P<channels>[a-z ]+(?:,\s*[a-z ]+)*)\)$")
_CHANNELS_BEFORE = re.compile(r"^(?P<channels>phone|email and online form)\s+(?P<body>.*)$")
_ALWAYS = re.compile(r"\b24/7\b|\b24 hours\b|\b24-hour\b")
_CLOCK = r"(\d{1,2})(?::(\d{2}))?\s*(am|pm)?"
_SPAN = re.compile(
    rf"^(?:(?P<days>[A-Za-z]+[\u2013-][A-Za-z]+|weekdays|weekends|daily)\s+)?{_CLOCK}\s*[\u2013-]\s*{_CLOCK}(?:\s+(?P<after>daily))?$"
)


@dataclass(frozen=True)
class WeeklyHours:
    """Opening hours read from the source; ``channels`` empty means the whole service."""

    always_open: bool = False
    intervals: tuple[tuple[int, time, time], ...] = ()
    channels: frozenset[str] = frozenset()


def parse_hours(text: str) -> list[WeeklyHours]:
    """Read the structured parts of an hours text; parts that are not clearly structured are skipped."""
    found = []
    for part in text.split(";"):
        hours = _parse_hours_part(_QUALIFIERS.sub("", part).strip())
        if hours is not None:
            found.append(hours)
    return found


def _parse_hours_part(text: str) -> WeeklyHours | None:
    channels, part = _split_channels(text)
    if _ALWAYS.search(part) and not re.search(r"\d:\d\d|\d\s*(?:am|pm)", part):
        return WeeklyHours(always_open=True, channels=channels)
    intervals: list[tuple[int, time, time]] = []
    for span in part.split(","):
        match = _SPAN.match(span.strip())
        days = DAYS.get((match["days"] or match["after"] or "").lower()) if match else None
        if match is None or days is None:
            return None
        opens, closes = _clock(*match.group(2, 3, 4)), _clock(*match.group(5, 6, 7))
        intervals.extend((day, opens, closes) for day in days)
    return WeeklyHours(intervals=tuple(sorted(intervals)), channels=channels) if intervals else None


def _split_channels(part: str) -> tuple[frozenset[str], str]:
    """Separate the channels named after ("… (phone, text)") or before ("phone …") the hours from the hours."""
    if (after := _CHANNELS_AFTER.match(part)) and (kinds := _channel_kinds(after["channels"].split(","))):
        return kinds, after["body"]
    if before := _CHANNELS_BEFORE.match(part):
        return _channel_kinds(before["channels"].split(" and ")), before["body"]
    return frozenset(), part


def _channel_kinds(words: Iterable[str]) -> frozenset[str]:
    kinds = [CHANNEL_WORDS.get(word.strip()) for word in words]
    return frozenset(kind for kind in kinds if kind) if all(kinds) else frozenset()


def _clock(hour: str, minute: str | None, meridiem: str | None) -> time:
    value = int(hour) % 12 + (12 if meridiem == "pm" else 0) if meridiem else int(hour)
    return time(value % 24, int(minute or 0))


# --- Time zones, coverage ------------------------------------------------------------------------

# A national listing's zone: the most populous one of the country (used for "open now").
COUNTRY_TIMEZONES = {
    "CA": "America/Toronto",
    "US": "America/New_York",
    "GB": "Europe/London",
    "IE": "Europe/Dublin",
    "AU": "Australia/Sydney",
    "NZ": "Pacific/Auckland",
    "DE": "Europe/Berlin",
    "FR": "Europe/Paris",
    "IN": "Asia/Kolkata",
    # Worldwide listings publish no local hours; UTC keeps any they add unambiguous.
    WORLDWIDE: "UTC",
}
SUBDIVISION_TIMEZONES = {
    "CA-AB": "America/Edmonton",
    "CA-BC": "America/Vancouver",
    "CA-MB": "America/Winnipeg",
    "CA-ON": "America/Toronto",
    "CA-QC": "America/Toronto",
    "CA-SK": "America/Regina",
    "US-AL": "America/Chicago",
    "US-AR": "America/Chicago",
    "US-AZ": "America/Phoenix",
    "US-CA": "America/Los_Angeles",
    "US-CO": "America/Denver",
    "US-FL": "America/New_York",
    "US-GA": "America/New_York",
    "US-IL": "America/Chicago",
    "US-IN": "America/Indiana/Indianapolis",
    "US-MD": "America/New_York",
    "US-MN": "America/Chicago",
    "US-NC": "America/New_York",
    "US-NV": "America/Los_Angeles",
    "US-NY": "America/New_York",
    "US-PA": "America/New_York",
    "US-TX": "America/Chicago",
    "US-UT": "America/Denver",
    "US-WA": "America/Los_Angeles",
    "AU-NSW": "Australia/Sydney",
    "AU-NT": "Australia/Darwin",
    "AU-QLD": "Australia/Brisbane",
    "AU-SA": "Australia/Adelaide",
    "AU-TAS": "Australia/Hobart",
    "AU-VIC": "Australia/Melbourne",
    "AU-WA": "Australia/Perth",
}


def timezone_for(country: str, region: str) -> str:
    if region in SUBDIVISION_TIMEZONES:
        return SUBDIVISION_TIMEZONES[region]
    if country in COUNTRY_TIMEZONES:
        return COUNTRY_TIMEZONES[country]
    raise ValueError(f"No time zone known for {country} {region!r}: add it to the seed tables.")


@dataclass(frozen=True)
class CoverageSpec:
    """Where a listing serves. A radius is centred on the listing's location once it is geocoded."""

    scope: str
    country: str = ""
    subdivision: str = ""
    radius_km: float | None = None


def coverage_for(
    countries: Sequence[str], region: str, city: str, override: CoverageSpec | None
) -> tuple[CoverageSpec, ...]:
    """Worldwide, the row's countries, the row's subdivision, or a radius around its city."""
    if override is not None:
        return (override,)
    if region.lower().startswith("worldwide"):
        return (CoverageSpec(CoverageScope.WORLDWIDE),)
    if city:
        return (CoverageSpec(CoverageScope.RADIUS, country=countries[0], radius_km=CITY_RADIUS_KM),)
    if is_subdivision_code(region):
        return (CoverageSpec(CoverageScope.SUBDIVISION, country=countries[0], subdivision=region),)
    return tuple(CoverageSpec(CoverageScope.COUNTRY, country=country) for country in countries)


# --- Evidence ------------------------------------------------------------------------------------

OWN_PAGES_NOTE = "Checked against the organisation's own published pages (read {seen})."
OTHER_PAGES_NOTE = (
    "Checked against the published pages listed in evidence_sources (read {seen}); "
    "the first is not on the organisation's own website."
)
STORED_COPIES_NOTE = "The pages were stored copies; their crawl dates are unknown."
PHONE_NOTE = "Phone (as listed): "
PENDING_NOTE = "Pending: these facts rest only on secondary sources; check them against the official site."


@dataclass(frozen=True)
class SecondarySource:
    field: str
    source: str


def split_sources(raw: str) -> list[tuple[str, str]]:
    """Split "url (what it backs) | url" into (url, annotation) pairs."""
    sources = []
    for item in (item.strip() for item in raw.split(" | ")):
        url, _, annotation = item.partition(" ")
        if url:
            sources.append((url, annotation.strip()))
    return sources


def evidence_note(
    sources: Sequence[tuple[str, str]],
    website: str,
    seen: date,
    secondary: Sequence[SecondarySource],
    remarks: Sequence[str] = (),
) -> str:
    """Say how well the facts are confirmed, then the conflicts and doubts the data's notes record."""
    if secondary:
        lines = [PENDING_NOTE, *(f"- {item.field}: {item.source}" for item in secondary)]
    else:
        own = bool(sources) and _same_site(sources[0][0], website)
        lines = [(OWN_PAGES_NOTE if own else OTHER_PAGES_NOTE).format(seen=seen.isoformat())]
    lines.append(STORED_COPIES_NOTE)
    lines.extend(f"Source note: {url} {annotation}" for url, annotation in sources if annotation)
    lines.extend(remarks)
    return "\n".join(lines)


def _same_site(url: str, website: str) -> bool:
    def host(address: str) -> str:
        return re.sub(r"^[a-z]+://(www\.)?", "", address.lower()).split("/")[0].rstrip(".")

    page, site = host(url), host(website)
    return bool(site) and (page == site or page.endswith(f".{site}") or site.endswith(f".{page}"))


# --- Plans ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScheduleSpec:
    """Hours for the whole service (``channel`` None) or for the channel at that index."""

    channel: int | None
    always_open: bool = False
    intervals: tuple[tuple[int, time, time], ...] = ()


@dataclass(frozen=True)
class LocationSpec:
    address: str
    city: str
    postcode: str
    country: str
    subdivision: str


@dataclass(frozen=True)
class Curated:
    secondary: dict[str, list[SecondarySource]] = field(default_factory=dict)
    coverage: dict[str, CoverageSpec] = field(default_factory=dict)
    translations: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    # Conflicts and doubts the data's notes record about a listing, for the moderator.
    remarks: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class ServicePlan:
    name: str
    country: str
    organization: str
    organization_kind: str
    organization_website: str
    kind: str
    description: str
    translations: dict[str, dict[str, str]]
    topics: tuple[str, ...]
    languages: tuple[tuple[str, str], ...]
    min_age: int | None
    max_age: int | None
    hours_note: str
    timezone: str
    channels: tuple[ContactSpec, ...]
    website: str
    schedules: tuple[ScheduleSpec, ...]
    coverage: tuple[CoverageSpec, ...]
    location: LocationSpec | None
    verification_state: str
    evidence_url: str
    evidence_sources: tuple[str, ...]
    evidence_note: str
    source_seen: date
    notes: tuple[str, ...]
    unstructured_hours: tuple[str, ...]


def plan_service(row: dict[str, str], curated: Curated) -> ServicePlan:
    """Read one CSV row (either file) into everything the directory should hold for it."""
    name = row["name"].strip()
    countries = [country.strip() for country in row["country"].split(";") if country.strip()]
    region, city = row["region"].strip(), row.get("city", "").strip()
    # A worldwide row has no numbering plan: only numbers written with their country code are read.
    phone_country = "" if countries[0] == WORLDWIDE else countries[0]
    text = f"{name}; {row['topics']}"
    kind = service_kind(row["kind"], text)
    organization = organization_name(name)
    contacts = parse_contacts(row["phone"], row.get("sms", ""), phone_country)
    languages, language_leftovers = language_codes(row["languages"])
    schedules, unstructured = schedules_for(row["hours"].strip(), contacts.channels)
    sources = split_sources(row["source_url"])
    seen = date.fromisoformat(row["source_seen"].strip())
    secondary = curated.secondary.get(name, [])
    notes = [f"{PHONE_NOTE}{note}" for note in contacts.notes]
    if language_leftovers:
        notes.append(f"Languages (as listed): {row['languages'].strip()}")
    min_age, max_age = audience(row["topics"])
    subdivision = region if is_subdivision_code(region) else ""
    return ServicePlan(
        name=name,
        country=countries[0],
        organization=organization,
        organization_kind=organization_kind(organization, row["kind"]),
        organization_website=row["website"].strip() if organization == name else "",
        kind=kind,
        description="\n\n".join([row["topics"].strip(), *notes]),
        translations=curated.translations.get(name, {}),
        topics=tuple(topic_slugs(text, kind)),
        languages=tuple(languages),
        min_age=min_age,
        max_age=max_age,
        hours_note=row["hours"].strip(),
        timezone=timezone_for(countries[0], region),
        channels=contacts.channels,
        website=row["website"].strip(),
        schedules=schedules,
        coverage=coverage_for(countries, region, city, curated.coverage.get(name)),
        location=(
            LocationSpec(
                row.get("address", "").strip(), city, row.get("postcode", "").strip(), countries[0], subdivision
            )
            if city
            else None
        ),
        verification_state=VerificationState.PENDING if secondary else VerificationState.VERIFIED,
        evidence_url=sources[0][0] if sources else "",
        evidence_sources=tuple(url for url, _ in sources),
        evidence_note=evidence_note(sources, row["website"].strip(), seen, secondary, curated.remarks.get(name, ())),
        source_seen=seen,
        notes=tuple(notes),
        unstructured_hours=unstructured,
    )


def merge_plans(first: ServicePlan, second: ServicePlan) -> ServicePlan:
    """Make one listing of two rows naming the same service (Take It Down: its US row and its WW row).

    The first row's facts (its channels, and the notes about them) stay; the second adds its sources.
    Worldwide coverage wins, and the listing is pending when either row rests on secondary sources.
    """
    sources = tuple(dict.fromkeys((*first.evidence_sources, *second.evidence_sources)))
    added = [line for line in second.evidence_note.splitlines() if line not in first.evidence_note.splitlines()]
    worldwide = next(
        (plan.coverage for plan in (first, second) if plan.coverage[0].scope == CoverageScope.WORLDWIDE),
        first.coverage,
    )
    pending = VerificationState.PENDING in (first.verification_state, second.verification_state)
    return replace(
        first,
        coverage=worldwide,
        evidence_sources=sources,
        evidence_note="\n".join([first.evidence_note, *added]),
        verification_state=VerificationState.PENDING if pending else first.verification_state,
    )


def seed_plans(rows: Iterable[dict[str, str]], curated: Curated) -> list[ServicePlan]:
    """Plan every row; rows naming the same service, one of them worldwide, become one listing."""
    plans: dict[str, ServicePlan] = {}
    for row in rows:
        plan = plan_service(row, curated)
        known = plans.get(plan.name)
        if known is None:
            plans[plan.name] = plan
        elif WORLDWIDE in (known.country, plan.country) or CoverageScope.WORLDWIDE in (
            known.coverage[0].scope,
            plan.coverage[0].scope,
        ):
            plans[plan.name] = merge_plans(known, plan)
        else:
            raise ValueError(f"Two seed rows name {plan.name!r}: merge them in the data or name them apart.")
    return list(plans.values())


def schedules_for(text: str, channels: Sequence[ContactSpec]) -> tuple[tuple[ScheduleSpec, ...], tuple[str, ...]]:
    """Place the parsed hours on the service or on the channels they name; return the parts left as text.

    Hours that name channels ("24/7 (phone, text, online chat)") go on those channels, and on the
    service too when they cover every way the listing can be contacted. A channel whose label says
    "24/7" is always open.
    """
    service: list[WeeklyHours] = []
    per_channel: dict[int, WeeklyHours] = {}
    contact_kinds = {channel.kind for channel in channels}
    for hours in parse_hours(text):
        if not hours.channels:
            service.append(hours)
            continue
        for index, channel in enumerate(channels):
            if channel.kind in hours.channels:
                per_channel[index] = hours
        if contact_kinds and contact_kinds <= hours.channels:
            service.append(hours)
    for index, channel in enumerate(channels):
        if "24/7" in channel.label and index not in per_channel:
            per_channel[index] = WeeklyHours(always_open=True)
    specs = [ScheduleSpec(index, hours.always_open, hours.intervals) for index, hours in sorted(per_channel.items())]
    if service:
        always = any(hours.always_open for hours in service)
        intervals = () if always else tuple(sorted({i for hours in service for i in hours.intervals}))
        specs.insert(0, ScheduleSpec(None, always, intervals))
    return tuple(specs), _unstructured_parts(text, channels)


def _unstructured_parts(text: str, channels: Sequence[ContactSpec]) -> tuple[str, ...]:
    """Return the parts of an hours text that became no schedule (kept only in ``hours_note``)."""
    contact_kinds = {channel.kind for channel in channels}

    def placed(part: str) -> bool:
        return any(not hours.channels or hours.channels & contact_kinds for hours in parse_hours(part))

    return tuple(part for part in (part.strip() for part in text.split(";")) if part and not placed(part))


# --- Reading the files ---------------------------------------------------------------------------


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def seed_rows(directory: Path = HELPLINES) -> list[dict[str, str]]:
    return [row for name in SEED_FILES for row in read_csv(directory / name)]


def read_curated(directory: Path = HELPLINES) -> Curated:
    curated = Curated()
    for row in read_csv(directory / "secondary-sources.csv"):
        curated.secondary.setdefault(row["name"], []).append(SecondarySource(row["field"], row["source"]))
    for row in read_csv(directory / "coverage.csv"):
        scope, area = row["scope"], row["area"]
        country = area.split("-")[0]
        subdivision = area if scope == CoverageScope.SUBDIVISION else ""
        curated.coverage[row["name"]] = CoverageSpec(scope, country=country, subdivision=subdivision)
    for row in read_csv(directory / "translations.csv"):
        curated.translations.setdefault(row["name"], {}).setdefault(row["language"], {})[row["field"]] = row["value"]
    for row in read_csv(directory / "evidence-notes.csv"):
        curated.remarks.setdefault(row["name"], []).append(row["note"])
    return curated


def read_topics(path: Path = FIXTURES / "topics.json") -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        topics: list[dict[str, Any]] = json.load(handle)
    return topics


# --- Writing -------------------------------------------------------------------------------------


@dataclass
class SeedSummary:
    rows_by_country: Counter[str] = field(default_factory=Counter)
    states: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    listings: int = 0
    # (country of the listing's first row, verification state) -> listings
    states_by_country: Counter[tuple[str, str]] = field(default_factory=Counter)
    channels: int = 0
    channels_by_kind: Counter[str] = field(default_factory=Counter)
    schedules: int = 0
    locations_by_precision: Counter[str] = field(default_factory=Counter)
    notes: list[tuple[str, str]] = field(default_factory=list)
    unstructured_hours: list[tuple[str, str]] = field(default_factory=list)
    topics: int = 0


def load_seed(directory: Path = HELPLINES, topics_path: Path = FIXTURES / "topics.json") -> SeedSummary:
    """Write the topic taxonomy and every seed row; return what was done."""
    curated = read_curated(directory)
    rows = seed_rows(directory)
    plans = seed_plans(rows, curated)
    summary = SeedSummary(listings=len(plans))
    summary.rows_by_country.update(row["country"].split(";")[0].strip() for row in rows)
    with transaction.atomic(), acting_as(None, "load_seed"):
        topics = sync_topics(read_topics(topics_path))
        summary.topics = len(topics)
        for plan in plans:
            summary.outcomes[write_plan(plan, topics)] += 1
            summary.channels += len(plan.channels)
            summary.channels_by_kind.update(channel.kind for channel in plan.channels)
            summary.notes.extend((plan.name, note) for note in plan.notes)
            summary.unstructured_hours.extend((plan.name, part) for part in plan.unstructured_hours)
        country_of = {plan.name: plan.country for plan in plans}
        services = Service.objects.filter(name__in=list(country_of))
        for name, state in services.values_list("name", "verification_state"):
            summary.states[state] += 1
            summary.states_by_country[(country_of[name], state)] += 1
        summary.schedules = Schedule.objects.filter(service__in=services).count()
        summary.locations_by_precision.update(
            Location.objects.filter(service__in=services).values_list("precision", flat=True)
        )
    return summary


def sync_topics(entries: Sequence[dict[str, Any]]) -> dict[str, Topic]:
    topics = {}
    for entry in entries:
        wanted = {
            "position": entry["position"],
            "names": entry["names"],
            "keywords": entry["keywords"],
            "advice": entry.get("advice", {}),
        }
        topic, created = Topic.objects.get_or_create(slug=entry["slug"], defaults=wanted)
        if not created and any(getattr(topic, key) != value for key, value in wanted.items()):
            for key, value in wanted.items():
                setattr(topic, key, value)
            topic.save()
        topics[topic.slug] = topic
    return topics


def find_service(name: str, country: str) -> Service | None:
    """Find a listing by its natural key: name and the country it covers or is located in."""
    in_country = (
        Q(coverage__country=country) | Q(locations__country=country) | Q(coverage__scope=CoverageScope.WORLDWIDE)
    )
    return Service.objects.filter(in_country, name=name).distinct().order_by("id").first()


def write_plan(plan: ServicePlan, topics: dict[str, Topic]) -> str:
    """Create or update one listing; return "created", "updated", "unchanged" or "kept_by_moderator"."""
    service = find_service(plan.name, plan.country)
    if service is not None and service.verified_by_id is not None:
        return "kept_by_moderator"
    created = service is None
    service = service or Service(name=plan.name)
    fields = service_fields(plan, sync_organization(plan))
    changed = created or any(getattr(service, key) != value for key, value in fields.items())
    for key, value in fields.items():
        setattr(service, key, value)
    if changed:
        service.save()
    place = geocode(plan.location) if plan.location else None
    children_changed = [
        _sync_many(service, "topics", [topics[slug] for slug in plan.topics]),
        _sync_many(service, "languages", [language_row(code, name) for code, name in plan.languages]),
        sync_channels_and_schedules(service, plan),
        sync_coverage(service, plan, place),
        sync_location(service, plan, place),
    ]
    if any(children_changed) and not changed:
        service.save(update_fields=["updated_at"])
    if not created and (changed or any(children_changed)):
        bump_version(service)
    if created:
        return "created"
    return "updated" if changed or any(children_changed) else "unchanged"


def sync_organization(plan: ServicePlan) -> Organization:
    organization, created = Organization.objects.get_or_create(
        name=plan.organization, defaults={"kind": plan.organization_kind, "website": plan.organization_website}
    )
    # Only the listing named like its organisation says what the organisation's website is.
    website = plan.organization_website or organization.website
    if not created and (organization.kind, organization.website) != (plan.organization_kind, website):
        organization.kind, organization.website = plan.organization_kind, website
        organization.save()
    return organization


def service_fields(plan: ServicePlan, organization: Organization) -> dict[str, Any]:
    verified = plan.verification_state == VerificationState.VERIFIED
    verified_at = datetime.combine(plan.source_seen, time(0), tzinfo=UTC) if verified else None
    return {
        "organization_id": organization.pk,
        "kind": plan.kind,
        "description": plan.description,
        "translations": plan.translations,
        "min_age": plan.min_age,
        "max_age": plan.max_age,
        "hours_note": plan.hours_note,
        "verification_state": plan.verification_state,
        "verified_at": verified_at,
        "verified_by": None,
        "evidence_url": plan.evidence_url,
        "evidence_note": plan.evidence_note,
        "evidence_sources": list(plan.evidence_sources),
        "source_seen": plan.source_seen,
        "review_interval_days": REVIEW_INTERVAL_DAYS,
        "review_due": verified_at + timedelta(days=REVIEW_INTERVAL_DAYS) if verified_at else None,
    }


def language_row(code: str, name: str) -> Language:
    return Language.objects.get_or_create(code=code, defaults={"name": name})[0]


def _sync_many(service: Service, relation: str, wanted: Sequence[Any]) -> bool:
    manager = getattr(service, relation)
    if {item.pk for item in manager.all()} == {item.pk for item in wanted}:
        return False
    manager.set(wanted)
    return True


def _channel_rows(plan: ServicePlan) -> list[dict[str, Any]]:
    rows = [
        {
            "kind": spec.kind,
            "value": spec.value,
            "display": spec.display,
            "extension": spec.extension,
            "sms_keyword": spec.sms_keyword,
            "label": spec.label,
            "is_primary": spec.is_primary,
        }
        for spec in plan.channels
    ]
    if plan.website:
        rows.append(
            {
                "kind": ChannelKind.WEBSITE,
                "value": plan.website,
                "display": "",
                "extension": "",
                "sms_keyword": "",
                "label": "",
                "is_primary": False,
            }
        )
    return [{**row, "position": position} for position, row in enumerate(rows)]


def _schedule_rows(plan: ServicePlan) -> list[tuple[Any, ...]]:
    return sorted(
        (-1 if spec.channel is None else spec.channel, plan.timezone, spec.always_open, spec.intervals)
        for spec in plan.schedules
    )


def sync_channels_and_schedules(service: Service, plan: ServicePlan) -> bool:
    """Replace the listing's channels and schedules when they differ from the plan."""
    wanted_channels = _channel_rows(plan)
    fields = list(wanted_channels[0]) if wanted_channels else ["position"]
    existing_channels = list(service.channels.order_by("position", "id").values(*fields))
    position_of = dict(service.channels.values_list("id", "position"))
    existing_schedules = sorted(
        (
            -1 if schedule.channel_id is None else position_of[schedule.channel_id],
            schedule.timezone,
            schedule.always_open,
            tuple((i.weekday, i.opens, i.closes) for i in schedule.intervals.order_by("weekday", "opens")),
        )
        for schedule in service.schedules.all()
    )
    if existing_channels == wanted_channels and existing_schedules == _schedule_rows(plan):
        return False
    service.schedules.all().delete()
    service.channels.all().delete()
    channels = [ContactChannel.objects.create(service=service, **row) for row in wanted_channels]
    for spec in plan.schedules:
        schedule = Schedule.objects.create(
            service=service,
            channel=None if spec.channel is None else channels[spec.channel],
            timezone=plan.timezone,
            always_open=spec.always_open,
        )
        OpeningInterval.objects.bulk_create(
            OpeningInterval(schedule=schedule, weekday=day, opens=opens, closes=closes)
            for day, opens, closes in spec.intervals
        )
    return True


def geocode(location: LocationSpec) -> tuple[Place, str] | None:
    """Find the location's point: its postcode's centroid, else its city's; never an invented one."""
    if location.postcode and (place := resolve_postcode(location.postcode, location.country)):
        return place, GeocodePrecision.POSTCODE
    # A city name several places share is told apart by the listing's own region, or the larger
    # region the postcode table uses for it (Cork, IE-CO, is in IE-M Munster).
    for subdivision in _enclosing_subdivisions(location.subdivision):
        if place := locate_city(location.country, location.city, subdivision):
            return place, GeocodePrecision.CITY
    return None


def _enclosing_subdivisions(code: str) -> list[str]:
    """Return ``code`` and the subdivisions that contain it, smallest first ("" when there is none)."""
    codes = [code]
    while code and (record := pycountry.subdivisions.get(code=code)) is not None and record.parent_code:
        code = record.parent_code
        codes.append(code)
    return codes


def _coverage_rows(plan: ServicePlan, place: tuple[Place, str] | None) -> list[dict[str, Any]]:
    rows = []
    for spec in plan.coverage:
        row: dict[str, Any] = {
            "scope": spec.scope,
            "country": spec.country,
            "subdivision": spec.subdivision,
            "latitude": None,
            "longitude": None,
            "radius_km": None,
        }
        if spec.scope == CoverageScope.RADIUS:
            if place is None:
                # Not placed: fall back to the row's region, or its country.
                subdivision = plan.location.subdivision if plan.location else ""
                scope = CoverageScope.SUBDIVISION if subdivision else CoverageScope.COUNTRY
                row.update(scope=scope, subdivision=subdivision)
            else:
                row.update(latitude=place[0].latitude, longitude=place[0].longitude, radius_km=spec.radius_km)
        rows.append(row)
    return rows


def sync_coverage(service: Service, plan: ServicePlan, place: tuple[Place, str] | None) -> bool:
    wanted = _coverage_rows(plan, place)
    existing = list(service.coverage.order_by("id").values(*wanted[0]))
    if existing == wanted:
        return False
    service.coverage.all().delete()
    Coverage.objects.bulk_create(Coverage(service=service, **row) for row in wanted)
    return True


def sync_location(service: Service, plan: ServicePlan, place: tuple[Place, str] | None) -> bool:
    wanted = []
    if plan.location is not None:
        location = plan.location
        wanted.append(
            {
                "name": "",
                "address": location.address,
                "city": location.city,
                "postcode": location.postcode,
                "country": location.country,
                "subdivision": location.subdivision,
                "latitude": place[0].latitude if place else None,
                "longitude": place[0].longitude if place else None,
                "precision": place[1] if place else GeocodePrecision.NONE,
            }
        )
    fields = list(wanted[0]) if wanted else ["id"]
    if list(service.locations.order_by("id").values(*fields)) == wanted:
        return False
    service.locations.all().delete()
    Location.objects.bulk_create(Location(service=service, **row) for row in wanted)
    return True
