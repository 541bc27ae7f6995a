"""Daily usage per partner key (calls, 4xx, 429), counted in the cache and shown to moderators in the admin."""

import io

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from rest_framework.test import APIClient

from directory import throttling, usage
from directory.models import PartnerKey, PartnerKeyUsage
from tests import builders
from tests.openapi_client import ValidatingAPIClient

pytestmark = pytest.mark.django_db

FIXED_NOW = 1_800_000_000 - 1_800_000_000 % 86400 + 10


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    monkeypatch.setattr(throttling, "now", lambda: FIXED_NOW)


def issue(per_minute: int = 100) -> tuple[PartnerKey, APIClient]:
    out = io.StringIO()
    call_command("partner_key", "create", "Safe Schools app", "--per-minute", str(per_minute), stdout=out)
    key = out.getvalue().strip().splitlines()[-1]
    client = ValidatingAPIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return PartnerKey.objects.get(prefix=key.partition(".")[0]), client


def moderator_client() -> APIClient:
    user = User.objects.create_user("mod", is_staff=True)
    user.groups.add(Group.objects.get_or_create(name="moderators")[0])
    return builders.second_factor_verified(ValidatingAPIClient(), user)


def test_the_admin_shows_a_key_s_calls_client_errors_and_429s_for_today():
    partner, client = issue(per_minute=3)
    assert client.get("/api/v1/topics/").status_code == 200
    assert client.get("/api/v1/services/999999/").status_code == 404
    assert client.get("/api/v1/topics/").status_code == 200
    assert client.get("/api/v1/topics/").status_code == 429
    response = moderator_client().get("/admin/directory/partnerkeyusage/")
    assert response.status_code == 200
    row = PartnerKeyUsage.objects.get(key=partner)
    assert (row.day, row.calls, row.client_errors, row.throttled) == (usage.today(), 4, 1, 1)
    assert "Safe Schools app" in response.content.decode()


def test_the_first_call_of_a_minute_is_written_through_and_later_ones_wait_for_the_next_copy():
    partner, client = issue()
    client.get("/api/v1/topics/")
    client.get("/api/v1/topics/")
    assert PartnerKeyUsage.objects.get(key=partner).calls == 1
    usage.copy_counters()
    assert PartnerKeyUsage.objects.get(key=partner).calls == 2


def test_a_copy_never_lowers_the_stored_totals():
    partner, _ = issue()
    usage.store(partner, usage.today(), {"calls": 10, "client_errors": 2, "throttled": 0})
    usage.store(partner, usage.today(), {"calls": 7, "client_errors": 3, "throttled": 1})
    row = PartnerKeyUsage.objects.get(key=partner)
    assert (row.calls, row.client_errors, row.throttled) == (10, 3, 1)


def test_anonymous_calls_are_not_counted_for_any_key():
    issue()
    ValidatingAPIClient().get("/api/v1/topics/")
    usage.copy_counters()
    assert not PartnerKeyUsage.objects.exists()


def test_a_304_counts_as_a_call():
    partner, client = issue()
    etag = client.get("/api/v1/topics/")["ETag"]
    assert client.get("/api/v1/topics/", HTTP_IF_NONE_MATCH=etag).status_code == 304
    usage.copy_counters()
    assert PartnerKeyUsage.objects.get(key=partner).calls == 2


def test_the_last_calls_of_yesterday_are_copied_today(monkeypatch):
    partner, client = issue()
    client.get("/api/v1/topics/")
    client.get("/api/v1/topics/")
    monkeypatch.setattr(throttling, "now", lambda: FIXED_NOW + 86400)
    usage.copy_counters()
    yesterday = PartnerKeyUsage.objects.get(key=partner)
    assert (yesterday.day.isoformat(), yesterday.calls) == ("2027-01-15", 2)
