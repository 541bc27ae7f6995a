"""Independent reads sent together: the same rows as one by one, in one round trip on PostgreSQL."""

import psycopg
import pytest
from django.db import DatabaseError, connection

from directory import lists
from directory.sql import fetch_all
from tests.test_read_model_search import build_dataset

pytestmark = pytest.mark.django_db

STATEMENTS = [
    ("SELECT id, name FROM directory_service WHERE id IN (%s, %s) ORDER BY id", None),
    ("SELECT service_id, kind, value FROM directory_contactchannel WHERE service_id IN (%s, %s) ORDER BY id", None),
    ("SELECT service_id, scope, country FROM directory_coverage WHERE service_id IN (%s, %s) ORDER BY id", None),
]


def one_by_one(statements):
    results = []
    for sql, params in statements:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            results.append(cursor.fetchall())
    return results


def test_statements_sent_together_give_each_its_own_rows(monkeypatch):
    build_dataset(3, 20)
    ids = [row[0] for row in one_by_one([("SELECT id FROM directory_service ORDER BY id LIMIT 2", [])])[0]]
    statements = [(sql, ids) for sql, _ in STATEMENTS]
    pipelines = []
    if connection.vendor == "postgresql":
        connection.ensure_connection()
        original = psycopg.Connection.pipeline

        def counted(self):
            pipelines.append(self)
            return original(self)

        monkeypatch.setattr(psycopg.Connection, "pipeline", counted)
    together = fetch_all(statements)
    assert together == one_by_one(statements)
    assert all(together), "each statement found rows"
    assert len(pipelines) == (1 if connection.vendor == "postgresql" else 0), "one pipeline: one round trip"
    assert fetch_all(statements[:1]) == one_by_one(statements[:1])
    assert fetch_all([]) == []


@pytest.mark.django_db(transaction=True)  # outside a transaction, as a request runs
def test_a_failing_statement_raises_a_database_error_and_leaves_the_connection_usable():
    with pytest.raises(DatabaseError):
        fetch_all([("SELECT 1", []), ("SELECT * FROM no_such_table", []), ("SELECT 2", [])])
    assert fetch_all([("SELECT 3", []), ("SELECT 4", [])]) == [[(3,)], [(4,)]]


def test_a_services_page_reads_its_display_data_in_one_go(monkeypatch, client):
    build_dataset(4, 30)
    batches = []

    def recorded(statements):
        batches.append(len(statements))
        return fetch_all(statements)

    monkeypatch.setattr(lists, "fetch_all", recorded)
    response = client.get("/api/v1/services/")
    assert response.status_code == 200
    assert response.json()["results"]
    assert batches == [3], "the listings, their coverage and their channels, sent together"
