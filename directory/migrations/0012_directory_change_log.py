"""The directory's revision: a change log written by triggers on every table the public answers read.

Every insert, update or delete of a listing or of anything hanging off it (coverage, locations,
schedules and their intervals, channels, topics and languages served) logs the listing's id, in the
same transaction, whatever path made it: the API, the admin, ``load_seed``, imports, the benchmark's
bulk loader, or SQL typed by hand. Changes to the topic or language tables log a null id (reload all).
SQLite has only row triggers; PostgreSQL logs each statement's distinct ids from its transition tables.
"""

from django.db import migrations, models

# table -> SQL giving the listing's id of a row aliased ``r`` (None: reference data, log a null id)
LOGGED = {
    "directory_service": "r.id",
    "directory_coverage": "r.service_id",
    "directory_location": "r.service_id",
    "directory_schedule": "r.service_id",
    "directory_contactchannel": "r.service_id",
    "directory_service_topics": "r.service_id",
    "directory_service_languages": "r.service_id",
    "directory_openinginterval": "(SELECT sc.service_id FROM directory_schedule sc WHERE sc.id = r.schedule_id)",
    "directory_topic": None,
    "directory_language": None,
}
EVENTS = ("INSERT", "UPDATE", "DELETE")
SQLITE_TOKEN = "abs(random())"
POSTGRES_TOKEN = "floor(random() * 9007199254740991)::bigint"


def _sqlite_statements(table: str, expression: str | None) -> list[str]:
    def logged(alias: str) -> str:
        return "NULL" if expression is None else expression.replace("r.", f"{alias}.")

    def insert(alias: str, when: str = "") -> str:
        return f"INSERT INTO directory_change (service_id, token) SELECT {logged(alias)}, {SQLITE_TOKEN}{when};"

    bodies = {
        "INSERT": insert("NEW"),
        "DELETE": insert("OLD"),
        # An update that kept the row's listing logs it once.
        "UPDATE": insert("NEW")
        + ("" if expression is None else insert("OLD", f" WHERE {logged('OLD')} IS NOT {logged('NEW')}")),
    }
    return [
        f"CREATE TRIGGER {table}_logs_{event.lower()} AFTER {event} ON {table} FOR EACH ROW BEGIN {bodies[event]} END"
        for event in EVENTS
    ]


def _postgres_statements(table: str, expression: str | None) -> list[str]:
    statements = []
    for event in EVENTS:
        tables = {"INSERT": ("new_rows",), "DELETE": ("old_rows",), "UPDATE": ("new_rows", "old_rows")}[event]
        if expression is None:
            source = " UNION ".join(f"SELECT NULL::bigint AS id FROM (SELECT 1 FROM {t} LIMIT 1) one" for t in tables)
        else:
            source = " UNION ".join(f"SELECT {expression} AS id FROM {t} r" for t in tables)
        function = f"{table}_logs_{event.lower()}"
        referencing = " ".join(
            {"new_rows": "NEW TABLE AS new_rows", "old_rows": "OLD TABLE AS old_rows"}[t] for t in tables
        )
        statements.append(
            f"CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"INSERT INTO directory_change (service_id, token) SELECT changed.id, {POSTGRES_TOKEN} "
            f"FROM (SELECT DISTINCT id FROM ({source}) logged) changed; RETURN NULL; END $$"
        )
        statements.append(
            f"CREATE TRIGGER {function} AFTER {event} ON {table} REFERENCING {referencing} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
        )
    return statements


def create_triggers(schema_editor):
    vendor = schema_editor.connection.vendor
    build = {"sqlite": _sqlite_statements, "postgresql": _postgres_statements}[vendor]
    for table, expression in LOGGED.items():
        for statement in build(table, expression):
            schema_editor.execute(statement)


def install_triggers(apps, schema_editor):
    create_triggers(schema_editor)
    # The revision a database starts at: everything is new to a process that has read nothing.
    schema_editor.execute("INSERT INTO directory_change (service_id, token) VALUES (NULL, 1)")


def remove_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for table in LOGGED:
        for event in EVENTS:
            name = f"{table}_logs_{event.lower()}"
            if vendor == "postgresql":
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
                schema_editor.execute(f"DROP FUNCTION IF EXISTS {name}()")
            else:
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("directory", "0011_review_reminders_and_confirmations"),
    ]

    operations = [
        migrations.CreateModel(
            name="DirectoryChange",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("service_id", models.BigIntegerField(null=True)),
                ("token", models.BigIntegerField(default=0)),
            ],
            options={"db_table": "directory_change"},
        ),
        migrations.RunPython(install_triggers, remove_triggers),
    ]
