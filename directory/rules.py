"""The rules that decide what may be shown, each written once in the forms its callers need.

Every rule has a ``Q`` (the ORM: list filters and the SQL reference search) and a numpy form over the
read model's columns (``directory.readmodel``); ``effective_state`` is the per-listing Python form. A test
holds the forms to the same answers on the same listings.
"""

import math
from datetime import datetime
from typing import Any

import numpy as np
from django.db.models import Q

from directory.models import ServiceStatus, VerificationState

# The read model's codes for the verification states, in this order.
STATES = (
    VerificationState.VERIFIED.value,
    VerificationState.PENDING.value,
    VerificationState.UNVERIFIED.value,
    VerificationState.STALE.value,
)
STATE_CODE = {state: code for code, state in enumerate(STATES)}
VERIFIED_CODE = STATE_CODE[VerificationState.VERIFIED]
# The order a search ranks listings in, by effective state: verified, pending, unverified, stale.
VERIFICATION_RANK = {state: rank for rank, state in enumerate(STATES)}
# Ages not stated are stored in the read model as these bounds, so "serves this age" needs no null test.
NO_MIN_AGE, NO_MAX_AGE = -1, 32767


def live() -> Q:
    """A listing the public may see at all: active and not archived."""
    return Q(status=ServiceStatus.ACTIVE, archived_at__isnull=True)


def live_mask(status_active: np.ndarray, archived: np.ndarray) -> np.ndarray:
    return status_active & ~archived


def current(now: datetime) -> Q:
    """Verified and not overdue for review."""
    return Q(verification_state=VerificationState.VERIFIED) & (Q(review_due__isnull=True) | Q(review_due__gte=now))


def current_mask(state: np.ndarray, review_due: np.ndarray, now: datetime) -> np.ndarray:
    """``current`` over the read model's columns (``review_due`` in epoch seconds, NaN when not set)."""
    with np.errstate(invalid="ignore"):
        return (state == VERIFIED_CODE) & ~(review_due < now.timestamp())


def current_unchanged(review_due: np.ndarray, now: datetime) -> tuple[float, float]:
    """(after, until) in epoch seconds: ``current_mask`` over these review dates (and so ``effective_state_codes``)
    answers at every moment ``x`` with ``after < x <= until`` as it does at ``now``."""
    at = now.timestamp()
    with np.errstate(invalid="ignore"):
        passed, ahead = review_due[review_due < at], review_due[review_due >= at]
    return (float(passed.max()) if len(passed) else -math.inf), (float(ahead.min()) if len(ahead) else math.inf)


def effective_state(state: str, review_due: datetime | None, now: datetime) -> str:
    """A verified listing whose review is overdue is stale."""
    if state == VerificationState.VERIFIED and review_due is not None and review_due < now:
        return VerificationState.STALE
    return state


def effective_state_codes(state: np.ndarray, review_due: np.ndarray, now: datetime) -> np.ndarray:
    """``effective_state`` over the read model's columns, as codes into ``STATES``."""
    overdue = (state == VERIFIED_CODE) & ~current_mask(state, review_due, now)
    return np.where(overdue, STATE_CODE[VerificationState.STALE], state)


def serves_age(age: int) -> Q:
    return (Q(min_age__isnull=True) | Q(min_age__lte=age)) & (Q(max_age__isnull=True) | Q(max_age__gte=age))


def serves_age_mask(min_age: np.ndarray, max_age: np.ndarray, age: int) -> np.ndarray:
    return (min_age <= age) & (max_age >= age)


def where_sql(condition: Q, model: Any) -> tuple[str, list[Any]]:
    """A condition on ``model`` as SQL on its table, compiled by the ORM (for raw queries)."""
    rows = model.objects.filter(condition)
    sql, params = rows.query.get_compiler(using=rows.db).compile(rows.query.where)
    return str(sql), list(params)
