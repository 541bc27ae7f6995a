import os

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """Give each xdist worker its own Redis database, counting down from the configured one.

    Worker gwN uses database (configured - N), so one worker's cache.clear() spares the others, and two
    runs configured with databases far enough apart never share one.
    """
    from django.conf import settings

    cache = settings.CACHES["default"]
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    if cache["BACKEND"].endswith("RedisCache") and worker.startswith("gw"):
        base, _, database = cache["LOCATION"].rpartition("/")
        cache["LOCATION"] = f"{base}/{max(int(database or 15) - int(worker[2:]), 0)}"


@pytest.fixture(autouse=True)
def _clear_cache():
    """Each test starts with an empty cache (throttle counters, SMS state, lookups)."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


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
