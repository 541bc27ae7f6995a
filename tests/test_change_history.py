"""Every change is recorded, whichever path made it: saves, bulk writes, update(), the seed."""

import pytest
from django.core.management import call_command

from directory.audit import acting_as
from directory.models import ContactChannel, Coverage, Service
from tests import builders

pytestmark = pytest.mark.django_db


def test_a_queryset_update_is_recorded_with_who_and_why() -> None:
    service = builders.service("Line", country="CA")
    mona = builders.moderator("mona")
    with acting_as(mona, "bulk fix"):
        Service.objects.filter(pk=service.pk).update(hours_note="Weekdays")
    latest = service.history.latest()
    assert (latest.history_type, latest.hours_note, latest.history_user, latest.history_change_reason) == (
        "~",
        "Weekdays",
        mona,
        "bulk fix",
    )


def test_bulk_create_and_bulk_update_are_recorded() -> None:
    service = builders.service("Line", country="CA")
    with acting_as(None, "import"):
        [channel] = ContactChannel.objects.bulk_create(
            [ContactChannel(service=service, kind="website", value="https://a.example")]
        )
        channel.label = "main site"
        ContactChannel.objects.bulk_update([channel], ["label"])
    records = list(ContactChannel.history.filter(id=channel.pk).order_by("history_id"))
    assert [(r.history_type, r.label, r.history_change_reason) for r in records] == [
        ("+", "", "import"),
        ("~", "main site", "import"),
    ]


def test_deleting_nested_parts_is_recorded() -> None:
    service = builders.service("Line", country="CA")
    coverage_id = Coverage.objects.get(service=service).pk
    Coverage.objects.filter(service=service).delete()
    assert Coverage.history.filter(id=coverage_id, history_type="-").exists()


def test_the_seed_records_its_changes_as_load_seed() -> None:
    call_command("load_seed", verbosity=0)
    service = Service.objects.order_by("id").first()
    assert service is not None
    records = list(service.history.all())
    assert records
    assert {(r.history_change_reason, r.history_user) for r in records} == {("load_seed", None)}


def test_a_second_seed_run_records_nothing_and_keeps_versions() -> None:
    call_command("load_seed", verbosity=0)
    before = (Service.history.count(), ContactChannel.history.count(), list(Service.objects.values_list("version")))
    call_command("load_seed", verbosity=0)
    after = (Service.history.count(), ContactChannel.history.count(), list(Service.objects.values_list("version")))
    assert after == before
