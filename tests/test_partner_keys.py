"""Partner API keys: issued by moderators, sent as `Authorization: Api-Key <key>`, stored hashed, revocable."""

import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from directory.models import PartnerKey
from directory.permissions import is_moderator
from tests import builders
from tests.openapi_client import ValidatingAPIClient

pytestmark = pytest.mark.django_db

TOPICS = "/api/v1/topics/"


def issue(*args: str) -> tuple[PartnerKey, str]:
    out = io.StringIO()
    call_command("partner_key", "create", *args, stdout=out)
    key = out.getvalue().strip().splitlines()[-1]
    return PartnerKey.objects.get(prefix=key.partition(".")[0]), key


def with_key(key: str) -> APIClient:
    client = ValidatingAPIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


def test_the_command_prints_the_key_once_and_stores_only_its_hash():
    partner, key = issue("Safe Schools app", "--per-minute", "90", "--per-day", "5000")
    assert (partner.name, partner.per_minute, partner.per_day) == ("Safe Schools app", 90, 5000)
    stored = [str(value) for value in PartnerKey.objects.values_list().get()]
    assert not any(key in value for value in stored)
    assert partner.hashed_key.startswith("sha512$$")
    listing = io.StringIO()
    call_command("partner_key", "list", stdout=listing)
    assert partner.prefix in listing.getvalue()
    assert key not in listing.getvalue()


def test_a_request_with_a_valid_key_is_answered_as_that_key():
    _, key = issue("Safe Schools app")
    response = with_key(key).get(TOPICS)
    assert response.status_code == 200
    assert vars(response.wsgi_request)["auth"].name == "Safe Schools app"


def test_anonymous_reads_are_still_answered():
    assert ValidatingAPIClient().get(TOPICS).status_code == 200


def test_a_revoked_key_is_refused_from_the_next_request_on():
    partner, key = issue("Safe Schools app")
    client = with_key(key)
    assert client.get(TOPICS).status_code == 200
    call_command("partner_key", "revoke", partner.prefix, stdout=io.StringIO())
    response = client.get(TOPICS)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Api-Key"
    assert response.json() == {"detail": "Unknown or revoked API key."}


def test_an_expired_key_is_refused():
    partner, key = issue("Safe Schools app")
    PartnerKey.objects.filter(pk=partner.pk).update(expiry_date=timezone.now() - timedelta(seconds=1))
    response = with_key(key).get(TOPICS)
    assert response.status_code == 401
    assert response.json() == {"detail": "This API key has expired."}


def test_a_key_expiring_on_a_later_day_is_still_answered():
    _, key = issue("Safe Schools app", "--expires", (timezone.now() + timedelta(days=1)).date().isoformat())
    assert with_key(key).get(TOPICS).status_code == 200


@pytest.mark.parametrize(
    "header", ["Api-Key nope.nope", "Api-Key ", "api-key x", "Api-Key abcdefgh.wrongsecretwrongsecretwrongsecr"]
)
def test_an_unknown_or_empty_key_is_refused(header):
    issue("Safe Schools app")
    response = ValidatingAPIClient().get(TOPICS, HTTP_AUTHORIZATION=header)
    assert response.status_code == 401


def test_the_right_prefix_with_the_wrong_secret_is_refused():
    partner, _ = issue("Safe Schools app")
    response = with_key(f"{partner.prefix}.{'x' * 32}").get(TOPICS)
    assert response.status_code == 401


def test_revoking_an_unknown_prefix_is_an_error():
    with pytest.raises(Exception, match="No key with prefix"):
        call_command("partner_key", "revoke", "nothing1", stdout=io.StringIO())


def moderator() -> User:
    user = User.objects.create_user("mod", password="pw-for-tests-only", is_staff=True)
    user.groups.add(Group.objects.get_or_create(name="moderators")[0])
    return user


def test_moderators_are_the_group_members_and_superusers():
    staff = User.objects.create_user("staff", is_staff=True)
    root = User.objects.create_superuser("root")
    assert is_moderator(moderator())
    assert is_moderator(root)
    assert not is_moderator(staff)


def test_a_moderator_issues_a_key_in_the_admin_and_sees_it_only_once():
    client = builders.second_factor_verified(ValidatingAPIClient(), moderator())
    response = client.post(
        "/admin/directory/partnerkey/add/",
        {"name": "Platform safety centre", "per_minute": "60", "per_day": "1000", "contact": ""},
        follow=True,
    )
    assert response.status_code == 200
    partner = PartnerKey.objects.get()
    shown = [str(message) for message in response.context["messages"]]
    assert any(partner.prefix in message for message in shown)
    assert (partner.per_minute, partner.per_day) == (60, 1000)


def test_a_moderator_revokes_keys_from_the_admin_list():
    partner, key = issue("Safe Schools app")
    client = builders.second_factor_verified(ValidatingAPIClient(), moderator())
    listing = client.get("/admin/directory/partnerkey/")
    assert listing.status_code == 200
    assert partner.prefix in listing.content.decode()
    assert key not in listing.content.decode()
    response = client.post(
        "/admin/directory/partnerkey/", {"action": "revoke", "_selected_action": [partner.pk]}, follow=True
    )
    assert response.status_code == 200
    assert with_key(key).get(TOPICS).status_code == 401


def test_staff_who_are_not_moderators_cannot_see_the_keys():
    issue("Safe Schools app")
    client = ValidatingAPIClient()
    client.force_login(User.objects.create_user("staff", is_staff=True))
    assert client.get("/admin/directory/partnerkey/").status_code == 403
    assert client.get("/admin/directory/partnerkeyusage/").status_code == 403
