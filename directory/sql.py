"""Raw read statements sent together: on PostgreSQL in one round trip, elsewhere one after another."""

from collections.abc import Sequence
from typing import Any

from django.db import connection


def fetch_all(statements: Sequence[tuple[str, Sequence[Any]]]) -> list[list[tuple[Any, ...]]]:
    """Each statement's rows, in the order given.

    On PostgreSQL the statements go out in psycopg's pipeline mode: all are sent before the first answer is
    read, so a page that needs three independent reads waits for the database once rather than three times.
    Only for reads that do not depend on each other's results. SQLite answers in-process; each runs in turn.
    """
    if connection.vendor != "postgresql" or len(statements) < 2:
        results = []
        for sql, params in statements:
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                results.append(cursor.fetchall())
        return results
    connection.ensure_connection()
    with connection.wrap_database_errors, connection.connection.pipeline():
        cursors = [connection.cursor() for _ in statements]
        try:
            for cursor, (sql, params) in zip(cursors, statements, strict=True):
                cursor.execute(sql, params)
            return [cursor.fetchall() for cursor in cursors]
        finally:
            for cursor in cursors:
                cursor.close()
