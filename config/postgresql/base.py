"""Django's PostgreSQL backend, with a health check that costs a round trip only when there is reason to.

Django checks a persistent connection at the start of each request (``CONN_HEALTH_CHECKS``) by sending
``SELECT 1``: on a busy node that is one more round trip on every request. A server that ends a session
(a restart, ``pg_terminate_backend``, an idle timeout) tells the client first, so its socket has something
to read; an idle, healthy connection has nothing to read. So the check first looks at the socket, without
waiting: nothing there, the connection is kept as it is; anything there (the server's goodbye, or anything
else) and Django's own check runs, and closes the connection if it fails. What the look cannot see - a
server that vanished without a word - fails the request's first statement instead, which the API answers
503 with Retry-After and the SMS webhook with its fallback reply, and Django closes the connection at the
end of that request.

Timestamps are read by psycopg's own loader on a UTC session. Django registers a subclass of psycopg's
pure-Python loader that sets each value's tzinfo to the connection's time zone; on a session in UTC, which is
what Django sets with ``USE_TZ`` and no database ``TIME_ZONE``, psycopg's own loader already returns that
(``datetime.timezone.utc``), and its compiled version (``psycopg[binary]``) reads a value several times
faster: the listings on a page of the services list carry two timestamps each.
"""

import functools
import selectors
from datetime import UTC
from typing import Any

from django.db.backends.postgresql import base
from psycopg import adapt, adapters
from psycopg.pq import Format
from psycopg.types.datetime import TimestamptzLoader

_TIMESTAMPTZ = adapters.types["timestamptz"].oid


def has_news(connection: Any) -> bool:
    """Whether the server has sent anything on ``connection`` (a psycopg connection) since it last answered."""
    with selectors.DefaultSelector() as selector:
        selector.register(connection.fileno(), selectors.EVENT_READ)
        return bool(selector.select(timeout=0))


def _psycopg_timestamptz_loader() -> type[Any]:
    """psycopg's timestamptz loader as psycopg picks it: the compiled one when it is installed."""
    chosen = adapt.AdaptersMap(adapters)
    chosen.register_loader("timestamptz", TimestamptzLoader)
    return chosen.get_loader(_TIMESTAMPTZ, Format.TEXT)  # type: ignore[return-value]


class UtcTimestampLoader:
    """psycopg's own timestamptz loader, for a session in UTC, with the ``timezone`` Django's backend reads
    from the registered loader (``create_cursor`` compares it with the connection's to decide whether a
    cursor needs a loader of its own). The compiled loader cannot be subclassed, so this class makes one."""

    format = Format.TEXT
    timezone = UTC
    loader = _psycopg_timestamptz_loader()

    def __new__(cls, oid: int, context: Any = None) -> Any:
        return cls.loader(oid, context)


@functools.cache
def _utc_adapters(template: adapt.AdaptersMap) -> adapt.AdaptersMap:
    """Django's adapters for the connection (``template``), reading timestamps with ``UtcTimestampLoader``."""
    context = adapt.AdaptersMap(template)
    context.register_loader("timestamptz", UtcTimestampLoader)  # type: ignore[arg-type]
    return context


class DatabaseWrapper(base.DatabaseWrapper):
    # Set by Django's BaseDatabaseWrapper (connect, close_if_unusable_or_obsolete).
    health_check_enabled: bool
    health_check_done: bool

    def get_connection_params(self) -> dict[str, Any]:
        params: dict[str, Any] = super().get_connection_params()
        # Django sets the session's TimeZone to ``timezone_name`` when it connects.
        if self.timezone is UTC and self.timezone_name == "UTC" and "context" in params:
            params["context"] = _utc_adapters(params["context"])
        return params

    def close_if_health_check_failed(self) -> None:
        if self.connection is None or not self.health_check_enabled or self.health_check_done:
            return
        try:
            quiet = not has_news(self.connection)
        except (OSError, ValueError):  # no socket left to look at
            quiet = False
        if quiet:
            self.health_check_done = True
            return
        super().close_if_health_check_failed()
