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
    if cache["BACKEND"].endswith(("RedisCache", "SharedCache")) and worker.startswith("gw"):
        base, _, number = cache["LOCATION"].rpartition("/")
        cache["LOCATION"] = f"{base}/{max(int(number or 15) - int(worker[2:]), 0)}"


@pytest.fixture(autouse=True)
def _clear_cache():
    """Each test starts with an empty cache (throttle counters, SMS state, lookups), no postcode and no topic
    tables remembered."""
    from django.core.cache import cache

    from directory.geocoding import forget_postcodes
    from sms.topics import forget_topic_tables

    cache.clear()
    forget_postcodes()
    forget_topic_tables()
    yield
    cache.clear()
    forget_postcodes()
    forget_topic_tables()


@pytest.fixture
def admin_client(db, admin_user):
    """pytest-django's admin client, signed in with the second factor the admin asks of moderators."""
    from django.test import Client

    from tests import builders

    return builders.second_factor_verified(Client(), admin_user)


@pytest.fixture
def api():
    """The client for every API call a test makes: each response is validated against openapi.yaml.

    Use it as ``api.get("/api/v1/...", params)`` (any ``APIClient`` method, ``api.credentials(...)`` too);
    a response whose status, headers or body the schema does not document fails the test.
    """
    from tests.openapi_client import ValidatingAPIClient

    return ValidatingAPIClient()


@pytest.fixture
def fuzz_headers() -> dict[str, str]:
    """Headers every schemathesis request carries (tests/test_fuzz_api.py).

    Empty while the API has only public reads; return e.g. ``{"Authorization": f"Token {token}"}`` (a
    maintainer token or partner key created here) so write operations are fuzzed as they land.
    """
    return {}
