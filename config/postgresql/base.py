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
"""

import selectors
from typing import Any

from django.db.backends.postgresql import base


def has_news(connection: Any) -> bool:
    """Whether the server has sent anything on ``connection`` (a psycopg connection) since it last answered."""
    with selectors.DefaultSelector() as selector:
        selector.register(connection.fileno(), selectors.EVENT_READ)
        return bool(selector.select(timeout=0))


class DatabaseWrapper(base.DatabaseWrapper):
    # Set by Django's BaseDatabaseWrapper (connect, close_if_unusable_or_obsolete).
    health_check_enabled: bool
    health_check_done: bool

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
