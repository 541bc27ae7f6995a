"""Fixed-window limits: a low rate for callers without a key, each partner key's own minute and day quotas."""

import io
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.core.management import call_command
from django.db import connection
from rest_framework.test import APIClient

from directory import throttling
from directory.models import PartnerKey
from directory.throttling import DAY, MINUTE, Limit, add_to_counters, consume, parse_rate
from tests.openapi_client import ValidatingAPIClient

TOPICS = "/api/v1/topics/"
# Ten seconds into a UTC minute and a UTC day, so no window ends during a test.
FIXED_NOW = 1_800_000_000 - 1_800_000_000 % DAY + 10
ROOT = Path(__file__).resolve().parent.parent
uses_redis = pytest.mark.skipif(
    not isinstance(caches["default"], RedisCache), reason="needs the Redis cache (REDIS_URL)"
)


@pytest.fixture
def clock(monkeypatch):
    monkeypatch.setattr(throttling, "now", lambda: FIXED_NOW)


@pytest.fixture
def anon_rate(settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"anon": "3/minute"}}


def issue(per_minute: int = 100, per_day: int = 1000) -> str:
    out = io.StringIO()
    quotas = ["--per-minute", str(per_minute), "--per-day", str(per_day)]
    call_command("partner_key", "create", "Safe Schools app", *quotas, stdout=out)
    return out.getvalue().strip().splitlines()[-1]


def keyed(key: str) -> APIClient:
    client = ValidatingAPIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


@pytest.mark.django_db
def test_an_anonymous_caller_past_the_rate_gets_429_with_retry_after_and_the_limit_named(clock, anon_rate):
    client = ValidatingAPIClient()
    assert [client.get(TOPICS).status_code for _ in range(3)] == [200, 200, 200]
    response = client.get(TOPICS)
    assert response.status_code == 429
    assert response["Retry-After"] == "50"
    assert response.json() == {
        "detail": "Rate limit exceeded: 3 requests per minute (anonymous_per_minute). Retry in 50 seconds.",
        "limit": "anonymous_per_minute",
        "allowed": 3,
        "window": "minute",
        "retry_after": 50,
    }


@pytest.mark.django_db
def test_the_anonymous_rate_is_counted_per_address(clock, anon_rate):
    for _ in range(3):
        ValidatingAPIClient().get(TOPICS, REMOTE_ADDR="192.0.2.1")
    assert ValidatingAPIClient().get(TOPICS, REMOTE_ADDR="192.0.2.1").status_code == 429
    assert ValidatingAPIClient().get(TOPICS, REMOTE_ADDR="192.0.2.2").status_code == 200


@pytest.mark.django_db
def test_a_forged_x_forwarded_for_does_not_escape_the_anonymous_rate(clock, anon_rate):
    for number in range(3):
        ValidatingAPIClient().get(TOPICS, HTTP_X_FORWARDED_FOR=f"198.51.100.{number}")
    assert ValidatingAPIClient().get(TOPICS, HTTP_X_FORWARDED_FOR="198.51.100.9").status_code == 429


@pytest.mark.django_db
def test_a_partner_key_is_not_held_to_the_anonymous_rate(clock, anon_rate):
    client = keyed(issue(per_minute=10))
    assert {client.get(TOPICS).status_code for _ in range(6)} == {200}


@pytest.mark.django_db
def test_a_key_past_its_minute_quota_gets_429_naming_the_minute_quota(clock):
    client = keyed(issue(per_minute=2, per_day=100))
    assert [client.get(TOPICS).status_code for _ in range(2)] == [200, 200]
    response = client.get(TOPICS)
    assert response.status_code == 429
    assert response["Retry-After"] == "50"
    assert response.json()["limit"] == "key_per_minute"
    assert response.json()["allowed"] == 2


@pytest.mark.django_db
def test_a_key_past_its_day_quota_waits_for_the_next_utc_day(clock):
    client = keyed(issue(per_minute=100, per_day=2))
    client.get(TOPICS)
    client.get(TOPICS)
    response = client.get(TOPICS)
    assert response.status_code == 429
    assert response["Retry-After"] == str(DAY - 10)
    assert response.json()["limit"] == "key_per_day"


@pytest.mark.django_db
def test_calls_refused_by_the_minute_quota_do_not_use_up_the_day(clock, monkeypatch):
    client = keyed(issue(per_minute=2, per_day=4))
    statuses = [client.get(TOPICS).status_code for _ in range(5)]
    assert statuses == [200, 200, 429, 429, 429]
    monkeypatch.setattr(throttling, "now", lambda: FIXED_NOW + MINUTE)
    assert [client.get(TOPICS).status_code for _ in range(3)] == [200, 200, 429]
    assert client.get(TOPICS).json()["limit"] == "key_per_minute"


@pytest.mark.django_db
def test_two_keys_have_separate_quotas(clock):
    first, second = keyed(issue(per_minute=1)), keyed(issue(per_minute=1))
    assert first.get(TOPICS).status_code == 200
    assert second.get(TOPICS).status_code == 200
    assert first.get(TOPICS).status_code == 429


@pytest.mark.django_db
def test_a_quota_a_moderator_raises_applies_to_the_next_request(clock):
    key = issue(per_minute=1)
    client = keyed(key)
    client.get(TOPICS)
    assert client.get(TOPICS).status_code == 429
    PartnerKey.objects.update(per_minute=5)
    assert client.get(TOPICS).status_code == 200


def test_a_window_starts_again_when_the_clock_enters_the_next_one(monkeypatch):
    limits = [Limit("key", 1, MINUTE)]
    monkeypatch.setattr(throttling, "now", lambda: FIXED_NOW)
    assert consume("key:window", limits) is None
    refusal = consume("key:window", limits)
    assert refusal is not None
    assert refusal.retry_after == 50
    monkeypatch.setattr(throttling, "now", lambda: FIXED_NOW + 50)
    assert consume("key:window", limits) is None


def test_counters_add_up_and_report_every_new_value():
    assert add_to_counters([("count:a", 1), ("count:b", 0)], ttl=60) == [1, 0]
    assert add_to_counters([("count:a", 1), ("count:b", 2)], ttl=60) == [2, 2]
    assert cache.get("count:a") == 2


@pytest.mark.parametrize("junk", ["", "many/minute", "0/minute", "10/fortnight", "10"])
def test_a_malformed_rate_is_refused(junk):
    with pytest.raises(Exception, match="must look like"):
        parse_rate(junk)


def test_rates_name_their_window():
    assert parse_rate("30/minute") == (30, MINUTE)
    assert parse_rate("5000/day") == (5000, DAY)


@uses_redis
def test_a_redis_counter_always_expires():
    add_to_counters([("count:ttl", 1)], ttl=60)
    backend = caches["default"]
    assert isinstance(backend, RedisCache)
    client = backend._cache.get_client(write=True)
    assert 0 < client.ttl(backend.make_and_validate_key("count:ttl")) <= 60


def _database_url() -> str:
    params = connection.settings_dict
    if connection.vendor != "postgresql":
        return ""
    password = f":{params['PASSWORD']}" if params.get("PASSWORD") else ""
    return f"postgres://{params['USER']}{password}@{params['HOST']}:{params['PORT']}/{params['NAME']}"


CALLER = textwrap.dedent(
    """
    import json, sys, time
    import django
    django.setup()
    from django.test import Client
    key, start, calls = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
    client = Client(HTTP_AUTHORIZATION=f"Api-Key {key}")
    client.get("/api/v1/about/")  # connections and imports warmed up before the start
    time.sleep(max(0.0, start - time.time()))
    statuses, retry_after = [], set()
    for _ in range(calls):
        response = client.get("/api/v1/about/")
        statuses.append(response.status_code)
        if response.status_code == 429:
            retry_after.add(response["Retry-After"])
    print(json.dumps({"statuses": statuses, "retry_after": sorted(retry_after)}))
    """
)


@uses_redis
@pytest.mark.django_db(transaction=True)
def test_two_app_processes_sharing_redis_let_through_exactly_the_day_quota_between_them():
    if connection.vendor != "postgresql":
        pytest.skip("the two processes share the PostgreSQL test database")
    key = issue(per_minute=10_000, per_day=61)  # the warm-up call of each process counts too
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "REDIS_URL": settings.CACHES["default"]["LOCATION"],
        "CACHE_KEY_PREFIX": settings.CACHES["default"]["KEY_PREFIX"],
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    start = str(time.time() + 3)
    callers = [
        subprocess.Popen(  # noqa: S603 - this interpreter, our own script
            [sys.executable, "-c", CALLER, key, start, "40"], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    results = [json.loads(caller.communicate(timeout=120)[0]) for caller in callers]
    assert all(caller.returncode == 0 for caller in callers)
    answered = sum(result["statuses"].count(200) for result in results)
    refused = sum(result["statuses"].count(429) for result in results)
    assert (answered, refused) == (59, 21)
    assert all(result["statuses"].count(200) > 0 for result in results)
    retry_after = {int(value) for result in results for value in result["retry_after"]}
    assert retry_after
    assert min(retry_after) > 0
