"""Load the offline postcode centroids from fixtures/postcodes/<COUNTRY>.csv into PostcodeArea.

A table with an ``admin2`` column (GB) also gives each key its county, kept as its ISO 3166-2 code
when ISO 3166-2 has one (see ``geocoding.county_for``).
"""

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from directory.geocoding import (
    SUPPORTED_COUNTRIES,
    county_for,
    forget_postcodes,
    normalize_postcode,
    subdivision_for,
)
from directory.models import PostcodeArea

BATCH_SIZE = 2000
FIELDS = ("latitude", "longitude", "place", "admin_name", "subdivision", "county")


@dataclass(frozen=True)
class Row:
    code: str
    latitude: float
    longitude: float
    place: str
    admin_name: str
    subdivision: str
    county: str

    def values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, field) for field in FIELDS)


def read_table(path: Path, country: str) -> dict[str, Row]:
    """Read one country's table, refusing rows the app could never look up."""
    rows: dict[str, Row] = {}
    with path.open(encoding="utf-8", newline="") as table:
        for line, record in enumerate(csv.DictReader(table), start=2):
            try:
                code = record["postcode"].strip()
                latitude, longitude = float(record["latitude"]), float(record["longitude"])
            except (KeyError, AttributeError, ValueError) as error:
                raise CommandError(f"{path.name}:{line}: unreadable row ({error})") from error
            if record.get("country") != country or normalize_postcode(country, code) != code:
                raise CommandError(f"{path.name}:{line}: {code!r} is not a {country} postcode key")
            if not (math.isfinite(latitude) and -90 <= latitude <= 90 and -180 <= longitude <= 180):
                raise CommandError(f"{path.name}:{line}: {code} has no valid point")
            if code in rows:
                raise CommandError(f"{path.name}:{line}: {code} appears twice")
            admin_name = (record.get("admin1") or "").strip()
            rows[code] = Row(
                code=code,
                latitude=latitude,
                longitude=longitude,
                place=(record.get("place") or "").strip()[:255],
                admin_name=admin_name[:100],
                subdivision=subdivision_for(country, admin_name),
                county=county_for(country, record.get("admin2") or ""),
            )
    return rows


@transaction.atomic
def sync_country(country: str, rows: dict[str, Row]) -> tuple[int, int, int]:
    """Make the country's PostcodeArea rows equal ``rows``; return (created, updated, removed)."""
    existing = {area.code: area for area in PostcodeArea.objects.filter(country=country).only("code", *FIELDS)}
    to_create = [
        PostcodeArea(country=country, code=code, **_fields(row)) for code, row in rows.items() if code not in existing
    ]
    to_update = []
    for code, area in existing.items():
        row = rows.get(code)
        if row is not None and tuple(getattr(area, field) for field in FIELDS) != row.values():
            for field, value in _fields(row).items():
                setattr(area, field, value)
            to_update.append(area)
    stale = [area.pk for code, area in existing.items() if code not in rows]
    PostcodeArea.objects.bulk_create(to_create, batch_size=BATCH_SIZE)
    PostcodeArea.objects.bulk_update(to_update, FIELDS, batch_size=BATCH_SIZE)
    for start in range(0, len(stale), BATCH_SIZE):
        PostcodeArea.objects.filter(pk__in=stale[start : start + BATCH_SIZE]).delete()
    return len(to_create), len(to_update), len(stale)


def _fields(row: Row) -> dict[str, Any]:
    return dict(zip(FIELDS, row.values(), strict=True))


class Command(BaseCommand):
    help = "Load postcode centroids from fixtures/postcodes into PostcodeArea (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--countries",
            default=",".join(SUPPORTED_COUNTRIES),
            help="Comma-separated ISO country codes to load, e.g. CA,GB (default: all).",
        )
        parser.add_argument(
            "--directory",
            type=Path,
            default=Path(settings.BASE_DIR) / "fixtures" / "postcodes",
            help="Folder holding the <COUNTRY>.csv tables.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        countries = [code.strip().upper() for code in str(options["countries"]).split(",") if code.strip()]
        unknown = sorted(set(countries) - set(SUPPORTED_COUNTRIES))
        if unknown or not countries:
            raise CommandError(f"Unsupported countries: {', '.join(unknown) or '(none given)'}")
        directory: Path = options["directory"]
        for country in dict.fromkeys(countries):
            path = directory / f"{country}.csv"
            if not path.is_file():
                raise CommandError(f"No postcode table at {path}")
            rows = read_table(path, country)
            created, updated, removed = sync_country(country, rows)
            forget_postcodes()
            self.stdout.write(
                f"{country}: {len(rows)} postcodes ({created} created, {updated} updated, {removed} removed)"
            )
