"""When Redis stops, reads and texts keep being answered; counting goes on per process; Redis back, shared again.

A real ``redis-server`` of the test's own, on a free loopback port, is stopped and started again.
"""

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from django.core.cache import cache, caches
from django.test import Client, override_settings

from bench.services import RedisServer, private_redis
from config.cache import SharedCache, counting_cache
from directory.throttling import add_to_counters
from sms.service import keyed_hash
from tests.test_sms_webhook import build_listings, send


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    with private_redis(tmp_path) as server:
        yield server


def shared_cache_at(url: str, retry_seconds: float = 0.2) -> dict[str, dict[str, object]]:
    return {
        "default": {
            "BACKEND": "config.cache.SharedCache",
            "LOCATION": url,
            "KEY_PREFIX": "shared-cache-test",
            "OPTIONS": {"retry_seconds": retry_seconds},
        }
    }


def caches_for(where: str, redis_server: RedisServer) -> dict[str, dict[str, object]]:
    """The shared cache on the test's Redis, or the process-memory cache of a node without Redis."""
    if where == "redis":
        return shared_cache_at(redis_server.url)
    return {"default": {"BACKEND": "config.cache.LocalCache"}}


def wait_past_retry(backend: SharedCache) -> None:
    time.sleep(backend.retry_seconds + 0.05)


def test_every_operation_answers_while_redis_is_down_and_is_shared_again_after(redis_server, caplog):
    with override_settings(CACHES=shared_cache_at(redis_server.url)):
        backend = caches["default"]
        assert isinstance(backend, SharedCache)
        backend.set("kept", "in redis", 60)
        assert add_to_counters([("hits", 1)], ttl=60) == [1]
        assert redis.Redis.from_url(redis_server.url).exists(backend.make_and_validate_key("hits")) == 1

        redis_server.stop()
        with caplog.at_level(logging.WARNING, logger="config.cache"):
            started = time.monotonic()
            assert backend.get("kept") is None  # Redis's copy is out of reach; no error
            assert backend.add("lock", 1, 60) is True
            assert backend.add("lock", 1, 60) is False
            backend.set("reply", ("text", "en"), 60)
            assert backend.get("reply") == ("text", "en")
            assert backend.get_many(["reply", "missing"]) == {"reply": ("text", "en")}
            assert backend.incr("lock") == 2
            assert add_to_counters([("hits", 1), ("hits", 2)], ttl=60) == [1, 3]
            assert backend.delete("lock") is True
            assert backend.has_key("lock") is False
            assert backend.tally("day", "a", ["HELP", 1], 60, due_every=60) is True
            assert backend.tally("day", "a", ["HELP", 1], 60, due_every=60) is False
            assert backend.take_changed("day") == {"a": (["HELP", 1], 2)}
            assert backend.add_and_count("claim", "mine", 60, [("hits", 1)], 60) == (True, [4])
            assert backend.add_and_count("claim", "theirs", 60, [("hits", 1)], 60) == (False, "mine")
            assert time.monotonic() - started < 1, "a lost Redis must cost a request little"
        assert not backend.reachable
        assert Client().get("/healthz/").json() == {"status": "ok", "shared_cache": "unreachable"}
        assert [r.getMessage() for r in caplog.records].count(
            "Redis unreachable (ConnectionError): this process counts on its own"
        ) == 1

        redis_server.start()
        wait_past_retry(backend)
        with caplog.at_level(logging.WARNING, logger="config.cache"):
            assert add_to_counters([("hits", 5)], ttl=60) == [5]  # the restarted Redis kept nothing
        assert backend.reachable
        assert redis.Redis.from_url(redis_server.url).get(backend.make_and_validate_key("hits")) == b"5"
        assert "Redis reachable again" in caplog.text


@pytest.mark.django_db
def test_texts_and_reads_are_answered_while_redis_is_down(redis_server, client, settings):
    build_listings()
    settings.SMS_RATE_LIMIT = 2
    with override_settings(CACHES=shared_cache_at(redis_server.url, retry_seconds=60)):
        cache.clear()
        redis_server.stop()

        reply = send(client, "HELP S4P 3Y2")
        assert "Regina" in reply
        assert send(client, "HELP S4P 3Y2", sid="SM" + "7" * 32) == send(client, "HELP S4P 3Y2", sid="SM" + "7" * 32)
        # The per-sender limit (two) still holds in this process: one polite warning, then silence.
        over = [send(client, "HELP", sender="+13065550177") for _ in range(4)]
        assert all(over[:3]), over
        assert over[2] != over[1]
        assert over[3] == ""

        response = client.get("/api/v1/nearest/", {"postcode": "S4P3Y2"})
        assert response.status_code == 200
        assert response.json()["results"]

        for _ in range(40):
            last = client.get("/api/v1/topics/")
        assert last.status_code == 429, "the anonymous limit still counts, per process"
        assert last["Retry-After"]


def test_one_redis_client_serves_every_call(redis_server):
    with override_settings(CACHES=shared_cache_at(redis_server.url)):
        backend = caches["default"]
        assert isinstance(backend, SharedCache)
        first = backend._cache.get_client("a")
        backend.set("kept", "in redis", 60)
        assert backend.get("kept") == "in redis"
        assert add_to_counters([("hits", 1)], ttl=60) == [1]
        assert backend._cache.get_client("b", write=True) is first


@pytest.mark.parametrize("where", ["redis", "process"])
def test_a_tally_gives_each_changed_kind_to_one_taker_with_its_whole_count(where, redis_server):
    with override_settings(CACHES=caches_for(where, redis_server)):
        backend = counting_cache()
        backend.clear()
        due = [backend.tally("day", kind, [kind, 3], 60, due_every=60) for kind in ("a", "b", "a")]
        assert due == [True, False, False], "one caller per interval is told to copy"
        assert backend.take_changed("day") == {"a": (["a", 3], 2), "b": (["b", 3], 1)}
        assert backend.take_changed("day") == {}, "another taker (node) gets nothing twice"
        backend.tally("day", "b", ["ignored: the first description stays", 0], 60, due_every=60)
        assert backend.take_changed("day") == {"b": (["b", 3], 2)}
        backend.mark_changed("day", ["a"], 60)
        assert backend.take_changed("day") == {"a": (["a", 3], 2)}, "given back after a failed copy"
        assert backend.take_changed("other-day") == {}
        assert backend.tally("day", "c", ["c", 3], 60, due_every=0) is True, "0: every caller copies"


@pytest.mark.parametrize("where", ["redis", "process"])
def test_a_claim_counts_only_when_it_is_placed_and_a_repeat_gets_what_the_key_holds(where, redis_server):
    with override_settings(CACHES=caches_for(where, redis_server)):
        backend = counting_cache()
        backend.clear()
        assert backend.add_and_count("sid-1", "answering", 30, [("sender", 1), ("all", 2)], 600) == (True, [1, 2])
        assert backend.add_and_count("sid-1", "answering", 30, [("sender", 1), ("all", 2)], 600) == (
            False,
            "answering",
        ), "a repeat is not counted again"
        assert backend.add_and_count("sid-2", 7, 30, [("sender", 1)], 600) == (True, [2])
        assert backend.add_and_count("sid-2", 8, 30, [], 600) == (False, 7)
        assert backend.add_and_count("sid-3", "answering", 30, [], 600) == (True, [])
        backend.set("sid-1", ("the reply", "en"), 60)
        assert backend.add_and_count("sid-1", "answering", 30, [("sender", 1)], 600) == (False, ("the reply", "en"))
        assert backend.get("sender") == 2
        if where == "redis":
            client = redis.Redis.from_url(redis_server.url)
            assert 0 < client.ttl(backend.make_and_validate_key("sid-3")) <= 30
            assert 590 < client.ttl(backend.make_and_validate_key("sender")) <= 600, "a counter lives its ttl"

        assert backend.tally("day", "a", ["a"], 60, due_every=60, and_set=("reply", ("text", "fr"), 45)) is True
        assert backend.get("reply") == ("text", "fr")
        assert backend.take_changed("day") == {"a": (["a"], 1)}
        if where == "redis":
            assert 0 < client.ttl(backend.make_and_validate_key("reply")) <= 45


@pytest.mark.django_db
def test_a_text_costs_two_round_trips_to_redis(redis_server, client, monkeypatch, settings):
    build_listings()
    settings.SMS_STATS_FLUSH_SECONDS = 60
    with override_settings(CACHES=shared_cache_at(redis_server.url)):
        cache.clear()
        assert "Regina" in send(client, "HELP S4P 3Y2")  # the first text also copies the day's statistics
        sent: list[bytes] = []
        original = redis.connection.Connection.send_packed_command

        def counted(connection, command, *args, **kwargs):
            sent.append(b"".join(command) if isinstance(command, list) else command)
            return original(connection, command, *args, **kwargs)

        monkeypatch.setattr(redis.connection.Connection, "send_packed_command", counted)
        assert "Regina" in send(client, "HELP S4P 3Y2", sender="+13065550178")
        # The claim of the MessageSid with the sender's count, then the statistics with the stored reply.
        assert len(sent) == 2, sent
        assert send(client, "HELP S4P 3Y2", sender="+13065550178", sid="SM" + "5" * 32) == send(
            client, "HELP S4P 3Y2", sender="+13065550178", sid="SM" + "5" * 32
        )
        assert (
            redis.Redis.from_url(redis_server.url).get(
                cache.make_and_validate_key(f"sms:rate:{keyed_hash('sender:+13065550178')}")
            )
            == b"2"
        ), "a retry is not counted again"
