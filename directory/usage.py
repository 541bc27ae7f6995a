"""Daily usage per partner key: counted in the shared cache on every answer, copied to the database.

Counting is one round trip per request (the counters of ``throttling``). The totals are copied into
``PartnerKeyUsage`` at most once a minute per key by whichever node answers, and whenever a moderator
opens the usage page, so the admin shows current numbers and the database keeps them after the cache
forgets them (counters live three days).
"""

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models.functions import Greatest
from django.http import HttpRequest, HttpResponse

from directory import throttling
from directory.models import PartnerKey, PartnerKeyUsage
from directory.throttling import DAY, add_to_counters

COUNTER_SECONDS = 3 * DAY
COPY_EVERY_SECONDS = 60
FIELDS = ("calls", "client_errors", "throttled")


def _counter(prefix: str, day: date, field: str) -> str:
    return f"usage:{prefix}:{day.isoformat()}:{field}"


def today() -> date:
    """The UTC day the quotas count in."""
    return datetime.fromtimestamp(throttling.now(), UTC).date()


def record(key: PartnerKey, status: int) -> None:
    """Count one answer to ``key``: a call, and a 4xx or a 429 when it was one."""
    day = today()
    deltas = {"calls": 1, "client_errors": int(400 <= status < 500 and status != 429), "throttled": int(status == 429)}
    totals = add_to_counters([(_counter(key.prefix, day, field), deltas[field]) for field in FIELDS], COUNTER_SECONDS)
    if cache.add(f"usage-copied:{key.prefix}", 1, COPY_EVERY_SECONDS):
        store(key, day, dict(zip(FIELDS, totals, strict=True)))


def store(key: PartnerKey, day: date, totals: dict[str, int]) -> None:
    """Write a day's totals, never lowering what another node already wrote."""
    rows = PartnerKeyUsage.objects.filter(key=key, day=day)
    if rows.update(**{field: Greatest(field, totals[field]) for field in FIELDS}):
        return
    try:
        with transaction.atomic():
            PartnerKeyUsage.objects.create(key=key, day=day, **totals)
    except IntegrityError:  # created by another node meanwhile
        rows.update(**{field: Greatest(field, totals[field]) for field in FIELDS})


def copy_counters() -> None:
    """Copy every key's counters for today and yesterday (whose last minutes may not be copied yet)."""
    days = [today(), today() - timedelta(days=1)]
    keys = list(PartnerKey.objects.all())
    names = [_counter(key.prefix, day, field) for key in keys for day in days for field in FIELDS]
    counted = cache.get_many(names)
    for key in keys:
        for day in days:
            totals = {field: int(counted.get(_counter(key.prefix, day, field), 0)) for field in FIELDS}
            if totals["calls"]:
                store(key, day, totals)


class PartnerUsageMiddleware:
    """Count every answer given to a request that a partner key authenticated, 304s and 429s included."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        key = getattr(request, "auth", None)
        if isinstance(key, PartnerKey):
            record(key, response.status_code)
        return response
