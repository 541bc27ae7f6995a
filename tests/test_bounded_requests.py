"""Bounded work per request: a database that cannot answer in time is a 503 with Retry-After, never a 500."""

import pytest
from django.conf import settings
from django.db import OperationalError, connection
from django.http import HttpResponse
from django.test import RequestFactory

from directory import views
from directory.exception_handler import DatabaseUnavailableMiddleware
from tests import builders

pytestmark = pytest.mark.django_db

on_postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="statement_timeout is PostgreSQL's")


@pytest.fixture
def canada():
    builders.postcodes("CA S4P")
    builders.service("National Example Line", country="CA", always_open=True, phone="+13065550100")


def _sleep_past_the_timeout(query, **options):
    with connection.cursor() as cursor:
        # The test runs in one transaction: SET LOCAL lowers the limit for this test only.
        cursor.execute("SET LOCAL statement_timeout = 50")
        cursor.execute("SELECT pg_sleep(2)")


@on_postgresql
def test_every_postgresql_connection_runs_under_the_configured_statement_timeout():
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == f"{settings.DATABASE_STATEMENT_TIMEOUT_MS // 1000}s"


@on_postgresql
def test_a_query_cancelled_by_the_statement_timeout_answers_503_with_retry_after(api, canada, monkeypatch):
    monkeypatch.setattr(views, "find_help", _sleep_past_the_timeout)
    response = api.get("/api/v1/nearest/", {"postcode": "S4P 3Y2"})
    assert response.status_code == 503
    assert response.headers["Retry-After"] == str(settings.DATABASE_RETRY_AFTER_SECONDS)
    assert response.json()["detail"]


def test_a_lost_database_answers_the_api_with_503_and_retry_after(api, canada, monkeypatch):
    def lost(query, **options):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(views, "find_help", lost)
    response = api.get("/api/v1/nearest/", {"postcode": "S4P 3Y2"})
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0


def test_a_page_outside_the_api_answers_a_database_outage_with_503_and_retry_after():
    middleware = DatabaseUnavailableMiddleware(lambda request: HttpResponse())
    request = RequestFactory().get("/admin/")
    response = middleware.process_exception(request, OperationalError("canceling statement due to statement timeout"))
    assert response is not None
    assert response.status_code == 503
    assert response["Retry-After"] == str(settings.DATABASE_RETRY_AFTER_SECONDS)
    assert middleware.process_exception(request, ValueError("not a database error")) is None
