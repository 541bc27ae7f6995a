"""Change history: who changed what, when, through which path.

Every listing model records its history with django-simple-history. Saves and deletes are recorded
by its signals; ``QuerySet.update()`` and ``bulk_create()`` skip signals, so the audited querysets
below record those too (``bulk_update()`` runs through ``update()``). ``acting_as`` names the person
(or the command) behind the changes made inside it, for paths where no request carries a user (API
tokens, management commands).
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.db import models, transaction
from simple_history.models import HistoricalRecords


@dataclass(frozen=True)
class Actor:
    user: Any
    reason: str


_actor: ContextVar[Actor | None] = ContextVar("directory_actor", default=None)
_records: dict[type[models.Model], "AuditedHistoricalRecords"] = {}


@contextmanager
def acting_as(user: Any, reason: str) -> Iterator[None]:
    """Attribute every change made inside the block to ``user`` (None for a command) with ``reason``."""
    token = _actor.set(Actor(user if user is not None and user.is_authenticated else None, reason))
    try:
        yield
    finally:
        _actor.reset(token)


def current_actor() -> Actor | None:
    return _actor.get()


def history_user(instance: Any = None, request: Any = None, **kwargs: Any) -> Any:
    actor = _actor.get()
    if actor is not None:
        return actor.user
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


class AuditedHistoricalRecords(HistoricalRecords):
    """Historical records that take the change reason of the surrounding ``acting_as`` block."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(get_user=history_user, **kwargs)

    def finalize(self, sender: Any, **kwargs: Any) -> None:
        super().finalize(sender, **kwargs)
        if sender is self.cls:
            _records[sender] = self

    def get_change_reason_for_object(self, instance: Any, history_type: Any, using: Any) -> str:
        reason = super().get_change_reason_for_object(instance, history_type, using)
        actor = _actor.get()
        return reason or (actor.reason if actor else "")


def _record(model: Any, objects: Sequence[models.Model], *, update: bool) -> None:
    if update and model in _records:
        # One at a time, as a save would: the record then carries the many-to-many values too.
        for obj in objects:
            _records[model].create_historical_record(obj, "~")
    elif objects:
        actor = _actor.get()
        model.history.bulk_history_create(
            objects,
            update=update,
            default_user=actor.user if actor else None,
            default_change_reason=actor.reason if actor else "",
        )


class AuditedQuerySet(models.QuerySet[Any]):
    """A queryset whose bulk writes are recorded in the history like single saves."""

    def update(self, **kwargs: Any) -> int:
        with transaction.atomic(using=self.db):
            keys = list(self.values_list("pk", flat=True))
            count = super().update(**kwargs)
            _record(self.model, list(self.model._default_manager.filter(pk__in=keys)), update=True)
        return count

    def bulk_create(self, objs: Any, *args: Any, **kwargs: Any) -> list[Any]:
        with transaction.atomic(using=self.db):
            created = super().bulk_create(objs, *args, **kwargs)
            _record(self.model, [obj for obj in created if obj.pk is not None], update=False)
        return created


AuditedManager = models.Manager.from_queryset(AuditedQuerySet)
