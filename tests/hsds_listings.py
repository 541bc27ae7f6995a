"""Listings for the HSDS tests: one of each shape the HSDS records must carry (fictional names and numbers)."""

import json
from datetime import time
from pathlib import Path
from typing import Any

from directory import hsds
from directory.models import (
    ChannelKind,
    ContactChannel,
    GeocodePrecision,
    Location,
    OpeningInterval,
    Schedule,
    Service,
    ServiceStatus,
    VerificationState,
)
from tests import builders

OPENAPI = json.loads((hsds.SCHEMA_DIR / "schema" / "openapi.json").read_text(encoding="utf-8"))


def build() -> dict[str, Service]:
    kids = builders.service(
        "Kids Line Example",
        country="CA",
        topics=("emotional_support", "sextortion"),
        languages=("en", "fr"),
        phone="+13065550101",
        sms="555010",
        sms_keyword="CONNECT",
        always_open=True,
        min_age=5,
        max_age=25,
        is_free=True,
        translations={"fr": {"name": "Ligne Jeunes Exemple"}},
        org="Kids Example Org",
    )
    ContactChannel.objects.create(service=kids, kind=ChannelKind.WEBSITE, value="https://kids.example.org", position=2)
    chat = ContactChannel.objects.create(
        service=kids, kind=ChannelKind.CHAT, value="https://kids.example.org/chat", label="web chat", position=3
    )
    evenings = Schedule.objects.create(service=kids, channel=chat, timezone="America/Regina")
    for weekday in range(5):
        OpeningInterval.objects.create(schedule=evenings, weekday=weekday, opens=time(18), closes=time(23, 30))
    OpeningInterval.objects.create(schedule=evenings, weekday=5, opens=time(22), closes=time(2))
    police = builders.service(
        "Regina Example Police",
        kind="police",
        country="CA",
        subdivision="CA-SK",
        point=(50.4480, -104.6054),
        topics=("police_reporting",),
        phone="+13065550102",
        hours=((0, time(8), time(17)), (1, time(8), time(17))),
        timezone="America/Regina",
        org="Regina Example Police Service",
    )
    Location.objects.filter(service=police).update(
        address="1 Example Street", city="Regina", postcode="S4P 3Y2", precision=GeocodePrecision.ADDRESS
    )
    pending = builders.service(
        "Pending Example Line", country="CA", topics=("sextortion",), state=VerificationState.PENDING
    )
    radius = builders.service(
        "Saskatoon Example Centre", kind="support_agency", point=(52.13, -106.67), radius_km=50.0, country="CA"
    )
    world = builders.service("Worldwide Example Takedown", kind="reporting", worldwide=True, topics=("image_removal",))
    inactive = builders.service("Closed Example Line", country="CA", status=ServiceStatus.INACTIVE)
    return {"kids": kids, "police": police, "pending": pending, "radius": radius, "world": world, "inactive": inactive}


def comparable(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Records without what an import may not carry over: when they changed and how well they are confirmed."""
    kept = []
    for record in records:
        record = {k: v for k, v in record.items() if k not in ("last_modified", "verification", "assured_date")}
        kept.append(record)
    return kept


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))
