"""Request limits as fixed-window counters in the shared cache, and the API's throttles built on them.

A limit counts requests per clock window (a UTC minute, a UTC day): one cache key per client and window,
created with an expiry and incremented atomically, so a request costs one round trip and every app node
sharing the cache sees the same count (``config.cache``: one MULTI/EXEC on Redis; while Redis is
unreachable, each process counts on its own).
"""

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from config.cache import counting_cache
from directory.auth import client_address
from directory.models import PartnerKey
from directory.validators import is_digits

MINUTE = 60
DAY = 86400
_PERIODS = {"s": 1, "m": MINUTE, "h": 3600, "d": DAY}
_WINDOW_NAMES = {1: "second", MINUTE: "minute", 3600: "hour", DAY: "day"}


def add_to_counters(deltas: Sequence[tuple[str, int]], ttl: int) -> list[int]:
    """Add each delta to its counter (created at 0 with ``ttl`` seconds to live) and return the new values."""
    return counting_cache().add_to_counters(deltas, ttl)


@dataclass(frozen=True)
class Limit:
    """At most ``allowed`` requests per ``seconds``-long clock window; ``name`` says whose limit it is."""

    name: str
    allowed: int
    seconds: int

    @property
    def window(self) -> str:
        return _WINDOW_NAMES.get(self.seconds, f"{self.seconds} seconds")

    @property
    def label(self) -> str:
        return f"{self.name}_per_{self.window}"


@dataclass(frozen=True)
class Refusal:
    limit: Limit
    retry_after: int


def now() -> float:
    """The clock the windows follow (tests set it to stay inside one window)."""
    return time.time()


def consume(client: str, limits: Sequence[Limit]) -> Refusal | None:
    """Count one request of ``client`` against each limit in turn; the first one exceeded refuses it.

    A refused request still counts in the window that refused it (so retrying early does not help) but
    not in the later limits, so a burst against the minute limit does not eat the day's quota.
    """
    at = now()
    for limit in limits:
        start = int(at // limit.seconds) * limit.seconds
        (count,) = add_to_counters([(f"limit:{client}:{limit.seconds}:{start}", 1)], ttl=limit.seconds)
        if count > limit.allowed:
            return Refusal(limit, retry_after=max(1, math.ceil(start + limit.seconds - at)))
    return None


def parse_rate(rate: str) -> tuple[int, int]:
    """``"120/minute"`` → ``(120, 60)``; junk raises ImproperlyConfigured."""
    count, _, period = rate.partition("/")
    seconds = _PERIODS.get(period.strip()[:1])
    if not is_digits(count.strip()) or int(count) < 1 or seconds is None:
        raise ImproperlyConfigured(f"A rate must look like 120/minute (N/second|minute|hour|day), got {rate!r}")
    return int(count), seconds


class LimitExceeded(APIException):
    """429 whose body names the limit that was hit; DRF's handler adds ``Retry-After`` from ``wait``."""

    status_code = 429
    default_code = "throttled"

    def __init__(self, refusal: Refusal) -> None:
        limit = refusal.limit
        super().__init__()
        self.wait = refusal.retry_after
        self.detail: Any = {
            "detail": f"Rate limit exceeded: {limit.allowed} requests per {limit.window} ({limit.label}). "
            f"Retry in {refusal.retry_after} seconds.",
            "limit": limit.label,
            "allowed": limit.allowed,
            "window": limit.window,
            "retry_after": refusal.retry_after,
        }


_COUNTED = "_anonymous_refusal"


def count_anonymous(request: HttpRequest) -> Refusal | None:
    """Count an anonymous request against the ``anon`` rate of its address, once: a second call (the full
    view after the lean path of ``directory.lean_wsgi`` gave it up) gets the first call's answer."""
    if hasattr(request, _COUNTED):
        counted: Refusal | None = getattr(request, _COUNTED)
        return counted
    allowed, seconds = parse_rate(str(api_settings.DEFAULT_THROTTLE_RATES["anon"]))
    refusal = consume(f"anon:{client_address(request)}", [Limit("anonymous", allowed, seconds)])
    setattr(request, _COUNTED, refusal)
    return refusal


class ClientRateThrottle(BaseThrottle):
    """Callers without a partner key: the low ``anon`` rate per address (per account when signed in)."""

    def allow_request(self, request: Request, view: Any) -> bool:
        if isinstance(request.auth, PartnerKey):
            return True
        if request.user and request.user.is_authenticated:
            allowed, seconds = parse_rate(str(api_settings.DEFAULT_THROTTLE_RATES["anon"]))
            refusal = consume(f"user:{request.user.pk}", [Limit("user", allowed, seconds)])
        else:
            refusal = count_anonymous(request._request)
        if refusal is not None:
            raise LimitExceeded(refusal)
        return True


class PartnerKeyQuota(BaseThrottle):
    """A partner key's own quotas, per minute and per UTC day, as moderators set them on the key."""

    def allow_request(self, request: Request, view: Any) -> bool:
        key = request.auth
        if not isinstance(key, PartnerKey):
            return True
        limits = [Limit("key", key.per_minute, MINUTE), Limit("key", key.per_day, DAY)]
        refusal = consume(f"key:{key.prefix}", limits)
        if refusal is not None:
            raise LimitExceeded(refusal)
        return True
