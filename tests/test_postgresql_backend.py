"""config/postgresql and its settings: a kept connection is checked without a round trip, replaced when the server
ended it, its busiest statements are prepared, and its timestamps are read by psycopg's own loader."""

import time
from datetime import UTC
from unittest import mock

import psycopg
import pytest
from django.db import connection, connections

from config.postgresql.base import DatabaseWrapper, has_news

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the PostgreSQL backend's health check"),
    pytest.mark.django_db(transaction=True),
]


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


@pytest.fixture
def checks(monkeypatch):
    """Each run of Django's own check (``SELECT 1``), as the connection it checked."""
    seen = []
    real = DatabaseWrapper.is_usable

    def is_usable(self):
        seen.append(self)
        return real(self)

    monkeypatch.setattr(DatabaseWrapper, "is_usable", is_usable)
    return seen


def _between_requests() -> None:
    """What Django does when a request ends and the next begins."""
    connection.close_if_unusable_or_obsolete()


def test_the_project_uses_this_backend():
    backend = connections["default"]
    assert isinstance(backend, DatabaseWrapper)
    assert backend.health_check_enabled


def test_a_quiet_kept_connection_is_used_without_select_1(checks):
    pid = _backend_pid()
    _between_requests()
    assert not has_news(connection.connection)
    assert _backend_pid() == pid
    assert checks == []


def test_a_connection_the_server_ended_is_replaced_before_the_next_statement(checks):
    pid = _backend_pid()
    _between_requests()
    params = connection.get_connection_params()
    with psycopg.connect(**{key: value for key, value in params.items() if key != "cursor_factory"}) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
    deadline = time.monotonic() + 5
    while not has_news(connection.connection) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert has_news(connection.connection)
    assert _backend_pid() != pid
    assert len(checks) == 1


def test_news_from_a_healthy_server_runs_django_s_check_and_keeps_the_connection(checks):
    pid = _backend_pid()
    _between_requests()
    with mock.patch("config.postgresql.base.has_news", return_value=True):
        assert _backend_pid() == pid
    assert len(checks) == 1


def test_within_a_request_the_connection_is_looked_at_once(checks):
    _backend_pid()
    _between_requests()
    with mock.patch("config.postgresql.base.has_news", return_value=True) as looked:
        for _ in range(3):
            _backend_pid()
    assert looked.call_count == 1
    assert len(checks) == 1


def test_a_statement_run_often_is_prepared_on_its_connection():
    with connection.cursor() as cursor:
        for _ in range(6):
            cursor.execute("SELECT id FROM directory_topic WHERE slug = %s", ["not-a-topic"])
            assert cursor.fetchall() == []
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement = %s",
            ["SELECT id FROM directory_topic WHERE slug = $1"],
        )
        assert cursor.fetchone()[0] == 1


def test_sms_state_commits_without_waiting_for_the_flush_and_leaves_the_session_as_it_was():
    from django.db import transaction
    from django.test.utils import CaptureQueriesContext

    from sms import service
    from sms.models import Conversation

    def save(sender_hash: str) -> str:
        with CaptureQueriesContext(connection) as statements:
            service._save_conversation(sender_hash, language="en", country="CA")
        return statements.captured_queries[-1]["sql"]

    assert "set_config('synchronous_commit', 'off', true)" in save("a" * 64)
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "on"
    with transaction.atomic():
        assert "synchronous_commit" not in save("b" * 64)
    assert set(Conversation.objects.values_list("sender_hash", flat=True)) == {"a" * 64, "b" * 64}


_TIMESTAMPS = (
    "2026-12-04 18:00:00+00",
    "2026-03-29 00:59:59.999999+00",
    "2026-10-25 01:30:00.5-05:30",
    "0001-01-01 00:00:00+00",
    "9999-12-31 23:59:59.999999+00",
    "1969-12-31 23:59:59.000001+14",
)


def _read_timestamps(cursor) -> list:
    cursor.execute(
        "SELECT v::timestamptz FROM unnest(%s::text[]) WITH ORDINALITY AS t(v, n) ORDER BY n", [list(_TIMESTAMPS)]
    )
    return [value for (value,) in cursor.fetchall()]


def test_timestamps_are_read_by_psycopg_s_own_loader_as_django_s_would_read_them():
    from django.db.backends.postgresql.psycopg_any import register_tzloader
    from psycopg.pq import Format

    from config.postgresql.base import UtcTimestampLoader

    connection.ensure_connection()
    loader = connection.connection.adapters.get_loader(psycopg.adapters.types["timestamptz"].oid, Format.TEXT)
    assert loader is UtcTimestampLoader
    with connection.cursor() as cursor:
        read = _read_timestamps(cursor)
    with connection.cursor() as cursor:
        register_tzloader(UTC, cursor.cursor)  # Django's own loader, on this cursor only
        expected = _read_timestamps(cursor)
    assert read == expected
    assert [value.isoformat() for value in read] == [value.isoformat() for value in expected]
    assert all(value.tzinfo is UTC for value in read)
    assert expected[2].isoformat() == "2026-10-25T07:00:00.500000+00:00"


def test_a_connection_in_another_time_zone_keeps_django_s_loader():
    from django.db.backends.postgresql.psycopg_any import get_adapters_template

    other = connection.copy()
    other.settings_dict = {**connection.settings_dict, "TIME_ZONE": "Europe/Paris"}
    params = other.get_connection_params()
    assert params["context"] is get_adapters_template(True, other.timezone)
    assert connection.get_connection_params()["context"] is not params["context"]
