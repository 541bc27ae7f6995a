"""Readable builders for listings in tests. Names and numbers are fictional (NANP 555-01xx range)."""

import csv
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

from directory.geocoding import subdivision_for
from directory.models import (
    ChannelKind,
    ContactChannel,
    Coverage,
    CoverageScope,
    Language,
    Location,
    OpeningInterval,
    Organization,
    OrganizationKind,
    PostcodeArea,
    Schedule,
    Service,
    ServiceKind,
    Topic,
    VerificationState,
)

POSTCODE_TABLES = Path(__file__).resolve().parent.parent / "fixtures" / "postcodes"
VERIFIED_AT = datetime(2026, 11, 1, tzinfo=UTC)


def topic(slug: str, **names: str) -> Topic:
    found, _ = Topic.objects.get_or_create(slug=slug, defaults={"names": names or {"en": slug.replace("_", " ")}})
    return found


def language(code: str, name: str = "") -> Language:
    found, _ = Language.objects.get_or_create(code=code, defaults={"name": name or code})
    return found


def organization(name: str = "Example Org", kind: str = OrganizationKind.NGO) -> Organization:
    found, _ = Organization.objects.get_or_create(name=name, defaults={"kind": kind})
    return found


def service(
    name: str,
    *,
    kind: str = ServiceKind.HELPLINE,
    country: str = "",
    subdivision: str = "",
    worldwide: bool = False,
    point: tuple[float, float] | None = None,
    radius_km: float | None = None,
    topics: tuple[str, ...] = (),
    languages: tuple[str, ...] = (),
    phone: str = "",
    sms: str = "",
    sms_keyword: str = "",
    always_open: bool = False,
    hours: tuple[tuple[int, time, time], ...] = (),
    timezone: str = "America/Toronto",
    state: str = VerificationState.VERIFIED,
    org: str = "Example Org",
    **fields: Any,
) -> Service:
    """Build a service; coverage follows the arguments: worldwide, country, subdivision, point.

    A point makes a located service, or with ``radius_km`` a radius coverage around that point.
    """
    verified = state in (VerificationState.VERIFIED, VerificationState.STALE)
    created = Service.objects.create(
        organization=organization(org),
        kind=kind,
        name=name,
        verification_state=state,
        verified_at=VERIFIED_AT if verified else None,
        review_due=VERIFIED_AT + timedelta(days=180) if verified else None,
        evidence_url="https://example.org/source",
        **fields,
    )
    if worldwide:
        Coverage.objects.create(service=created, scope=CoverageScope.WORLDWIDE)
    if subdivision:
        Coverage.objects.create(
            service=created, scope=CoverageScope.SUBDIVISION, country=subdivision[:2], subdivision=subdivision
        )
    elif country and point is None:
        Coverage.objects.create(service=created, scope=CoverageScope.COUNTRY, country=country)
    if point is not None and radius_km is None:
        Location.objects.create(
            service=created,
            country=country or subdivision[:2],
            subdivision=subdivision,
            latitude=point[0],
            longitude=point[1],
            precision="address",
        )
    if point is not None and radius_km is not None:
        Coverage.objects.create(
            service=created, scope=CoverageScope.RADIUS, latitude=point[0], longitude=point[1], radius_km=radius_km
        )
    created.topics.set([topic(slug) for slug in topics])
    created.languages.set([language(code) for code in languages])
    if phone:
        ContactChannel.objects.create(service=created, kind=ChannelKind.PHONE, value=phone, is_primary=True)
    if sms:
        ContactChannel.objects.create(
            service=created, kind=ChannelKind.SMS, value=sms, sms_keyword=sms_keyword, position=1
        )
    if always_open or hours:
        schedule = Schedule.objects.create(service=created, timezone=timezone, always_open=always_open)
        for weekday, opens, closes in hours:
            OpeningInterval.objects.create(schedule=schedule, weekday=weekday, opens=opens, closes=closes)
    return created


def postcodes(*keys: str) -> None:
    """Load just these rows (``"CA S4P"``, ``"GB SW1A"``) of the shipped postcode tables."""
    wanted: dict[str, set[str]] = {}
    for key in keys:
        country, code = key.split()
        wanted.setdefault(country, set()).add(code)
    for country, codes in wanted.items():
        with (POSTCODE_TABLES / f"{country}.csv").open(encoding="utf-8", newline="") as table:
            for row in csv.DictReader(table):
                if row["postcode"] in codes:
                    PostcodeArea.objects.create(
                        country=country,
                        code=row["postcode"],
                        latitude=float(row["latitude"]),
                        longitude=float(row["longitude"]),
                        place=row["place"],
                        admin_name=row["admin1"],
                        subdivision=subdivision_for(country, row["admin1"]),
                    )


def clear_directory() -> None:
    """Remove every listing, organisation, topic, language and postcode (after a module-wide seed load)."""
    Service.objects.all().delete()
    Organization.objects.all().delete()
    Topic.objects.all().delete()
    Language.objects.all().delete()
    PostcodeArea.objects.all().delete()


def maintainer(username: str, org: str = "Example Org", role: str = "maintainer") -> Any:
    """A user with a membership of ``org`` (a maintainer unless ``role`` says viewer)."""
    from directory.accounts import ensure_user, make_maintainer

    user, _ = ensure_user(username, f"{username}@example.org", "a long test password 1")
    make_maintainer(user, organization(org), role)
    return user


def moderator(username: str) -> Any:
    from directory.accounts import ensure_user, make_moderator

    user, _ = ensure_user(username, f"{username}@example.org", "a long test password 1")
    make_moderator(user)
    return user


def token_for(user: Any) -> str:
    from knox.models import AuthToken

    return AuthToken.objects.create(user=user)[1]


def second_factor_verified(client: Any, user: Any) -> Any:
    """Sign ``client`` in as ``user`` as if with their one-time code (moderators need it for the admin)."""
    from django_otp import DEVICE_ID_SESSION_KEY

    from directory.accounts import new_authenticator

    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = new_authenticator(user).persistent_id
    session.save()
    return client
