import os

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """Give each xdist worker its own Redis database, so one worker's cache.clear() spares the others."""
    from django.conf import settings

    cache = settings.CACHES["default"]
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    if cache["BACKEND"].endswith("RedisCache") and worker.startswith("gw"):
        base, _, _db = cache["LOCATION"].rpartition("/")
        cache["LOCATION"] = f"{base}/{15 - int(worker[2:]) % 8}"


@pytest.fixture(autouse=True)
def _clear_cache():
    """Each test starts with an empty cache (throttle counters, SMS state, lookups)."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
