"""Listing writes made on this machine reach every process's read model at once; others within the time bound."""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from directory import local_writes, readmodel
from directory.models import Service
from tests import builders

BASE_DIR = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("sql", "writes"),
    [
        ('UPDATE "directory_service" SET "archived_at" = %s WHERE "directory_service"."id" = %s', True),
        ('INSERT INTO "directory_service_topics" ("service_id", "topic_id") VALUES (%s, %s)', True),
        ("  delete from directory_openinginterval where schedule_id = 3", True),
        ('UPDATE "directory_organization" SET "name" = %s WHERE "id" = %s', True),
        ("WITH gone AS (SELECT 1) DELETE FROM directory_location WHERE id IN (SELECT * FROM gone)", True),
        ('TRUNCATE "directory_coverage", "directory_service" RESTART IDENTITY CASCADE', True),
        ('SELECT "directory_service"."id" FROM "directory_service"', False),
        ('INSERT INTO "sms_conversation" ("sender_hash") VALUES (%s)', False),
        ('UPDATE "directory_proposal" SET "state" = %s WHERE "id" = %s', False),
        ('SAVEPOINT "s140_x1"', False),
    ],
)
def test_statements_that_write_what_answers_read_are_recognised(sql, writes):
    assert local_writes.writes_listings(sql) is writes


@pytest.mark.django_db
def test_every_table_with_a_change_log_trigger_is_watched():
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT tbl_name FROM sqlite_master WHERE type = 'trigger' AND name LIKE '%\\_logs\\_%' ESCAPE '\\'"
            )
        else:
            cursor.execute(
                "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE NOT t.tgisinternal AND t.tgname LIKE '%\\_logs\\_%'"
            )
        triggered = {row[0] for row in cursor.fetchall()}
    assert triggered == set(local_writes.LOGGED_TABLES)
    assert triggered < set(local_writes.WATCHED_TABLES)


def _archived(model: readmodel.ReadModel | None, service: Service) -> bool:
    assert model is not None
    return bool(model.archived[model.rows_of([service.pk])[0]])


@pytest.mark.django_db
def test_the_model_asks_the_database_again_after_a_write_here_or_once_the_time_bound_passed(settings):
    settings.READ_MODEL_CHECK_MS = 60_000
    listing = builders.service("Regina Line", country="CA", point=(50.45, -104.6), always_open=True)
    readmodel.reset()
    model = readmodel.current()
    assert model is not None
    assert not _archived(model, listing)

    with CaptureQueriesContext(connection) as asked:
        assert readmodel.current() is model
    assert len(asked) == 0

    # A write this machine did not make (another node's, or SQL by hand): not seen within the bound ...
    raw = connection.connection.cursor()
    try:
        raw.execute(f"UPDATE directory_service SET archived_at = CURRENT_TIMESTAMP WHERE id = {int(listing.pk)}")  # noqa: S608
    finally:
        raw.close()
    assert not _archived(readmodel.current(), listing)
    # ... and seen once it has passed.
    model.checked_at -= 60.0
    assert _archived(readmodel.current(), listing)

    # A write made here: in the next answer, whatever the bound.
    Service.objects.filter(pk=listing.pk).update(archived_at=None)
    assert not _archived(readmodel.current(), listing)
    listing.archived_at = timezone.now()
    listing.save(update_fields=["archived_at"])
    assert _archived(readmodel.current(), listing)


@pytest.mark.django_db
def test_a_transaction_that_wrote_listings_tells_this_machine_again_when_it_commits():
    # The test runs in a transaction, committed never: what is to happen at the commit waits in run_on_commit.
    listing = builders.service("Regina Line", country="CA", point=(50.45, -104.6), always_open=True)
    before = local_writes.token(connection)
    Service.objects.filter(pk=listing.pk).update(name="Regina Youth Line")
    assert local_writes.token(connection) != before  # at once, for reads in this transaction
    Service.objects.filter(pk=listing.pk).update(name="Regina Help Line")
    at_commit = local_writes.token(connection)
    told = [entry[1] for entry in connection.run_on_commit if getattr(entry[1], "__func__", None) is _DRAW]
    assert len(told) == 1  # once for the transaction, however many statements wrote
    told[0]()
    assert local_writes.token(connection) != at_commit


_DRAW = local_writes._Token.draw


def test_processes_on_one_machine_share_the_token(tmp_path):
    identity = "postgresql:127.0.0.1:5432:example"
    child = (
        "import tempfile, sys; tempfile.tempdir = sys.argv[1]; "
        "from directory import local_writes; local_writes._open(sys.argv[2]).draw()"
    )
    previous, tempfile.tempdir = tempfile.tempdir, str(tmp_path)
    try:
        mine = local_writes._open(identity)
        assert mine.shared_at is not None
        assert mine.shared_at.parent == tmp_path
        assert mine.shared_at.stat().st_mode & 0o777 == 0o600
        before = mine.read()
        subprocess.run(  # noqa: S603 - this interpreter, running the lines above
            [sys.executable, "-c", child, str(tmp_path), identity],
            check=True,
            cwd=BASE_DIR,
            env={**os.environ, "PYTHONPATH": str(BASE_DIR)},
            timeout=60,
        )
        assert mine.read() != before
        # Another database: another file.
        assert local_writes._open(identity + "2").shared_at != mine.shared_at
    finally:
        tempfile.tempdir = previous


def test_a_token_file_that_is_not_this_users_private_one_is_not_used(tmp_path, caplog):
    previous, tempfile.tempdir = tempfile.tempdir, str(tmp_path)
    try:
        shared = local_writes._open("sqlite:/srv/one.sqlite3")
        assert shared.shared_at is not None
        shared.shared_at.chmod(0o644)  # readable by others: someone else's doing
        assert local_writes._open("sqlite:/srv/one.sqlite3").shared_at is None
        target = tmp_path / "elsewhere"
        target.write_bytes(b"\0" * 8)
        link = local_writes._open("sqlite:/srv/two.sqlite3")
        assert link.shared_at is not None
        link.shared_at.unlink()
        link.shared_at.symlink_to(target)
        assert local_writes._open("sqlite:/srv/two.sqlite3").shared_at is None
    finally:
        tempfile.tempdir = previous
    assert "not shared with this machine's other processes" in caplog.text


def test_an_in_memory_database_keeps_its_token_in_the_process():
    assert local_writes._identity({"NAME": ":memory:"}, "sqlite") is None
    assert local_writes._identity({"NAME": "file:memorydb_default?mode=memory&cache=shared"}, "sqlite") is None
    assert local_writes._open(None).shared_at is None


@pytest.mark.django_db
def test_the_name_order_leaves_out_listings_the_model_has_not_read_yet():
    # Within READ_MODEL_CHECK_MS a model can be behind the database it orders its lists by.
    held = builders.service("Regina Line", country="CA", point=(50.45, -104.6), always_open=True)
    readmodel.reset()
    model = readmodel.current()
    assert model is not None
    builders.service("Airdrie Line", country="CA", point=(51.29, -114.0), always_open=True)
    model.by_name = None
    assert model.ids[model.name_order()].tolist() == [held.pk]
