"""Build one benchmark database: migrate, load the project's seed data, then stream in synthetic listings.

Run by the harness in a child process whose environment picks the database (``SQLITE_PATH`` or
``DATABASE_URL``): ``python -m bench.loader --services 100000 --seed 1 --anchor 2026-11-21T00:00:00+00:00``.
Rows go in through the raw driver in large batches with explicit ids (``executemany`` on SQLite,
``COPY`` on PostgreSQL), one transaction per batch, so a million listings take minutes, not hours.
"""

import argparse
import io
import os
import random
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.generator import LANGUAGE_CODES, TABLES, TOPIC_SLUGS, Batch, build_atlas, generate

BASE_DIR = Path(__file__).resolve().parent.parent
POSTCODES_DIR = BASE_DIR / "fixtures" / "postcodes"

LANGUAGE_NAMES = {
    "en": "English",
    "fr": "French",
    "es": "Spanish",
    "de": "German",
    "hi": "Hindi",
    "mi": "Māori",
    "ga": "Irish",
    "ar": "Arabic",
    "zh": "Chinese",
    "tr": "Turkish",
}


class TablePlan:
    """How one generated table goes into the database: its columns, and values to convert on the way."""

    def __init__(self, model: Any, names: Sequence[str], connection: Any) -> None:
        fields = [model._meta.get_field(name) for name in names]
        given = {field.name for field in fields}
        # Columns the generator does not know (added to the model later) get the model's default.
        self.extra = [
            field
            for field in model._meta.concrete_fields
            if field.name not in given
            and not field.primary_key
            and not field.has_db_default()
            and not getattr(field, "generated", False)
        ]
        self.extra_values = tuple(field.get_db_prep_value(field.get_default(), connection) for field in self.extra)
        # A callable default (a UUID) differs per row: it is called for each one, not once for the table.
        self.fresh = [(index, field) for index, field in enumerate(self.extra) if callable(field.default)]
        self.connection = connection
        self.table = model._meta.db_table
        self.columns = [field.column for field in fields + self.extra]
        self.converters = [_converter(field, connection) for field in fields]

    def rows(self, rows: Iterable[tuple[object, ...]]) -> Iterable[tuple[object, ...]]:
        converters = list(enumerate(self.converters))
        if not any(convert for _, convert in converters) and not self.extra_values:
            return rows
        active = [(index, convert) for index, convert in converters if convert]
        return (_converted(row, active) + self.extras() for row in rows)

    def extras(self) -> tuple[object, ...]:
        if not self.fresh:
            return self.extra_values
        values = list(self.extra_values)
        for index, field in self.fresh:
            values[index] = field.get_db_prep_value(field.get_default(), self.connection)
        return tuple(values)


def _converted(row: tuple[object, ...], active: Sequence[tuple[int, Callable[[object], object]]]) -> tuple[object, ...]:
    values = list(row)
    for index, convert in active:
        values[index] = convert(values[index])
    return tuple(values)


def _converter(field: Any, connection: Any) -> Callable[[object], object] | None:
    """Return a function preparing values of ``field`` for the driver, or None when they pass as they are."""
    from django.db import models

    if isinstance(field, models.JSONField):
        return lambda value: field.get_db_prep_value(value, connection)
    if not isinstance(field, models.DateField | models.TimeField):
        return None
    # Dates and times take few distinct values, so each is converted once.
    cache: dict[object, object] = {}

    def convert(value: object) -> object:
        if value is None:
            return None
        if value not in cache:
            cache[value] = field.get_db_prep_value(value, connection)
        return cache[value]

    return convert


def table_plans(connection: Any) -> dict[str, TablePlan]:
    from directory.models import (
        ContactChannel,
        Coverage,
        Location,
        OpeningInterval,
        Organization,
        Schedule,
        Service,
    )

    models = {
        "organization": Organization,
        "service": Service,
        "channel": ContactChannel,
        "schedule": Schedule,
        "interval": OpeningInterval,
        "coverage": Coverage,
        "location": Location,
        "service_topic": Service.topics.through,
        "service_language": Service.languages.through,
    }
    return {table: TablePlan(models[table], TABLES[table], connection) for table in TABLES}


def write_batch(connection: Any, plans: Mapping[str, TablePlan], batch: Batch) -> None:
    """Insert one batch in table order (parents first) inside one transaction."""
    from django.db import transaction

    with transaction.atomic(using=connection.alias):
        for table in TABLES:
            if batch[table]:
                _insert(connection, plans[table], batch[table])


def _insert(connection: Any, plan: TablePlan, rows: list[tuple[object, ...]]) -> None:
    quote = connection.ops.quote_name
    columns = ", ".join(quote(column) for column in plan.columns)
    if connection.vendor == "postgresql":
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(f"COPY {quote(plan.table)} ({columns}) FROM STDIN") as copy,
        ):
            for row in plan.rows(rows):
                copy.write_row(row)
        return
    placeholders = ", ".join("?" for _ in plan.columns)
    connection.connection.executemany(
        f"INSERT INTO {quote(plan.table)} ({columns}) VALUES ({placeholders})",  # noqa: S608 - names from models
        plan.rows(rows),
    )


def next_ids(connection: Any, plans: Mapping[str, TablePlan]) -> dict[str, int]:
    quote = connection.ops.quote_name
    first: dict[str, int] = {}
    with connection.cursor() as cursor:
        for table, plan in plans.items():
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {quote(plan.table)}")  # noqa: S608
            first[table] = int(cursor.fetchone()[0])
    return first


def ensure_topics_and_languages() -> tuple[dict[str, int], dict[str, int]]:
    """Create the standard topics and the benchmark's languages if the seed data lacks them."""
    from directory.models import Language, Topic

    for position, slug in enumerate(TOPIC_SLUGS, start=1):
        label = slug.replace("_", " ").capitalize()
        Topic.objects.get_or_create(slug=slug, defaults={"position": position, "names": {"en": label}})
    for code in LANGUAGE_CODES:
        Language.objects.get_or_create(code=code, defaults={"name": LANGUAGE_NAMES[code]})
    topics = dict(Topic.objects.filter(slug__in=TOPIC_SLUGS).values_list("slug", "id"))
    languages = dict(Language.objects.filter(code__in=LANGUAGE_CODES).values_list("code", "id"))
    return topics, languages


def truncate_listings(connection: Any) -> None:
    """Empty every table of the project's apps (PostgreSQL between sizes), resetting the id sequences."""
    from django.apps import apps

    tables = [
        model._meta.db_table
        for app in ("directory", "sms")
        for model in apps.get_app_config(app).get_models(include_auto_created=True)
    ]
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(quote(table) for table in tables)} RESTART IDENTITY CASCADE")


def reset_sequences(connection: Any, plans: Mapping[str, TablePlan]) -> None:
    """Move PostgreSQL id sequences past the explicit ids, so the application's own inserts work."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for plan in plans.values():
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence(%s, 'id'), (SELECT COALESCE(MAX(id), 1) FROM "  # noqa: S608
                f"{connection.ops.quote_name(plan.table)}))",
                [plan.table],
            )


def tune_for_bulk_load(connection: Any) -> None:
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            # Losing the file on a crash is fine: it is built under a temporary name and renamed at the end.
            cursor.execute("PRAGMA synchronous=OFF")
            cursor.execute("PRAGMA cache_size=-262144")
            cursor.execute("PRAGMA temp_store=MEMORY")


def compact_change_log(connection: Any) -> None:
    """Replace the entries the triggers wrote for every bulk-loaded row by one that means "reload everything".

    The triggers (migration 0009) logged the load in its own transactions, so every app process sees a new
    revision; with a null listing it rebuilds its read model rather than patching a million listings.
    On PostgreSQL the entries are truncated, not deleted: millions of dead rows left for VACUUM made the
    revision check of every request scan a 360 MB table and its index (100 ms a request at 1M).
    The ids start again at 1, as in a log that was never bulk-loaded: left at the millions the load used, the
    one entry had a hundred never-used ids below it, which every process took for transactions still in flight
    and asked for in each request's revision check for ``readmodel.GAP_SECONDS``.
    """
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("TRUNCATE directory_change RESTART IDENTITY")
        else:
            cursor.execute("DELETE FROM directory_change")
            cursor.execute("DELETE FROM sqlite_sequence WHERE name = 'directory_change'")
        cursor.execute("INSERT INTO directory_change (service_id, token) VALUES (NULL, %s)", [random.getrandbits(62)])


def analyze(connection: Any) -> None:
    """Give the query planner statistics, as autovacuum (PostgreSQL) or ``PRAGMA optimize`` would.

    PostgreSQL is also vacuumed, as autovacuum would do soon after a bulk load: until then index-only
    scans still read every table row, because no page is yet marked all-visible.
    """
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def seed(services: int, seed_value: int, anchor: datetime, *, truncate: bool, report: Callable[[str], None]) -> None:
    from django.core.management import call_command
    from django.db import connection

    from bench.generator import read_centroids
    from directory.geocoding import subdivision_for

    started = time.monotonic()
    call_command("migrate", interactive=False, verbosity=0)
    if truncate:
        truncate_listings(connection)
    call_command("load_seed", stdout=io.StringIO())
    report(f"  project seed data loaded ({time.monotonic() - started:.0f} s)")
    topic_ids, language_ids = ensure_topics_and_languages()
    plans = table_plans(connection)
    atlas = build_atlas(read_centroids(POSTCODES_DIR, subdivision_for))
    tune_for_bulk_load(connection)
    generating = time.monotonic()
    made = 0
    last_report = 0.0
    for batch in generate(
        services,
        seed=seed_value,
        atlas=atlas,
        topic_ids=topic_ids,
        language_ids=language_ids,
        anchor=anchor,
        first_ids=next_ids(connection, plans),
    ):
        write_batch(connection, plans, batch)
        made += len(batch["service"])
        elapsed = time.monotonic() - generating
        if elapsed - last_report >= 5 or made == services:
            last_report = elapsed
            report(f"  seeded {made:,} / {services:,} services ({elapsed:.0f} s, {made / max(elapsed, 1e-6):,.0f}/s)")
    reset_sequences(connection, plans)
    compact_change_log(connection)
    analyze(connection)
    report(f"  database ready in {time.monotonic() - started:.0f} s")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.loader", description=__doc__)
    parser.add_argument("--services", type=int)
    parser.add_argument("--seed", type=int)
    parser.add_argument(
        "--anchor", type=datetime.fromisoformat, help="aware ISO 8601 time verification dates count back from"
    )
    parser.add_argument("--truncate", action="store_true", help="empty the project's tables first")
    parser.add_argument("--refresh", action="store_true", help="only apply new migrations and reload the seed data")
    args = parser.parse_args(argv)
    if not args.refresh and (args.services is None or args.seed is None or args.anchor is None):
        parser.error("--services, --seed and --anchor are required unless --refresh")
    if args.anchor is not None and args.anchor.tzinfo is None:
        parser.error("--anchor needs a time zone offset")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django
    from django.core.management import call_command

    django.setup()
    if args.refresh:
        from django.db import connection

        call_command("migrate", interactive=False, verbosity=0)
        call_command("load_seed", stdout=io.StringIO())
        # A migration may have rebuilt a table, dropping its statistics.
        analyze(connection)
        return 0
    seed(args.services, args.seed, args.anchor, truncate=args.truncate, report=lambda line: print(line, flush=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
