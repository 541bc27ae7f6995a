"""When each change-log entry was written, so ``purge_change_log`` can delete the old ones.

The database fills it in (the triggers of 0012 name no time); entries logged before this migration get
the time it ran. SQLite adds such a column by copying the table, which its triggers on the other tables
would not survive: there they are dropped first and created again after.
"""

import importlib

import django.db.models.functions.datetime
from django.db import migrations, models

log = importlib.import_module("directory.migrations.0012_directory_change_log")


def drop_sqlite_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        log.remove_triggers(apps, schema_editor)


def create_sqlite_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        log.create_triggers(schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("directory", "0012_directory_change_log"),
    ]

    operations = [
        migrations.RunPython(drop_sqlite_triggers, create_sqlite_triggers),
        migrations.AddField(
            model_name="directorychange",
            name="logged_at",
            field=models.DateTimeField(db_default=django.db.models.functions.datetime.Now()),
        ),
        migrations.RunPython(create_sqlite_triggers, drop_sqlite_triggers),
    ]
