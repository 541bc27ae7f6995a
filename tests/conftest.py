import os
import tempfile
from pathlib import Path

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """Give each xdist worker its own Redis database, counting down from the configured one.

    Worker gwN uses database (configured - N), so one worker's cache.clear() spares the others, and two
    runs configured with databases far enough apart never share one.
    """
    from django.conf import settings

    # Accounts made by the tests need no slow key stretching; sign-in still goes through the real backends.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # SMS statistics reach the database with every message, so tests can read them at once.
    settings.SMS_STATS_FLUSH_SECONDS = 0
    # A file, not SQLite's shared-cache memory database: concurrent writers must meet SQLite's real locking
    # (busy timeout, IMMEDIATE transactions), as they do in production.
    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3"):
        folder = Path(tempfile.gettempdir()) / f"helpdir-tests-{os.getpid()}"
        folder.mkdir(exist_ok=True)
        database["TEST"] = {**database.get("TEST", {}), "NAME": str(folder / "test.sqlite3")}
    cache = settings.CACHES["default"]
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    if cache["BACKEND"].endswith("RedisCache") and worker.startswith("gw"):
        base, _, number = cache["LOCATION"].rpartition("/")
        cache["LOCATION"] = f"{base}/{max(int(number or 15) - int(worker[2:]), 0)}"


@pytest.fixture(autouse=True)
def _clear_cache():
    """Each test starts with an empty cache (throttle counters, SMS state, lookups)."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
