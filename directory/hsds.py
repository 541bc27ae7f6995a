"""Open Referral HSDS 3.0: our listings as HSDS records, the tabular data package, and the import.

Records are built from model instances with their relations prefetched (``public_services``) and are
plain dicts, ready for JSON. Where our data is richer than HSDS, the helpline-directory profile adds
fields (``PROFILE_FIELDS``) instead of bending HSDS ones (see ``PROFILE_SUMMARY``).

Ids are UUIDs: organisations, services and locations keep theirs (``hsds_id``); every other record's
id is derived from its parent's and its place in the listing, so the same data always gets the same ids.

The import reads records into plans (pure, every problem collected per record), then, in one
transaction in ``write_plans`` (the only function here that writes), proposes every listing it would
create or change through ``directory.changes``: a moderator approves each before the public sees it.
"""

import contextlib
import copy
import csv
import json
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from functools import cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from directory import changes
from directory.audit import acting_as
from directory.hours import Interval, WeeklyHours, describe, weekly_hours_from_schedule
from directory.models import (
    MAX_AGE,
    ChannelKind,
    ContactChannel,
    Coverage,
    CoverageScope,
    GeocodePrecision,
    Language,
    Location,
    Organization,
    OrganizationKind,
    Proposal,
    ProposalAction,
    ProposalState,
    Schedule,
    Service,
    ServiceKind,
    Topic,
    VerificationState,
)
from directory.phones import dial_value
from directory.regions import region_name
from directory.search import effective_verification, service_open_now, with_squared_distance, within_radius
from directory.validators import is_country_code, is_digits, is_subdivision_code, language_for, validate_timezone

HSDS_VERSION = "3.0"
SCHEMA_DIR = Path(settings.BASE_DIR) / "fixtures" / "hsds-3.0"
SCHEMA_BASE = "https://raw.githubusercontent.com/openreferral/specification/3.0/schema/"
NAMESPACE = uuid.UUID("6f0b7f3e-4c1a-5d8e-9b2a-7c3e1f5a9d40")
TAXONOMY_ID = str(uuid.uuid5(NAMESPACE, "taxonomy:topics"))
TAXONOMY_NAME = "Helpline directory topics"
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
PHONE_KINDS: dict[str, str] = {ChannelKind.PHONE: "voice", ChannelKind.SMS: "text", ChannelKind.WHATSAPP: "text"}

PROFILE_SUMMARY = (
    "HSDS 3.0 with what a helpline directory needs and HSDS cannot say: the kind of service, every contact "
    "channel with its SMS keyword, opening hours per channel in IANA time zones (HSDS's schedule.timezone is "
    "a numeric offset, which cannot follow daylight saving time, so it is left out), coverage as ISO codes "
    "or a radius, how well each listing is verified and on what evidence, translations, and the topics' "
    "names, SMS keywords and advice per language. HSDS fields keep their HSDS meaning."
)

# name -> (Table Schema type, description); also written into datapackage.json and served at /hsds/profile/.
PROFILE_FIELDS: dict[str, dict[str, tuple[str, str]]] = {
    "organization": {"kind": ("string", "ngo, government, police, charity or company")},
    "service": {
        "kind": ("string", "helpline, police, support_agency or reporting"),
        "translations": ("object", 'Name and description per language: {"fr": {"name": ..., "description": ...}}'),
        "is_free": ("boolean", "Free of charge"),
        "is_anonymous": ("boolean", "Can be used without giving a name"),
        "is_confidential": ("boolean", "Treats what people say as confidential"),
        "hours_note": ("string", "Opening hours as the source states them"),
        "verification": (
            "object",
            "How well the facts are confirmed here: state (unverified, pending, verified, stale), verified_at, "
            "review_due, review_interval_days, evidence_url, evidence_note, evidence_sources, source_seen",
        ),
    },
    "schedule": {
        "timezone_name": ("string", "IANA time zone of opens_at/closes_at (daylight saving time applies)"),
        "always_open": ("boolean", "Open 24 hours a day, every day"),
        "contact_channel_id": ("string", "The contact channel these hours are for; empty: the whole service"),
    },
    "service_area": {
        "scope": ("string", "worldwide, country, subdivision or radius"),
        "country": ("string", "ISO 3166-1 alpha-2 code"),
        "subdivision": ("string", "ISO 3166-2 code"),
        "latitude": ("number", "Centre of a radius area"),
        "longitude": ("number", "Centre of a radius area"),
        "radius_km": ("number", "Radius of a radius area, in km"),
    },
    "location": {
        "address_1": ("string", "Street address, when known (HSDS addresses need every part, often unknown)"),
        "city": ("string", "City, when known"),
        "postal_code": ("string", "Postcode, when known"),
        "country": ("string", "ISO 3166-1 alpha-2 code"),
        "subdivision": ("string", "ISO 3166-2 code"),
        "precision": ("string", "What the point is: address, postcode (centroid), city (centroid) or none"),
    },
    "taxonomy_term": {
        "position": ("integer", "Display order"),
        "names": ("object", "Name per language"),
        "keywords": ("object", "SMS keywords per language"),
        "advice": ("object", "One-line safety advice per language"),
    },
}
# A new object of the profile: every way to reach a service (phones also appear as HSDS phones, same ids).
CONTACT_CHANNEL_FIELDS: dict[str, tuple[str, str]] = {
    "id": ("string", "Identifier (the same as the HSDS phone's for phone and text lines)"),
    "service_id": ("string", "The service"),
    "kind": ("string", "phone, sms, whatsapp, chat, email, web_form or website"),
    "value": ("string", "E.164 number, short code digits, URL or email address"),
    "display": ("string", "As the source writes it"),
    "extension": ("string", "Phone extension"),
    "sms_keyword": ("string", "Word to text, e.g. CONNECT"),
    "label": ("string", "What this line is for"),
    "is_primary": ("boolean", "The main phone line"),
    "position": ("integer", "Order in the listing"),
}


def child_id(parent: object, kind: str, index: int) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{parent}/{kind}/{index}"))


def term_id(slug: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"topic:{slug}"))


def _compact(record: dict[str, Any]) -> dict[str, Any]:
    """Drop absent values: HSDS fields are typed, so a missing fact is left out rather than null."""
    return {key: value for key, value in record.items() if value is not None and value != ""}


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment else None


# --- Reading what the public may see ------------------------------------------------------------------


def with_relations(services: QuerySet[Service]) -> QuerySet[Service]:
    """Prefetch everything a full record needs, each relation in the order records list it."""
    return services.select_related("organization").prefetch_related(
        Prefetch("topics", queryset=Topic.objects.order_by("position", "slug")),
        Prefetch("languages", queryset=Language.objects.order_by("code")),
        Prefetch("channels", queryset=ContactChannel.objects.order_by("position", "id")),
        Prefetch("schedules", queryset=Schedule.objects.select_related("channel").order_by("id")),
        "schedules__intervals",
        Prefetch("coverage", queryset=Coverage.objects.order_by("id")),
        Prefetch("locations", queryset=Location.objects.order_by("id")),
    )


def public_services() -> QuerySet[Service]:
    """Published listings with everything a full record needs, in a stable order."""
    return with_relations(Service.objects.public()).order_by("name", "id")


def summary_services() -> QuerySet[Service]:
    """Published listings with what their one-to-one fields need (the website and email are channels)."""
    channels = Prefetch("channels", queryset=ContactChannel.objects.order_by("position", "id"))
    return Service.objects.public().select_related("organization").prefetch_related(channels).order_by("name", "id")


def public_organizations() -> QuerySet[Organization]:
    published = Service.objects.public().filter(organization_id=OuterRef("pk"))
    return Organization.objects.filter(Exists(published), archived_at__isnull=True).order_by("name", "id")


# --- Records --------------------------------------------------------------------------------------------


def organization_description(organization: Organization | None, name: str, kind: str) -> str:
    """HSDS requires a description; without one of our own, say what we know: its kind."""
    if organization is not None and organization.description:
        return organization.description
    return f"{OrganizationKind(kind).label}: {name}" if kind in OrganizationKind.values else name


def organization_record(organization: Organization) -> dict[str, Any]:
    return _compact(
        {
            "id": str(organization.hsds_id),
            "name": organization.name,
            "description": organization_description(organization, organization.name, organization.kind),
            "email": organization.email,
            "website": organization.website,
            "kind": organization.kind,
        }
    )


def taxonomy_record() -> dict[str, Any]:
    return {
        "id": TAXONOMY_ID,
        "name": TAXONOMY_NAME,
        "description": "Kinds of help for people facing online sextortion and sexual exploitation.",
        "version": "1",
    }


def term_record(topic: Topic) -> dict[str, Any]:
    return {
        "id": term_id(topic.slug),
        "code": topic.slug,
        "name": topic.name_in("en"),
        # HSDS requires a description; ours are the names in every language.
        "description": "; ".join(f"{code}: {name}" for code, name in sorted(topic.names.items())) or topic.slug,
        "taxonomy": TAXONOMY_NAME,
        "taxonomy_id": TAXONOMY_ID,
        "position": topic.position,
        "names": topic.names,
        "keywords": topic.keywords,
        "advice": topic.advice,
    }


def _verification(service: Service, now: datetime) -> dict[str, Any]:
    return {
        "state": effective_verification(service, now),
        "verified_at": _iso(service.verified_at),
        "review_due": _iso(service.review_due),
        "review_interval_days": service.review_interval_days,
        "evidence_url": service.evidence_url,
        "evidence_note": service.evidence_note,
        "evidence_sources": list(service.evidence_sources),
        "source_seen": service.source_seen.isoformat() if service.source_seen else None,
    }


def _assurance(service: Service) -> dict[str, Any]:
    """HSDS assurance is a moderator's or a seed's check against the sources: only verified listings have one."""
    if service.verification_state != VerificationState.VERIFIED or service.verified_at is None:
        return {}
    return {"assured_date": service.verified_at.date().isoformat(), "assurer_email": settings.HSDS_ASSURER_EMAIL}


def service_summary(service: Service, now: datetime) -> dict[str, Any]:
    """The one-to-one fields of a service, its organisation, and the profile's service fields."""
    channels = list(service.channels.all())
    website = next((c.value for c in channels if c.kind == ChannelKind.WEBSITE), None)
    email = next((c.value for c in channels if c.kind == ChannelKind.EMAIL), None)
    record = {
        "id": str(service.hsds_id),
        "organization_id": str(service.organization.hsds_id),
        "name": service.name,
        "description": service.description,
        "url": website,
        "email": email,
        "status": service.status,
        "fees_description": None
        if service.is_free is None
        else "Free of charge"
        if service.is_free
        else "Charges apply",
        "minimum_age": service.min_age,
        "maximum_age": service.max_age,
        **_assurance(service),
        "last_modified": _iso(service.updated_at),
        "organization": organization_record(service.organization),
        "kind": service.kind,
        "translations": service.translations or None,
        "is_free": service.is_free,
        "is_anonymous": service.is_anonymous,
        "is_confidential": service.is_confidential,
        "hours_note": service.hours_note,
        "verification": _compact(_verification(service, now)),
    }
    return _compact(record)


def minimal_record(service: Service) -> dict[str, Any]:
    """``minimal``: what a consumer needs to see what changed (HSDS requires name and status too)."""
    return _compact(
        {
            "id": str(service.hsds_id),
            "name": service.name,
            "status": service.status,
            "last_modified": _iso(service.updated_at),
        }
    )


def _channel_ids(service: Service) -> dict[int, str]:
    return {channel.pk: child_id(service.hsds_id, "channel", n) for n, channel in enumerate(service.channels.all())}


def _phones(service: Service, ids: dict[int, str]) -> list[dict[str, Any]]:
    phones = []
    for channel in service.channels.all():
        if channel.kind not in PHONE_KINDS:
            continue
        words = [channel.label]
        if channel.sms_keyword:
            words.append(f"text {channel.sms_keyword}")
        extension = int(channel.extension) if is_digits(channel.extension) else None
        phones.append(
            _compact(
                {
                    "id": ids[channel.pk],
                    "service_id": str(service.hsds_id),
                    "number": channel.value,
                    "extension": extension,
                    "type": PHONE_KINDS[channel.kind],
                    "description": "; ".join(word for word in words if word),
                }
            )
        )
    return phones


def _contact_channels(service: Service, ids: dict[int, str]) -> list[dict[str, Any]]:
    return [
        _compact(
            {
                "id": ids[channel.pk],
                "service_id": str(service.hsds_id),
                "kind": channel.kind,
                "value": channel.value,
                "display": channel.display,
                "extension": channel.extension,
                "sms_keyword": channel.sms_keyword,
                "label": channel.label,
                "is_primary": channel.is_primary,
                "position": channel.position,
            }
        )
        for channel in service.channels.all()
    ]


def _schedule_groups(hours: WeeklyHours) -> list[tuple[tuple[int, ...], time | None, time | None]]:
    """Split a week into HSDS rules: one per opening and closing time, with the days it applies to."""
    if hours.always_open:
        return [(tuple(range(7)), None, None)]
    days: dict[tuple[time, time], list[int]] = {}
    for interval in hours.intervals:
        days.setdefault((interval.opens, interval.closes), []).append(interval.weekday)
    groups = [(tuple(sorted(set(weekdays))), opens, closes) for (opens, closes), weekdays in days.items()]
    return sorted(groups, key=lambda group: (group[0], group[1] or time(0)))


def _schedules(service: Service, ids: dict[int, str]) -> list[dict[str, Any]]:
    schedules = sorted(
        service.schedules.all(), key=lambda s: (s.channel_id is not None, s.channel.position if s.channel else 0, s.pk)
    )
    records: list[dict[str, Any]] = []
    for schedule in schedules:
        hours = weekly_hours_from_schedule(schedule)
        for weekdays, opens, closes in _schedule_groups(hours):
            part = WeeklyHours(
                hours.timezone,
                hours.always_open,
                tuple(Interval(d, opens, closes) for d in weekdays if opens and closes),
            )
            records.append(
                _compact(
                    {
                        "id": child_id(service.hsds_id, "schedule", len(records)),
                        "service_id": str(service.hsds_id),
                        "freq": "WEEKLY",
                        "interval": 1,
                        "byday": ",".join(WEEKDAYS[day] for day in weekdays),
                        "opens_at": opens.strftime("%H:%M:%S") if opens else None,
                        "closes_at": closes.strftime("%H:%M:%S") if closes else None,
                        "description": describe(part, "en"),
                        "timezone_name": schedule.timezone,
                        "always_open": schedule.always_open,
                        "contact_channel_id": ids.get(schedule.channel_id) if schedule.channel_id else None,
                    }
                )
            )
    return records


def _area_name(coverage: Coverage) -> str:
    if coverage.scope == CoverageScope.WORLDWIDE:
        return "Worldwide"
    if coverage.scope == CoverageScope.RADIUS:
        return f"Within {coverage.radius_km:g} km of {coverage.latitude:.4f},{coverage.longitude:.4f}"
    return region_name(coverage.subdivision or coverage.country)


def _service_areas(service: Service) -> list[dict[str, Any]]:
    return [
        _compact(
            {
                "id": child_id(service.hsds_id, "service_area", n),
                "service_id": str(service.hsds_id),
                "name": _area_name(coverage),
                "scope": coverage.scope,
                "country": coverage.country,
                "subdivision": coverage.subdivision,
                "latitude": coverage.latitude,
                "longitude": coverage.longitude,
                "radius_km": coverage.radius_km,
            }
        )
        for n, coverage in enumerate(service.coverage.all())
    ]


def _languages(service: Service) -> list[dict[str, Any]]:
    return [
        {
            "id": child_id(service.hsds_id, "language", n),
            "service_id": str(service.hsds_id),
            "name": lang.name,
            "code": lang.code,
        }
        for n, lang in enumerate(service.languages.all())
    ]


def _attributes(service: Service) -> list[dict[str, Any]]:
    return [
        {
            "id": child_id(service.hsds_id, "attribute", n),
            "link_id": str(service.hsds_id),
            "link_type": "topic",
            "link_entity": "service",
            "taxonomy_term_id": term_id(topic.slug),
            "taxonomy_term": term_record(topic),
        }
        for n, topic in enumerate(service.topics.all())
    ]


def location_record(location: Location) -> dict[str, Any]:
    record = _compact(
        {
            "id": str(location.hsds_id),
            "location_type": "physical",
            "organization_id": str(location.service.organization.hsds_id),
            "name": location.name,
            "latitude": location.latitude,
            "longitude": location.longitude,
            "address_1": location.address,
            "city": location.city,
            "postal_code": location.postcode,
            "country": location.country,
            "subdivision": location.subdivision,
            "precision": location.precision,
        }
    )
    parts = (location.address, location.city, location.postcode, location.subdivision)
    # HSDS requires every part of an address: a partial one stays in the profile's fields above.
    record["addresses"] = (
        [
            {
                "id": child_id(location.hsds_id, "address", 0),
                "location_id": str(location.hsds_id),
                "address_1": location.address,
                "city": location.city,
                "state_province": location.subdivision,
                "postal_code": location.postcode,
                "country": location.country,
                "address_type": "physical",
            }
        ]
        if all(parts)
        else []
    )
    return record


def service_at_location_id(location: Location) -> str:
    """A location is one service's (``Location.service``), so the link between them shares the location's id."""
    return str(location.hsds_id)


def with_service(locations: QuerySet[Location]) -> QuerySet[Location]:
    return locations.prefetch_related(Prefetch("service", queryset=with_relations(Service.objects.all())))


def service_at_location_record(location: Location, now: datetime, *, full: bool = False) -> dict[str, Any]:
    """A location with its service, which ``with_service`` prefetched."""
    service = location.service
    return {
        "id": service_at_location_id(location),
        "service_id": str(service.hsds_id),
        "location_id": str(location.hsds_id),
        "location": location_record(location),
        "service": service_record(service, now) if full else service_summary(service, now),
    }


def service_record(service: Service, now: datetime, *, open_now: bool = False) -> dict[str, Any]:
    """The fully nested service (HSDS ``compiled/service.json``) with the profile's additions."""
    ids = _channel_ids(service)
    locations = list(service.locations.all())
    for location in locations:
        location.service = service
    record = service_summary(service, now)
    record |= {
        "phones": _phones(service, ids),
        "schedules": _schedules(service, ids),
        "service_areas": _service_areas(service),
        "service_at_locations": [
            {
                "id": service_at_location_id(loc),
                "service_id": record["id"],
                "location_id": str(loc.hsds_id),
                "location": location_record(loc),
            }
            for loc in locations
        ],
        "languages": _languages(service),
        "attributes": _attributes(service),
        "contact_channels": _contact_channels(service, ids),
    }
    if open_now:
        is_open, _ = service_open_now(service, now)
        if is_open is not None:
            record["open_now"] = is_open
    return record


def with_published_services(organizations: QuerySet[Organization]) -> QuerySet[Organization]:
    return organizations.prefetch_related(Prefetch("services", queryset=public_services(), to_attr="published"))


def organization_full(organization: Organization, now: datetime, *, full_service: bool) -> dict[str, Any]:
    """An organization with its published services, which ``with_published_services`` prefetched."""
    services: list[Service] = getattr(organization, "published", [])
    record = organization_record(organization)
    record["services"] = [service_record(s, now) if full_service else service_summary(s, now) for s in services]
    return record


def profile_document() -> dict[str, Any]:
    """What /hsds/profile/ serves: the HSDS version extended and everything the profile adds."""
    return {
        "name": "helpline-directory",
        "title": "Helpline directory profile of HSDS 3.0",
        "extends": SCHEMA_BASE,
        "version": HSDS_VERSION,
        "description": PROFILE_SUMMARY,
        "fields": {
            table: {name: {"type": kind, "description": text} for name, (kind, text) in fields.items()}
            for table, fields in PROFILE_FIELDS.items()
        },
        "objects": {
            "contact_channel": {
                "nested_in": "service.contact_channels",
                "path": "contact_channels.csv",
                "fields": {
                    name: {"type": kind, "description": text} for name, (kind, text) in CONTACT_CHANNEL_FIELDS.items()
                },
            }
        },
        "api": {
            "service.open_now": "On /hsds/services/{id} and full records: open at the moment of the request",
            "service_at_locations?country=": "The postcode's country, where its format fits several",
            "ids": "service_at_location ids are their location's (each location belongs to one service)",
        },
    }


# --- Filters ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceQuery:
    search: str = ""
    taxonomy_term_id: uuid.UUID | None = None
    taxonomy_id: uuid.UUID | None = None
    organization_id: uuid.UUID | None = None
    modified_after: datetime | None = None


def filter_services(services: QuerySet[Service], query: ServiceQuery) -> QuerySet[Service]:
    """Apply every given filter; they combine as AND."""
    for word in query.search.split()[:8]:
        services = services.filter(Q(name__icontains=word) | Q(description__icontains=word))
    if query.taxonomy_term_id is not None:
        slug = _slug_of_term(str(query.taxonomy_term_id))
        through = Service.topics.through.objects.filter(service_id=OuterRef("pk"), topic__slug=slug)
        services = services.filter(Exists(through)) if slug else services.none()
    if query.taxonomy_id is not None:
        if str(query.taxonomy_id) == TAXONOMY_ID:
            services = services.filter(Exists(Service.topics.through.objects.filter(service_id=OuterRef("pk"))))
        else:
            services = services.none()
    if query.organization_id is not None:
        services = services.filter(organization__hsds_id=query.organization_id)
    if query.modified_after is not None:
        services = services.filter(updated_at__gte=query.modified_after)
    return services


def _slug_of_term(wanted: str) -> str | None:
    return next((slug for slug in Topic.objects.values_list("slug", flat=True) if term_id(slug) == wanted), None)


def services_serving(
    services: QuerySet[Service], point: tuple[float, float], country: str, subdivision: str
) -> QuerySet[Service]:
    """Services whose service area contains the point: worldwide, its country or subdivision, or a radius."""
    areas = Q(scope=CoverageScope.WORLDWIDE) | Q(scope=CoverageScope.COUNTRY, country=country)
    if subdivision:
        areas |= Q(scope=CoverageScope.SUBDIVISION, subdivision=subdivision)
    radius = within_radius(Coverage.objects.filter(scope=CoverageScope.RADIUS), point, 500.0)
    around = radius.filter(d2__lte=F("radius_km") * F("radius_km")).values("service_id")
    return services.filter(Q(Exists(Coverage.objects.filter(areas, service_id=OuterRef("pk")))) | Q(id__in=around))


def locations_near(point: tuple[float, float], radius_km: float) -> QuerySet[Location]:
    return within_radius(Location.objects.all(), point, radius_km)


def with_distance(locations: QuerySet[Location], point: tuple[float, float]) -> QuerySet[Location]:
    return with_squared_distance(locations, point)


# --- The page wrapper ------------------------------------------------------------------------------------


def page(contents: list[dict[str, Any]], total_items: int, page_number: int, per_page: int) -> dict[str, Any]:
    total_pages = (total_items + per_page - 1) // per_page
    return {
        "total_items": total_items,
        "total_pages": total_pages,
        "page_number": page_number,
        "size": len(contents),
        "first_page": page_number == 1,
        "last_page": page_number >= total_pages,
        "empty": total_items == 0,
        "contents": contents,
    }


# --- Schemas ---------------------------------------------------------------------------------------------


@cache
def schema_registry() -> Registry:
    """Every HSDS schema file under its published address, so ``$ref``s resolve offline."""
    resources = []
    for path in sorted((SCHEMA_DIR / "schema").rglob("*.json")):
        if path.name == "openapi.json":
            continue
        address = SCHEMA_BASE + path.relative_to(SCHEMA_DIR / "schema").as_posix()
        contents = json.loads(path.read_text(encoding="utf-8"))
        resources.append((address, Resource.from_contents(contents, default_specification=DRAFT202012)))
    return Registry().with_resources(resources)


@cache
def validator(name: str) -> Draft202012Validator:
    """A validator for an HSDS schema, e.g. ``service.json`` or ``compiled/service_list.json``."""
    # A $ref to the registered address, so the schema's own relative $refs resolve against it.
    schema = {"$ref": SCHEMA_BASE + name}
    return Draft202012Validator(schema, registry=schema_registry(), format_checker=Draft202012Validator.FORMAT_CHECKER)


def schema_errors(record: Any, name: str = "service.json") -> list[str]:
    found = sorted(validator(name).iter_errors(record), key=lambda error: list(error.absolute_path))
    return [f"{'/'.join(str(part) for part in error.absolute_path) or '(record)'}: {error.message}" for error in found]


# --- Export ----------------------------------------------------------------------------------------------


def export_records(now: datetime | None = None) -> Iterator[dict[str, Any]]:
    now = now or timezone.now()
    for service in public_services().iterator(chunk_size=500):
        yield service_record(service, now)


def export_taxonomy_terms() -> list[dict[str, Any]]:
    return [term_record(topic) for topic in Topic.objects.order_by("position", "slug")]


@cache
def datapackage() -> dict[str, Any]:
    """The spec's ``datapackage.json`` with the profile's fields and its ``contact_channel`` resource."""
    package = json.loads((SCHEMA_DIR / "datapackage.json").read_text(encoding="utf-8"))
    package["name"] = "helpline_directory_hsds"
    package["title"] = "Helpline directory: HSDS 3.0 with the helpline-directory profile"
    for resource in package["resources"]:
        for name, (kind, description) in PROFILE_FIELDS.get(resource["name"], {}).items():
            resource["schema"]["fields"].append({"name": name, "type": kind, "description": description})
    fields: list[dict[str, Any]] = [
        {"name": name, "type": kind, "description": text} for name, (kind, text) in CONTACT_CHANNEL_FIELDS.items()
    ]
    fields[0]["constraints"] = {"required": True, "unique": True}
    package["resources"].append(
        {
            "name": "contact_channel",
            "path": "contact_channels.csv",
            "description": "Helpline-directory profile: every way to reach a service, with SMS keywords.",
            "format": "csv",
            "mediatype": "text/csv",
            "profile": "tabular-data-resource",
            "schema": {
                "primaryKey": "id",
                "fields": fields,
                "foreignKeys": [{"fields": "service_id", "reference": {"resource": "service", "fields": "id"}}],
            },
        }
    )
    return package


# The rows nested in a service record, as (resource, key in the record).
_NESTED = (
    ("phone", "phones"),
    ("schedule", "schedules"),
    ("service_area", "service_areas"),
    ("language", "languages"),
    ("attribute", "attributes"),
    ("contact_channel", "contact_channels"),
)


def _rows_of(record: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Flatten one nested service into (resource, row) pairs, its organisation excepted."""
    yield "service", record
    for resource, key in _NESTED:
        for row in record.get(key, []):
            yield resource, row
    for link in record.get("service_at_locations", []):
        yield "service_at_location", link
        location = link.get("location")
        if location:
            yield "location", location
            for address in location.get("addresses", []):
                yield "address", address


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return "" if value is None else str(value)


def export(
    directory: Path,
    *,
    json_form: bool = True,
    tabular: bool = True,
    progress: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """Write ``services.json`` and/or the data package in one pass over the listings; return rows per file.

    Records are written as they are read, so memory does not grow with the directory.
    """
    directory.mkdir(parents=True, exist_ok=True)
    resources = datapackage()["resources"]
    counts: dict[str, int] = {}
    with contextlib.ExitStack() as stack:
        services = stack.enter_context((directory / "services.json").open("w", encoding="utf-8")) if json_form else None
        tables: dict[str, tuple[Any, list[str], str]] = {}
        if tabular:
            for resource in resources:
                handle = stack.enter_context((directory / resource["path"]).open("w", encoding="utf-8", newline=""))
                names = [f["name"] for f in resource["schema"]["fields"]]
                writer = csv.writer(handle)
                writer.writerow(names)
                tables[resource["name"]] = (writer, names, resource["path"])
                counts[resource["path"]] = 0

        def write(resource: str, row: dict[str, Any]) -> None:
            writer, names, path = tables[resource]
            writer.writerow([_cell(row.get(name)) for name in names])
            counts[path] += 1

        organizations: set[str] = set()
        number = 0
        if services is not None:
            services.write("[")
        for number, record in enumerate(export_records(), start=1):
            if services is not None:
                services.write(
                    ("," if number > 1 else "") + "\n" + json.dumps(record, ensure_ascii=False, sort_keys=True)
                )
            if tabular:
                organization = record.get("organization")
                if organization and organization["id"] not in organizations:
                    organizations.add(organization["id"])
                    write("organization", organization)
                for resource, row in _rows_of(record):
                    write(resource, row)
            if progress and number % 500 == 0:
                progress(number)
        if services is not None:
            services.write("\n]\n")
            counts["services.json"] = number
        if tabular:
            terms = export_taxonomy_terms()
            for term in terms:
                write("taxonomy_term", term)
            if terms:
                write("taxonomy", taxonomy_record())
    if tabular:
        (directory / "datapackage.json").write_text(
            json.dumps(datapackage(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    return counts


# --- Reading files ---------------------------------------------------------------------------------------


class HsdsFileError(Exception):
    """A file that cannot be read as HSDS at all (not one bad record: those are reported per record)."""


def _typed(value: str, kind: str) -> Any:
    if value == "":
        return None
    if kind == "number":
        number = float(value)
        return int(number) if number.is_integer() else number
    if kind == "integer":
        return int(value)
    if kind == "boolean":
        if value.lower() not in ("true", "false"):
            raise ValueError(f"{value!r} is not true or false")
        return value.lower() == "true"
    if kind in ("object", "array"):
        return json.loads(value)
    return value


def read_tabular(directory: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
    """Read a data package back into nested services; return (services, taxonomy terms, row errors)."""
    descriptor = directory / "datapackage.json"
    if not descriptor.is_file():
        raise HsdsFileError(f"{directory} has no datapackage.json")
    try:
        package = json.loads(descriptor.read_text(encoding="utf-8"))
        resources = [
            (str(r["name"]), str(r["path"]), r.get("schema", {}).get("fields", [])) for r in package["resources"]
        ]
        tables: dict[str, list[dict[str, Any]]] = {}
        errors: list[str] = []
        for name, relative, fields in resources:
            tables[name] = _read_table(
                directory, relative, {f["name"]: f.get("type", "string") for f in fields}, errors
            )
    except (ValueError, KeyError, TypeError, AttributeError, csv.Error) as exc:
        raise HsdsFileError(f"{descriptor} is not a readable data package: {exc!r}") from exc
    return _nest(tables), tables.get("taxonomy_term", []), errors


def _read_table(directory: Path, relative: str, kinds: dict[str, str], errors: list[str]) -> list[dict[str, Any]]:
    path = (directory / relative).resolve()
    if not path.is_relative_to(directory.resolve()):
        raise ValueError(f"{relative} is outside the package")
    if not path.is_file():
        return []
    rows = []
    with path.open(encoding="utf-8", newline="") as handle:
        for line, raw in enumerate(csv.DictReader(handle), start=2):
            try:
                row = {k: _typed(v or "", kinds.get(k, "string")) for k, v in raw.items() if isinstance(k, str) and k}
            except ValueError as exc:
                errors.append(f"{relative} line {line}: {exc}")
                continue
            rows.append({k: v for k, v in row.items() if v is not None})
    return rows


def _nest(tables: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    def by(name: str, key: str) -> dict[str, list[dict[str, Any]]]:
        grouped: dict[str, list[dict[str, Any]]] = {}
        for row in tables.get(name, []):
            grouped.setdefault(str(row.get(key, "")), []).append(row)
        return grouped

    organizations = {row["id"]: row for row in tables.get("organization", []) if "id" in row}
    terms = {row["id"]: row for row in tables.get("taxonomy_term", []) if "id" in row}
    addresses = by("address", "location_id")
    locations = {}
    for row in tables.get("location", []):
        locations[row.get("id")] = {**row, "addresses": addresses.get(str(row.get("id")), [])}
    children = {
        "phones": by("phone", "service_id"),
        "schedules": by("schedule", "service_id"),
        "service_areas": by("service_area", "service_id"),
        "languages": by("language", "service_id"),
        "contact_channels": by("contact_channel", "service_id"),
    }
    attributes = by("attribute", "link_id")
    links = by("service_at_location", "service_id")
    services = []
    for row in tables.get("service", []):
        key = str(row.get("id"))
        record = dict(row)
        if row.get("organization_id") in organizations:
            record["organization"] = organizations[row["organization_id"]]
        for name, grouped in children.items():
            record[name] = grouped.get(key, [])
        record["attributes"] = [
            {**a, "taxonomy_term": terms[a["taxonomy_term_id"]]} if a.get("taxonomy_term_id") in terms else a
            for a in attributes.get(key, [])
            if a.get("link_entity") == "service"
        ]
        record["service_at_locations"] = [
            {**link, "location": locations[link["location_id"]]} if link.get("location_id") in locations else link
            for link in links.get(key, [])
        ]
        services.append(record)
    return services


def read_json(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise HsdsFileError(f"{path} is not JSON: {exc}") from exc
    if isinstance(data, dict) and isinstance(data.get("contents"), list):
        data = data["contents"]
    if not isinstance(data, list):
        raise HsdsFileError(f"{path} holds neither a list of services nor an HSDS page")
    return data


def read_any(path: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
    """A JSON file of services, a data package directory, or its ``datapackage.json``."""
    if path.is_dir() or path.name == "datapackage.json":
        return read_tabular(path if path.is_dir() else path.parent)
    if path.is_file():
        return read_json(path), [], []
    raise HsdsFileError(f"{path} does not exist")


# --- Import: records -> plans (pure) -------------------------------------------------------------------


@dataclass(frozen=True)
class ImportOptions:
    source: str
    service_kind: str = ""
    organization_kind: str = ""


@dataclass(frozen=True)
class OrganizationPlan:
    # An organisation matched by name keeps its own id: not a change to make.
    hsds_id: str = field(compare=False)
    name: str
    description: str
    email: str
    website: str
    kind: str


@dataclass(frozen=True)
class ChannelPlan:
    kind: str
    value: str
    display: str = ""
    extension: str = ""
    sms_keyword: str = ""
    label: str = ""
    is_primary: bool = False


@dataclass(frozen=True)
class SchedulePlan:
    channel: int | None
    timezone: str
    always_open: bool
    intervals: tuple[tuple[int, time, time], ...]


@dataclass(frozen=True)
class CoveragePlan:
    scope: str
    country: str = ""
    subdivision: str = ""
    latitude: float | None = None
    longitude: float | None = None
    radius_km: float | None = None


@dataclass(frozen=True)
class LocationPlan:
    hsds_id: str
    name: str
    address: str
    city: str
    postcode: str
    country: str
    subdivision: str
    latitude: float | None
    longitude: float | None
    precision: str


@dataclass(frozen=True)
class TopicPlan:
    slug: str
    position: int
    names: dict[str, Any]
    keywords: dict[str, Any]
    advice: dict[str, Any]


@dataclass(frozen=True)
class ServicePlan:
    hsds_id: str
    name: str
    organization: OrganizationPlan
    kind: str
    status: str
    description: str
    translations: dict[str, Any]
    min_age: int | None
    max_age: int | None
    is_free: bool | None
    is_anonymous: bool | None
    is_confidential: bool | None
    hours_note: str
    topics: tuple[str, ...]
    languages: tuple[str, ...]
    # A language row is shared, so its name is the first one given: only the codes can change.
    language_names: dict[str, str] = field(compare=False)
    channels: tuple[ChannelPlan, ...]
    schedules: tuple[SchedulePlan, ...]
    coverage: tuple[CoveragePlan, ...]
    locations: tuple[LocationPlan, ...]


@dataclass
class RecordPlan:
    label: str
    plan: ServicePlan | None = None
    topics: list[TopicPlan] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def record_label(record: Any) -> str:
    if not isinstance(record, dict):
        return "(not an object)"
    return f"service {record.get('id', '(no id)')} {str(record.get('name', ''))[:60]!r}"


def plan_service(record: Any, options: ImportOptions, terms: dict[str, dict[str, Any]] | None = None) -> RecordPlan:
    """Read one HSDS service record into what we would store, collecting every problem in it."""
    result = RecordPlan(record_label(record))
    result.errors = schema_errors(record)
    if result.errors:
        return result
    reader = _RecordReader(record, options, terms or {}, result)
    with contextlib.suppress(_Rejected):
        result.plan = reader.plan()
    if result.errors:
        result.plan = None
    return result


class _Rejected(Exception):
    pass


class _RecordReader:
    def __init__(
        self, record: dict[str, Any], options: ImportOptions, terms: dict[str, dict[str, Any]], result: RecordPlan
    ):
        self.record, self.options, self.terms, self.result = record, options, terms, result

    def error(self, message: str) -> None:
        self.result.errors.append(message)

    def warn(self, message: str) -> None:
        self.result.warnings.append(message)

    def plan(self) -> ServicePlan:
        record = self.record
        kind = record.get("kind") or self.options.service_kind
        if kind not in ServiceKind.values:
            self.error(f"kind: {kind!r} is not one of {', '.join(ServiceKind.values)} (or give --service-kind)")
        min_age, max_age = self.age("minimum_age"), self.age("maximum_age")
        if min_age is not None and max_age is not None and min_age > max_age:
            self.error("minimum_age is above maximum_age")
        locations = self.locations()
        countries = [loc.country for loc in locations]
        coverage = self.coverage()
        countries += [area.country for area in coverage if area.country]
        channels, channel_index = self.channels(countries[0] if countries else "")
        languages = self.languages()
        return ServicePlan(
            hsds_id=record["id"],
            name=record["name"],
            organization=self.organization(),
            kind=str(kind),
            status=record["status"],
            description=record.get("description", ""),
            translations=self.translations(),
            min_age=min_age,
            max_age=max_age,
            is_free=self.flag("is_free"),
            is_anonymous=self.flag("is_anonymous"),
            is_confidential=self.flag("is_confidential"),
            hours_note=self.text("hours_note", 255),
            topics=self.topics(),
            languages=tuple(sorted(languages)),
            language_names=languages,
            channels=channels,
            schedules=self.schedules(channel_index),
            coverage=coverage,
            locations=locations,
        )

    def text(self, name: str, limit: int, source: dict[str, Any] | None = None) -> str:
        value = (self.record if source is None else source).get(name, "")
        if not isinstance(value, str):
            self.error(f"{name}: must be text")
            return ""
        if len(value) > limit:
            self.error(f"{name}: longer than {limit} characters")
        return value

    def flag(self, name: str) -> bool | None:
        value = self.record.get(name)
        if value is not None and not isinstance(value, bool):
            self.error(f"{name}: must be true or false")
            return None
        return value

    def age(self, name: str) -> int | None:
        value = self.record.get(name)
        if value is None:
            return None
        if not float(value).is_integer() or not 0 <= value <= MAX_AGE:
            self.error(f"{name}: must be a whole number from 0 to {MAX_AGE}")
            return None
        return int(value)

    def translations(self) -> dict[str, Any]:
        value = self.record.get("translations") or {}
        valid = isinstance(value, dict) and all(
            isinstance(entry, dict)
            and all(k in ("name", "description") and isinstance(v, str) for k, v in entry.items())
            for entry in value.values()
        )
        if not valid:
            self.error('translations: must be {"<language>": {"name": "...", "description": "..."}}')
            return {}
        return dict(value)

    def organization(self) -> OrganizationPlan:
        found = self.record.get("organization")
        if not isinstance(found, dict):
            self.error("organization: missing (nest it in the service or give its organizations.csv row)")
            raise _Rejected
        kind = found.get("kind") or self.options.organization_kind
        if kind not in OrganizationKind.values:
            self.error(
                f"organization kind: {kind!r} is not one of {', '.join(OrganizationKind.values)}"
                " (or give --organization-kind)"
            )
        name = self.text("name", 255, found)
        description = found.get("description", "")
        return OrganizationPlan(
            hsds_id=found["id"],
            name=name,
            description="" if description == organization_description(None, name, str(kind)) else description,
            email=self.text("email", 254, found),
            website=self.text("website", 500, found),
            kind=str(kind),
        )

    def topics(self) -> tuple[str, ...]:
        slugs = []
        for attribute in self.record.get("attributes", []):
            if attribute.get("link_entity", "service") != "service" or "taxonomy_term_id" not in attribute:
                continue
            term = attribute.get("taxonomy_term") or self.terms.get(attribute["taxonomy_term_id"])
            slug = term.get("code", "") if isinstance(term, dict) else ""
            if not isinstance(term, dict) or not slug or term_id(slug) != attribute["taxonomy_term_id"]:
                self.warn(f"taxonomy term {attribute['taxonomy_term_id']} is not one of our topics: left out")
                continue
            topic = topic_plan(term)
            if topic is None:
                self.error(f"taxonomy term {slug!r}: position, names, keywords or advice malformed")
                continue
            slugs.append(slug)
            self.result.topics.append(topic)
        return tuple(sorted(set(slugs)))

    def languages(self) -> dict[str, str]:
        found: dict[str, str] = {}
        for entry in self.record.get("languages", []):
            # A BCP 47 tag (en-CA) names its language first.
            code = str(entry.get("code", "")).lower().split("-")[0]
            known = language_for(code) if code else None
            if known is None:
                self.error(f"languages: {entry.get('code') or entry.get('name')!r} is not an ISO 639 code")
                continue
            found[code] = str(entry.get("name") or known.name)[:100]
        return found

    def channels(self, country: str) -> tuple[tuple[ChannelPlan, ...], dict[str, int]]:
        own = self.record.get("contact_channels")
        if own:
            return self.own_channels(own)
        channels: list[ChannelPlan] = []
        index: dict[str, int] = {}
        for phone in self.record.get("phones", []):
            value = dial_value(phone["number"], country) if country else None
            if value is None:
                self.error(f"phones: {phone['number']!r} is not a number we can dial (country {country or 'unknown'})")
                continue
            kind = ChannelKind.SMS if phone.get("type") in ("text", "sms") else ChannelKind.PHONE
            primary = kind == ChannelKind.PHONE and not any(c.is_primary for c in channels)
            extension = phone.get("extension")
            index[phone["id"]] = len(channels)
            channels.append(
                ChannelPlan(
                    kind=kind,
                    value=value,
                    display=phone["number"][:255],
                    extension="" if extension is None else str(int(extension)),
                    label=str(phone.get("description", ""))[:255],
                    is_primary=primary,
                )
            )
        for name, kind in (("url", ChannelKind.WEBSITE), ("email", ChannelKind.EMAIL)):
            if self.record.get(name):
                channels.append(ChannelPlan(kind=kind, value=self.text(name, 500)))
        return tuple(channels), index

    def own_channels(self, entries: Any) -> tuple[tuple[ChannelPlan, ...], dict[str, int]]:
        channels: list[ChannelPlan] = []
        index: dict[str, int] = {}
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            self.error("contact_channels: must be a list of channels")
            return (), {}
        rows = sorted(entries, key=lambda e: e["position"] if isinstance(e.get("position"), int) else 0)
        for entry in rows:
            kind, value = entry.get("kind"), str(entry.get("value", ""))
            if kind not in ChannelKind.values or not value:
                self.error(f"contact_channels: {kind!r} {value!r} is not a channel (kind and value needed)")
                continue
            keyword = str(entry.get("sms_keyword", ""))
            if keyword and kind not in (ChannelKind.SMS, ChannelKind.WHATSAPP):
                self.error(f"contact_channels: an SMS keyword on a {kind} channel")
            index[str(entry.get("id"))] = len(channels)
            channels.append(
                ChannelPlan(
                    kind=kind,
                    value=value[:500],
                    display=str(entry.get("display", ""))[:255],
                    extension=str(entry.get("extension", ""))[:10],
                    sms_keyword=keyword[:40],
                    label=str(entry.get("label", ""))[:255],
                    is_primary=bool(entry.get("is_primary", False)),
                )
            )
        if sum(c.is_primary and c.kind == ChannelKind.PHONE for c in channels) > 1:
            self.error("contact_channels: more than one primary phone")
        return tuple(channels), index

    def schedules(self, channel_index: dict[str, int]) -> tuple[SchedulePlan, ...]:
        grouped: dict[tuple[int | None, str], tuple[bool, set[tuple[int, time, time]]]] = {}
        for entry in self.record.get("schedules", []):
            zone = self.zone(entry)
            if zone is None:
                continue
            channel_id = entry.get("contact_channel_id")
            if channel_id is not None and not isinstance(channel_id, str):
                self.error(f"schedules: contact_channel_id of {entry['id']} must be an id")
                continue
            channel = channel_index.get(channel_id) if channel_id else None
            if channel_id and channel is None:
                self.error(f"schedules: contact_channel_id {channel_id} is not one of the service's channels")
                continue
            always, intervals = grouped.get((channel, zone), (False, set()))
            if entry.get("always_open") is True:
                grouped[(channel, zone)] = (True, intervals)
                continue
            days = self.weekdays(entry)
            opens, closes = self.clock(entry.get("opens_at")), self.clock(entry.get("closes_at"))
            if days is None or opens is None or closes is None:
                self.warn(f"schedules: {entry['id']} is not a weekly rule with opening times: left out")
                continue
            grouped[(channel, zone)] = (always, intervals | {(day, opens, closes) for day in days})
        plans = tuple(
            SchedulePlan(channel, zone, always, () if always else tuple(sorted(intervals)))
            for (channel, zone), (always, intervals) in sorted(
                grouped.items(), key=lambda item: (item[0][0] is not None, item[0][0] or 0, item[0][1])
            )
        )
        if sum(plan.channel is None for plan in plans) > 1:
            self.error("schedules: the service's own hours are in more than one time zone")
        channels = [plan.channel for plan in plans if plan.channel is not None]
        if len(channels) != len(set(channels)):
            self.error("schedules: a contact channel's hours are in more than one time zone")
        return plans

    def zone(self, entry: dict[str, Any]) -> str | None:
        name = entry.get("timezone_name")
        if name is None and isinstance(entry.get("timezone"), int | float) and float(entry["timezone"]).is_integer():
            # A fixed UTC offset is an Etc/GMT zone (whose sign is inverted); no daylight saving time.
            offset = int(entry["timezone"])
            name = "Etc/UTC" if offset == 0 else f"Etc/GMT{-offset:+d}"
        if name is None:
            self.warn(f"schedules: {entry['id']} has no time zone: left out")
            return None
        try:
            validate_timezone(str(name))
        except DjangoValidationError:
            self.error(f"schedules: {name!r} is not an IANA time zone")
            return None
        return str(name)

    def weekdays(self, entry: dict[str, Any]) -> list[int] | None:
        if entry.get("freq", "WEEKLY") != "WEEKLY" or entry.get("interval", 1) != 1 or not entry.get("byday"):
            return None
        days = [day.strip().upper() for day in str(entry["byday"]).split(",")]
        return [WEEKDAYS.index(day) for day in days] if all(day in WEEKDAYS for day in days) else None

    def clock(self, value: Any) -> time | None:
        try:
            return time.fromisoformat(str(value)).replace(tzinfo=None)
        except ValueError:
            return None

    def coverage(self) -> tuple[CoveragePlan, ...]:
        areas = []
        for entry in self.record.get("service_areas", []):
            scope = entry.get("scope")
            if scope is None:
                self.warn(f"service area {entry.get('name') or entry['id']!r} has no scope: left out")
                continue
            radius = scope == CoverageScope.RADIUS  # Only a radius area has a centre and a radius.
            area = CoveragePlan(
                scope=scope,
                country=str(entry.get("country", "")).upper(),
                subdivision=str(entry.get("subdivision", "")).upper(),
                latitude=entry.get("latitude") if radius else None,
                longitude=entry.get("longitude") if radius else None,
                radius_km=entry.get("radius_km") if radius else None,
            )
            if not _coverage_valid(area):
                self.error(f"service area {entry['id']}: {scope!r} with these codes or radius is not a valid area")
                continue
            areas.append(area)
        return tuple(areas)

    def locations(self) -> tuple[LocationPlan, ...]:
        found = []
        for link in self.record.get("service_at_locations", []):
            location = link.get("location")
            if not isinstance(location, dict):
                self.error(f"service_at_locations: {link['id']} has no location")
                continue
            address = (location.get("addresses") or [{}])[0]
            country = str(location.get("country") or address.get("country", "")).upper()
            if not is_country_code(country):
                self.error(f"location {location['id']}: country {country!r} is not an ISO 3166-1 alpha-2 code")
                continue
            subdivision = str(location.get("subdivision") or address.get("state_province", "")).upper()
            if subdivision and not is_subdivision_code(subdivision):
                subdivision = ""
            lat, lon = location.get("latitude"), location.get("longitude")
            if (lat is None) != (lon is None) or (
                lat is not None and lon is not None and not (-90 <= lat <= 90 and -180 <= lon <= 180)
            ):
                self.error(f"location {location['id']}: latitude and longitude must both be given, within range")
                continue
            precision = location.get("precision")
            if precision not in GeocodePrecision.values:
                precision = (
                    GeocodePrecision.NONE
                    if lat is None
                    else GeocodePrecision.ADDRESS
                    if address.get("address_1")
                    else GeocodePrecision.CITY
                )
            found.append(
                LocationPlan(
                    hsds_id=location["id"],
                    name=str(location.get("name", ""))[:255],
                    address=str(address.get("address_1") or location.get("address_1", ""))[:255],
                    city=str(address.get("city") or location.get("city", ""))[:100],
                    postcode=str(address.get("postal_code") or location.get("postal_code", ""))[:16],
                    country=country,
                    subdivision=subdivision,
                    latitude=lat,
                    longitude=lon,
                    precision=str(precision),
                )
            )
        return tuple(found)


def topic_plan(term: dict[str, Any]) -> TopicPlan | None:
    """One of our taxonomy's terms as a topic to create where missing; None if it is not ours or is malformed."""
    slug, position = term.get("code"), term.get("position", 0)
    if not isinstance(slug, str) or not slug or term_id(slug) != term.get("id"):
        return None
    names = term.get("names") or {"en": str(term.get("name") or slug)}
    keywords, advice = term.get("keywords") or {}, term.get("advice") or {}
    texts = all(isinstance(v, str) for v in {**names, **advice}.values()) if isinstance(names, dict) else False
    words = isinstance(keywords, dict) and all(
        isinstance(v, list) and all(isinstance(w, str) for w in v) for v in keywords.values()
    )
    if not (isinstance(position, int) and 0 <= position < 32768 and isinstance(advice, dict) and texts and words):
        return None
    return TopicPlan(slug=slug[:50], position=position, names=names, keywords=keywords, advice=advice)


def taxonomy_plans(terms: Sequence[Any]) -> list[TopicPlan]:
    """The terms of a file's taxonomy_terms that are ours (the tabular form lists them all)."""
    return [plan for term in terms if isinstance(term, dict) and (plan := topic_plan(term)) is not None]


def _coverage_valid(area: CoveragePlan) -> bool:
    if area.scope == CoverageScope.WORLDWIDE:
        return not area.country and not area.subdivision
    if area.scope == CoverageScope.COUNTRY:
        return is_country_code(area.country) and not area.subdivision
    if area.scope == CoverageScope.SUBDIVISION:
        return is_subdivision_code(area.subdivision) and area.country == area.subdivision.split("-")[0]
    if area.scope == CoverageScope.RADIUS:
        if (area.country and not is_country_code(area.country)) or area.subdivision:
            return False
        lat, lon, radius = area.latitude, area.longitude, area.radius_km
        return (
            isinstance(lat, int | float)
            and isinstance(lon, int | float)
            and isinstance(radius, int | float)
            and -90 <= lat <= 90
            and -180 <= lon <= 180
            and radius > 0
        )
    return False


def plan_records(
    records: Sequence[Any],
    options: ImportOptions,
    terms: Sequence[dict[str, Any]] = (),
    progress: Callable[[int, int], None] | None = None,
) -> list[RecordPlan]:
    by_id = {term["id"]: term for term in terms if isinstance(term, dict) and "id" in term}
    plans: list[RecordPlan] = []
    for number, record in enumerate(records, start=1):
        plans.append(plan_service(record, options, by_id))
        if progress and (number % 100 == 0 or number == len(records)):
            progress(number, len(records))
    _reject_taken_ids(plans)
    return plans


def _reject_taken_ids(plans: Sequence[RecordPlan]) -> None:
    """A service id twice in the file, or a location id that belongs to another service, is a bad record."""
    services: set[str] = set()
    owners: dict[str, str] = {}
    wanted = [place.hsds_id for result in plans if result.plan for place in result.plan.locations]
    for place_id, service_id in Location.objects.filter(hsds_id__in=wanted).values_list("hsds_id", "service__hsds_id"):
        owners[str(place_id)] = str(service_id)
    for result in plans:
        plan = result.plan
        if plan is None:
            continue
        if plan.hsds_id in services:
            result.errors.append("the same service id appears twice in the file")
        services.add(plan.hsds_id)
        for place in plan.locations:
            owner = owners.setdefault(str(uuid.UUID(place.hsds_id)), str(uuid.UUID(plan.hsds_id)))
            if owner != str(uuid.UUID(plan.hsds_id)):
                result.errors.append(f"location {place.hsds_id} is another service's")
        if result.errors:
            result.plan = None


def listing_data(plan: ServicePlan, organization_id: int, review_interval_days: int) -> dict[str, Any]:
    """What a plan proposes, in the shape of ``changes.snapshot(service, ids=True)``.

    The same shape the write API validates a listing into, plus the HSDS ids of the listing and its
    locations, so that the approved listing keeps the ids the other directory gave them.
    """
    hours = {schedule.channel: _hours_data(schedule) for schedule in plan.schedules}
    data: dict[str, Any] = {"organization": organization_id, "hsds_id": str(uuid.UUID(plan.hsds_id))}
    for name in changes.SERVICE_SCALARS:
        data[name] = review_interval_days if name == "review_interval_days" else copy.deepcopy(getattr(plan, name))
    data["topics"] = sorted(plan.topics)
    data["languages"] = sorted(plan.languages)
    data["channels"] = [
        {**{name: getattr(channel, name) for name in changes.CHANNEL_FIELDS}, "hours": hours.get(number)}
        for number, channel in enumerate(plan.channels)
    ]
    data["hours"] = hours.get(None)
    data["coverage"] = [{name: getattr(area, name) for name in changes.COVERAGE_FIELDS} for area in plan.coverage]
    data["locations"] = [
        {**{name: getattr(place, name) for name in changes.LOCATION_FIELDS}, "hsds_id": str(uuid.UUID(place.hsds_id))}
        for place in plan.locations
    ]
    return data


def _hours_data(schedule: SchedulePlan) -> dict[str, Any]:
    return {
        "timezone": schedule.timezone,
        "always_open": schedule.always_open,
        "intervals": [
            {"weekday": weekday, "opens": changes.clock_text(opens), "closes": changes.clock_text(closes)}
            for weekday, opens, closes in sorted(schedule.intervals)
        ],
    }


# --- Import: the one place that writes, through directory.changes --------------------------------------

OUTCOMES = ("created", "changed", "unchanged")


@dataclass
class ImportReport:
    """Per outcome, the records' labels: ``created`` and ``changed`` are proposals made (or, on a dry run,
    that would be made), ``unchanged`` records need none."""

    outcomes: dict[str, list[str]] = field(default_factory=lambda: {outcome: [] for outcome in OUTCOMES})
    topics_created: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, outcome: str, label: str) -> None:
        self.outcomes[outcome].append(label)


def write_plans(
    plans: Sequence[RecordPlan],
    options: ImportOptions,
    *,
    actor: Any,
    taxonomy: Sequence[TopicPlan] = (),
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
    now: datetime | None = None,
) -> ImportReport:
    """Propose every listing the plans would create or change, as ``actor``, in one transaction.

    Listings change only through ``directory.changes``: each new or changed listing becomes a proposal
    that a moderator other than ``actor`` approves, so no public answer changes here. Organisations,
    topics and languages (not listings) are synced directly, recorded as ``actor``'s. A dry run rolls it
    all back. A plan with errors is a bug here.
    """
    if any(plan.plan is None for plan in plans):
        raise ValueError("rejected records cannot be written: nothing is imported while any record is bad")
    now = now or timezone.now()
    report = ImportReport()
    with transaction.atomic(), acting_as(actor, f"import_hsds from {options.source}"):
        _sync_topics([*taxonomy, *(topic for plan in plans for topic in plan.topics)], report)
        for number, result in enumerate(plans, start=1):
            assert result.plan is not None
            outcome, detail = _propose_service(result.plan, actor, options, now, report)
            report.add(outcome, result.label + detail)
            if progress and (number % 100 == 0 or number == len(plans)):
                progress(number, len(plans))
        if dry_run:
            transaction.set_rollback(True)
    return report


def _sync_topics(wanted: Sequence[TopicPlan], report: ImportReport) -> dict[str, Topic]:
    """Our taxonomy's terms: those missing here are created; existing topics stay as fixtures/topics.json has them."""
    topics = {topic.slug: topic for topic in Topic.objects.filter(slug__in={t.slug for t in wanted})}
    for plan in sorted(wanted, key=lambda topic: (topic.position, topic.slug)):
        if plan.slug not in topics:
            topics[plan.slug] = Topic.objects.create(
                slug=plan.slug, position=plan.position, names=plan.names, keywords=plan.keywords, advice=plan.advice
            )
            report.topics_created.append(plan.slug)
    return topics


def _propose_service(
    plan: ServicePlan, actor: Any, options: ImportOptions, now: datetime, report: ImportReport
) -> tuple[str, str]:
    """Propose the listing a plan describes, unless it (or its pending proposal) already says that.

    Returns the outcome and what the report adds to the record's label (the proposal's number).
    """
    organization = _sync_organization(plan.organization)
    for code in plan.languages:  # A language row is shared: it keeps the name it was first given.
        Language.objects.get_or_create(code=code, defaults={"name": plan.language_names[code]})
    web = options.source.startswith(("http://", "https://")) and len(options.source) <= 500
    source_url = options.source if web else ""
    source_note = (
        f"Imported from HSDS data ({options.source}), record {plan.hsds_id}, on {now.date().isoformat()}, "
        f"by {actor.get_username()}. These facts rest on another directory's data: check them against the "
        "organisation's own pages before approving."
    )
    existing = Service.objects.filter(hsds_id=plan.hsds_id).first()
    if existing is None:
        data = listing_data(plan, organization.pk, _default_review_interval())
        waiting = changes.pending_new_listing(data["hsds_id"])
        if waiting is not None and waiting.data == data:
            return "unchanged", f" (proposal #{waiting.pk} already proposes it)"
        proposal = changes.propose_new_service(
            actor, organization, data, source_url=source_url, source_note=source_note
        )
        return "created", f" (proposal #{proposal.pk}{_replacing(waiting)})"
    if existing.organization_id != organization.pk:
        report.notes.append(
            f"service {plan.hsds_id}: the record names the organisation {organization.name!r}; the listing stays "
            f"with {existing.organization.name!r} (a listing never moves to another organisation)"
        )
    data = listing_data(plan, existing.organization_id, existing.review_interval_days)
    if data == changes.snapshot(existing, ids=True):
        return "unchanged", ""
    waiting = existing.proposals.filter(state=ProposalState.PENDING).first()
    if waiting is not None and waiting.action == ProposalAction.UPDATE and waiting.data == data:
        return "unchanged", f" (proposal #{waiting.pk} already proposes it)"
    proposal = changes.propose_service_change(
        actor, existing, data, existing.version, source_url=source_url, source_note=source_note
    )
    return "changed", f" (proposal #{proposal.pk}{_replacing(waiting)})"


def _replacing(waiting: Proposal | None) -> str:
    if waiting is None:
        return ""
    return f", superseding #{waiting.pk} by {waiting.author.get_username() if waiting.author else 'nobody'}"


def _default_review_interval() -> int:
    return int(Service._meta.get_field("review_interval_days").default)


def _sync_organization(plan: OrganizationPlan) -> Organization:
    organization = (
        Organization.objects.filter(hsds_id=plan.hsds_id).first() or Organization.objects.filter(name=plan.name).first()
    )
    wanted = {
        "name": plan.name,
        "description": plan.description,
        "email": plan.email,
        "website": plan.website,
        "kind": plan.kind,
    }
    if organization is None:
        return Organization.objects.create(hsds_id=plan.hsds_id, **wanted)
    if any(getattr(organization, key) != value for key, value in wanted.items()):
        for key, value in wanted.items():
            setattr(organization, key, value)
        organization.version += 1  # proposals made on the version before are now in conflict
        organization.save()
    return organization
