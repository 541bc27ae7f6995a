"""The shared cache: Redis for every node, and a process-local stand-in while Redis cannot be reached.

What the cache holds is worth less than an answer. Throttle and quota counters, the SMS per-sender limit,
the replies kept for Twilio's retries and the day's SMS statistics all live here; if Redis stops, reads and
texts must keep being answered. So a Redis call that fails to connect (or times out) is made instead on a
cache in this process's memory, and Redis is not tried again for ``retry_seconds`` (then the next call
tries it). While that lasts each process counts on its own: rate limits and quotas hold per process
rather than across nodes, a Twilio retry that lands on another node is answered afresh, and statistics
counted locally are flushed from each process. A warning is logged when Redis is lost and when it is back.
Any other Redis error (a wrong command, a wrong type) is a bug and is raised.
"""

import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django.core.exceptions import ImproperlyConfigured
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

UNREACHABLE = (RedisConnectionError, RedisTimeoutError)


class ReusedClients(RedisCacheClient):
    """Django's Redis client layer keeping one ``redis.Redis`` per connection pool.

    Django makes a new ``redis.Redis`` for every call, and each copies its table of ~170 response callbacks:
    about a fifth of a millisecond, more than the round trip itself on loopback, on every call.
    A client holds no connection of its own (the pool does, and resets it in a forked child), so one per pool
    serves every call and thread.
    """

    def __init__(self, servers: Any, **options: Any) -> None:
        super().__init__(servers, **options)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        # Django's own pool choice and client class (private attributes its stubs do not declare).
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)  # type: ignore[attr-defined]
        return client


class SharedCache(RedisCache):
    """Django's Redis cache that answers from process memory while Redis is unreachable.

    ``OPTIONS`` takes ``retry_seconds`` (default: the ``REDIS_RETRY_SECONDS`` setting) besides what Django's
    Redis cache takes. Connections get short timeouts unless ``OPTIONS`` says otherwise: a Redis that hangs
    must cost a request little.
    """

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        options = {"socket_connect_timeout": 0.25, "socket_timeout": 0.5, **(params.get("OPTIONS") or {})}
        self.retry_seconds = float(options.pop("retry_seconds", settings.REDIS_RETRY_SECONDS))
        params = {**params, "OPTIONS": options}
        super().__init__(server, params)
        self._class = ReusedClients
        self.local = LocalCache(f"shared-cache-stand-in:{server}", {"OPTIONS": {"MAX_ENTRIES": 100_000}})
        self._retry_at = 0.0
        self._lost = False
        self._count: Any = None
        self._add_and_count: Any = None
        self._tally: Any = None

    @property
    def _values(self) -> Any:
        """How Django's Redis client turns values into what Redis stores (an attribute its stubs do not declare)."""
        return self._cache._serializer  # type: ignore[attr-defined]

    @property
    def reachable(self) -> bool:
        """False from a failed call until Redis answers again."""
        return not self._lost

    def _shared(self, call: Callable[[], Any], stand_in: Callable[[], Any]) -> Any:
        if time.monotonic() >= self._retry_at:
            try:
                result = call()
            except UNREACHABLE as error:
                self._retry_at = time.monotonic() + self.retry_seconds
                if not self._lost:
                    self._lost = True
                    logger.warning("Redis unreachable (%s): this process counts on its own", type(error).__name__)
            else:
                if self._lost:
                    self._lost = False
                    logger.warning("Redis reachable again: counting is shared across nodes")
                return result
        return stand_in()

    def _either(self, method: str, *args: Any) -> Any:
        return self._shared(
            lambda: getattr(RedisCache, method)(self, *args), lambda: getattr(self.local, method)(*args)
        )

    def add(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> bool:
        return bool(self._either("add", key, value, timeout, version))

    def get(self, key: Any, default: Any = None, version: Any = None) -> Any:
        return self._either("get", key, default, version)

    def set(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> None:
        self._either("set", key, value, timeout, version)

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> bool:
        return bool(self._either("touch", key, timeout, version))

    def delete(self, key: Any, version: Any = None) -> bool:
        return bool(self._either("delete", key, version))

    def get_many(self, keys: Any, version: Any = None) -> dict[Any, Any]:
        return dict(self._either("get_many", list(keys), version))

    def has_key(self, key: Any, version: Any = None) -> bool:
        return bool(self._either("has_key", key, version))

    def incr(self, key: Any, delta: int = 1, version: Any = None) -> int:
        return int(self._either("incr", key, delta, version))

    def set_many(self, data: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> list[Any]:
        return list(self._either("set_many", dict(data), timeout, version))

    def delete_many(self, keys: Any, version: Any = None) -> None:
        self._either("delete_many", list(keys), version)

    def clear(self) -> None:
        self._either("clear")

    def add_to_counters(self, deltas: Sequence[tuple[str, int]], ttl: int) -> list[int]:
        """Add each delta to its counter (created at 0, ``ttl`` seconds to live); return the new values.

        On Redis the creation and the increment are one script run atomically (``SET NX EX`` then ``INCRBY``,
        the loop ``add_and_count`` runs too), so two nodes can never both be told they made the 1,000th call.
        (Django's ``incr`` checks ``EXISTS`` first, which is not atomic.)
        """

        def shared() -> list[int]:
            keys = [self.make_and_validate_key(name) for name, _ in deltas]
            client = self._cache.get_client(keys[0], write=True)
            if self._count is None:
                self._count = client.register_script(_COUNT)
            counts = self._count(keys=keys, args=[ttl, *(delta for _, delta in deltas)], client=client)
            return [int(count) for count in counts]

        result: list[int] = self._shared(shared, lambda: self.local.add_to_counters(deltas, ttl))
        return result

    def add_and_count(
        self, key: str, value: Any, timeout: int, deltas: Sequence[tuple[str, int]], ttl: int
    ) -> tuple[bool, Any]:
        """``LocalCache.add_and_count``, shared by every node, in one round trip (a script run atomically)."""

        def shared() -> tuple[bool, Any]:
            names = [self.make_and_validate_key(name) for name, _ in deltas]
            client = self._cache.get_client(names[0] if names else key, write=True)
            if self._add_and_count is None:
                self._add_and_count = client.register_script(_ADD_AND_COUNT)
            added, held = self._add_and_count(
                keys=[self.make_and_validate_key(key), *names],
                args=[self._values.dumps(value), timeout, ttl, *(delta for _, delta in deltas)],
                client=client,
            )
            if added:
                return True, [int(count) for count in held]
            return False, None if held is None else self._values.loads(held)

        result: tuple[bool, Any] = self._shared(
            shared, lambda: self.local.add_and_count(key, value, timeout, deltas, ttl)
        )
        return result

    def tally(
        self,
        name: str,
        kind: str,
        description: Sequence[Any],
        ttl: int,
        *,
        due_every: int,
        and_set: tuple[str, Any, int] | None = None,
    ) -> bool:
        """``LocalCache.tally``, shared by every node."""

        # One script, run atomically: the kind's count, its description (first time only), the set of kinds
        # changed since the last ``take_changed``, the value to set alongside, and the "due" key that tells
        # one caller per interval to copy them.
        def shared() -> bool:
            keys = _TallyKeys(self, name)
            client = self._cache.get_client(keys.counts, write=True)
            if self._tally is None:
                self._tally = client.register_script(_TALLY)
            names = [keys.counts, keys.descriptions, keys.changed, keys.due]
            args = [kind, json.dumps(list(description)), ttl, due_every]
            if and_set is not None:
                key, value, timeout = and_set
                names.append(self.make_and_validate_key(key))
                args += [self._values.dumps(value), timeout]
            return bool(self._tally(keys=names, args=args, client=client))

        result: bool = self._shared(
            shared, lambda: self.local.tally(name, kind, description, ttl, due_every=due_every, and_set=and_set)
        )
        return result

    def take_changed(self, name: str) -> dict[str, tuple[list[Any], int]]:
        """``LocalCache.take_changed``: each changed kind goes to one caller, on whichever node."""

        def shared() -> dict[str, tuple[list[Any], int]]:
            keys = _TallyKeys(self, name)
            client = self._cache.get_client(keys.counts, write=True)
            taking = client.pipeline(transaction=True)
            taking.smembers(keys.changed)
            taking.delete(keys.changed)
            kinds = sorted(member.decode() for member in taking.execute()[0])
            if not kinds:
                return {}
            reading = client.pipeline(transaction=False)
            reading.hmget(keys.counts, kinds)
            reading.hmget(keys.descriptions, kinds)
            counts, descriptions = reading.execute()
            return {
                kind: (json.loads(description), int(count))
                for kind, count, description in zip(kinds, counts, descriptions, strict=True)
                if count is not None and description is not None
            }

        result: dict[str, tuple[list[Any], int]] = self._shared(shared, lambda: self.local.take_changed(name))
        return result

    def mark_changed(self, name: str, kinds: Sequence[str], ttl: int) -> None:
        """``LocalCache.mark_changed``."""

        def shared() -> None:
            keys = _TallyKeys(self, name)
            pipeline = self._cache.get_client(keys.changed, write=True).pipeline(transaction=True)
            pipeline.sadd(keys.changed, *kinds)
            pipeline.expire(keys.changed, ttl)
            pipeline.execute()

        if kinds:
            self._shared(shared, lambda: self.local.mark_changed(name, kinds, ttl))


# The counter rule, for both scripts below: KEYS[first..] created at 0 with ``ttl`` seconds to live if absent,
# then each increased by its delta (ARGV[deltas], ARGV[deltas + 1], ...); their new values.
_COUNTERS = """
local function add_to_counters(first, ttl, deltas)
  local counts = {}
  for i = first, #KEYS do
    redis.call('SET', KEYS[i], 0, 'NX', 'EX', ttl)
    counts[#counts + 1] = redis.call('INCRBY', KEYS[i], ARGV[deltas + i - first])
  end
  return counts
end
"""

# KEYS: the counters; ARGV: their ttl, then their deltas.
_COUNT = _COUNTERS + "return add_to_counters(1, ARGV[1], 2)\n"

# KEYS: the key to add, then the counters; ARGV: its value, its timeout, the counters' ttl, then their deltas.
_ADD_AND_COUNT = (
    _COUNTERS
    + """
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then
  return {0, redis.call('GET', KEYS[1])}
end
return {1, add_to_counters(2, ARGV[3], 4)}
"""
)

# KEYS: the tally's counts, descriptions, changed kinds and due key, then the key to set if any; ARGV: the kind,
# its description, the tally's ttl, due_every, then the value to set and its timeout.
_TALLY = """
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[3], ARGV[1])
for i = 1, 3 do
  redis.call('EXPIRE', KEYS[i], ARGV[3])
end
if KEYS[5] then
  redis.call('SET', KEYS[5], ARGV[5], 'EX', ARGV[6])
end
if tonumber(ARGV[4]) <= 0 or redis.call('SET', KEYS[4], 1, 'NX', 'EX', ARGV[4]) then
  return 1
end
return 0
"""


class _TallyKeys:
    def __init__(self, backend: SharedCache, name: str) -> None:
        self.counts, self.descriptions, self.changed, self.due = (
            backend.make_and_validate_key(f"{name}:{part}") for part in ("counts", "descriptions", "changed", "due")
        )


@dataclass
class _LocalTally:
    expires: float
    counts: dict[str, int] = field(default_factory=dict)
    descriptions: dict[str, list[Any]] = field(default_factory=dict)
    changed: set[str] = field(default_factory=set)


class LocalCache(LocMemCache):
    """Django's process-memory cache with the shared cache's counters and tallies.

    The cache of a node without Redis, and the shared cache's stand-in while Redis is unreachable.
    """

    def __init__(self, name: str, params: dict[str, Any]) -> None:
        super().__init__(name, params)
        self._tallies: dict[str, _LocalTally] = {}
        self._tally_lock = threading.Lock()

    def add_to_counters(self, deltas: Sequence[tuple[str, int]], ttl: int) -> list[int]:
        """Add each delta to its counter (created at 0, ``ttl`` seconds to live); return the new values."""
        values = []
        for name, delta in deltas:
            self.add(name, 0, ttl)
            try:
                values.append(int(self.incr(name, delta)))
            except ValueError:  # expired between add() and incr()
                self.add(name, 0, ttl)
                values.append(int(self.incr(name, delta)))
        return values

    def add_and_count(
        self, key: str, value: Any, timeout: int, deltas: Sequence[tuple[str, int]], ttl: int
    ) -> tuple[bool, Any]:
        """Add ``key`` (``add``); only if it was added, ``add_to_counters(deltas, ttl)``.

        Return ``(True, the counters' new values)``, or ``(False, the value key holds)``: a claim and what it
        counts, such as a message answered once and its sender's count, or a repeat and the stored answer.
        """
        if self.add(key, value, timeout):
            return True, self.add_to_counters(deltas, ttl)
        return False, self.get(key)

    def tally(
        self,
        name: str,
        kind: str,
        description: Sequence[Any],
        ttl: int,
        *,
        due_every: int,
        and_set: tuple[str, Any, int] | None = None,
    ) -> bool:
        """Count one of ``kind`` in the tally ``name``; return True when the caller should copy what changed.

        ``description`` (JSON values) is kept with the kind's first count; the tally lives ``ttl`` seconds
        from its last count; a copy is due for the first caller in each ``due_every`` seconds (0: always).
        ``and_set`` is a ``(key, value, timeout)`` to ``set`` as well (in the shared cache, in the same round trip).
        """
        if and_set is not None:
            self.set(*and_set)
        now = time.monotonic()
        with self._tally_lock:
            for stale in [key for key, tally in self._tallies.items() if tally.expires <= now]:
                del self._tallies[stale]
            tally = self._tallies.setdefault(name, _LocalTally(now + ttl))
            tally.expires = now + ttl
            tally.counts[kind] = tally.counts.get(kind, 0) + 1
            tally.descriptions.setdefault(kind, list(description))
            tally.changed.add(kind)
        return due_every <= 0 or self.add(f"{name}:due", 1, due_every)

    def take_changed(self, name: str) -> dict[str, tuple[list[Any], int]]:
        """The kinds counted since the last call, with their descriptions and whole counts; forgets them."""
        with self._tally_lock:
            tally = self._tallies.get(name)
            if tally is None or tally.expires <= time.monotonic():
                return {}
            kinds, tally.changed = sorted(tally.changed), set()
            return {kind: (tally.descriptions[kind], tally.counts[kind]) for kind in kinds}

    def mark_changed(self, name: str, kinds: Sequence[str], ttl: int) -> None:
        """Give kinds back to the next ``take_changed`` (their copy failed)."""
        with self._tally_lock:
            tally = self._tallies.get(name)
            if tally is not None:
                tally.changed.update(kind for kind in kinds if kind in tally.counts)

    def clear(self) -> None:
        super().clear()
        with self._tally_lock:
            self._tallies.clear()


def counting_cache() -> SharedCache | LocalCache:
    """The default cache, which must be one of this module's (counters and tallies are theirs)."""
    backend = caches["default"]
    if not isinstance(backend, SharedCache | LocalCache):
        raise ImproperlyConfigured("CACHES['default'] must be config.cache.SharedCache or config.cache.LocalCache")
    return backend
