"""The change log keeps what the read models still need and lets the rest go (``purge_change_log``)."""

import logging
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from directory import readmodel
from directory.models import DirectoryChange, Service
from tests import builders

pytestmark = pytest.mark.django_db


def _age(days: float, *, ids: list[int]) -> None:
    DirectoryChange.objects.filter(id__in=ids).update(logged_at=timezone.now() - timedelta(days=days))


def _log(count: int, service_id: int) -> list[int]:
    return [DirectoryChange.objects.create(service_id=service_id, token=1).id for _ in range(count)]


def _archived(model: readmodel.ReadModel, service_id: int) -> bool:
    return bool(model.archived[model.rows_of([service_id])[0]])


def test_every_entry_is_stamped_by_the_database_when_a_trigger_writes_it():
    before = timezone.now() - timedelta(seconds=5)
    created = builders.service("Stamped Line", country="CA", point=(50.45, -104.6), always_open=True)
    Service.objects.filter(pk=created.pk).update(name="Stamped Line (renamed)")
    stamps = list(DirectoryChange.objects.filter(service_id=created.pk).values_list("logged_at", flat=True))
    assert stamps
    assert all(before <= stamp <= timezone.now() + timedelta(seconds=5) for stamp in stamps), stamps


@override_settings(DIRECTORY_CHANGE_DAYS=7)
def test_only_the_oldest_run_of_entries_goes_and_never_the_newest():
    DirectoryChange.objects.all().delete()
    old = _log(3, 1)
    young = _log(1, 1)
    late = _log(2, 1)  # logged with an old time after a young entry (a long transaction on PostgreSQL)
    newest = _log(1, 1)
    _age(8, ids=old + late)

    assert readmodel.purge_change_log() == 3
    assert list(DirectoryChange.objects.order_by("id").values_list("id", flat=True)) == young + late + newest

    _age(30, ids=young + late + newest)
    assert readmodel.purge_change_log() == 3
    assert list(DirectoryChange.objects.values_list("id", flat=True)) == newest  # the revision stays
    assert readmodel.purge_change_log() == 0


def test_a_model_whose_revision_is_kept_catches_up_after_a_purge():
    first = builders.service("First Line", country="CA", point=(50.45, -104.6), always_open=True)
    second = builders.service("Second Line", country="CA", point=(50.46, -104.6), always_open=True)
    readmodel.reset()
    model = readmodel.current()
    assert model is not None
    mine = model.revision[0]
    Service.objects.filter(pk=first.pk).update(archived_at=timezone.now())
    Service.objects.filter(pk=second.pk).update(archived_at=timezone.now())
    _age(8, ids=list(DirectoryChange.objects.filter(id__lt=mine).values_list("id", flat=True)))

    assert readmodel.purge_change_log() > 0
    assert not DirectoryChange.objects.filter(id__lt=mine).exists()
    assert readmodel.current() is model  # patched in place, not built again
    assert _archived(model, first.pk)
    assert _archived(model, second.pk)


def test_a_model_whose_revision_was_purged_builds_afresh_with_every_change(caplog):
    first = builders.service("First Line", country="CA", point=(50.45, -104.6), always_open=True)
    readmodel.reset()
    model = readmodel.current()
    assert model is not None
    Service.objects.filter(pk=first.pk).update(archived_at=timezone.now())
    _age(8, ids=list(DirectoryChange.objects.values_list("id", flat=True)))
    assert readmodel.purge_change_log() > 0
    assert not DirectoryChange.objects.filter(id=model.revision[0]).exists()

    with caplog.at_level(logging.INFO, logger="directory.readmodel"):
        rebuilt = readmodel.current()
    assert rebuilt is not None
    assert rebuilt is not model
    assert _archived(rebuilt, first.pk)
    assert f"revision {model.revision[0]} is no longer in the change log" in caplog.text
    assert readmodel.current() is rebuilt  # and follows the log from its new revision


@override_settings(DIRECTORY_CHANGE_DAYS=2)
def test_the_command_says_how_many_entries_it_deleted():
    DirectoryChange.objects.all().delete()
    old = _log(4, 1)
    _log(1, 1)
    _age(3, ids=old)
    out = StringIO()
    call_command("purge_change_log", stdout=out)
    assert out.getvalue().strip() == "Deleted 4 change-log entries older than 2 day(s)."
    assert DirectoryChange.objects.count() == 1


def test_the_purge_is_one_delete_after_two_lookups(django_assert_max_num_queries):
    _log(3, 1)
    with django_assert_max_num_queries(3):
        readmodel.purge_change_log()
