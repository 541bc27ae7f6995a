"""Signing in to the API: hashed, expiring, revocable tokens; failed sign-ins throttled per account and address."""

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from knox.models import AuthToken

from tests import builders
from tests.openapi_client import ValidatingAPIClient

pytestmark = pytest.mark.django_db

TOKEN = "/api/v1/auth/token/"
PASSWORD = "a long test password 1"


def sign_in(username: str, password: str, address: str = "203.0.113.5", prefix: str = "") -> Any:
    return ValidatingAPIClient().post(
        TOKEN, {"username": username, "password": password}, format="json", REMOTE_ADDR=address, SCRIPT_NAME=prefix
    )


def proposals_with(token: str) -> int:
    client = ValidatingAPIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client.get("/api/v1/proposals/").status_code


def test_a_maintainer_gets_a_token_that_is_stored_only_as_a_digest() -> None:
    builders.maintainer("alice")
    response = sign_in("alice", PASSWORD)
    assert response.status_code == 200
    token = response.json()["token"]
    assert response.json()["expiry"]
    stored = AuthToken.objects.get()
    assert token not in (stored.digest, stored.token_key)
    assert len(stored.digest) == 128
    assert proposals_with(token) == 200


def test_a_wrong_password_gets_401_and_no_token() -> None:
    builders.maintainer("alice")
    response = sign_in("alice", "wrong")
    assert response.status_code == 401
    assert not AuthToken.objects.exists()


def test_a_missing_password_is_a_400_naming_it() -> None:
    response = ValidatingAPIClient().post(TOKEN, {"username": "alice"}, format="json")
    assert response.status_code == 400
    assert "password" in response.json()


def test_logout_revokes_the_token() -> None:
    builders.maintainer("alice")
    token = sign_in("alice", PASSWORD).json()["token"]
    client = ValidatingAPIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.post("/api/v1/auth/logout/").status_code == 204
    assert proposals_with(token) == 401


def test_an_expired_token_is_refused() -> None:
    token = builders.token_for(builders.maintainer("alice"))
    AuthToken.objects.update(expiry=timezone.now() - timedelta(seconds=1))
    assert proposals_with(token) == 401


def test_an_unknown_token_is_refused() -> None:
    assert proposals_with("0" * 64) == 401


def test_repeated_failures_lock_the_account_even_from_new_addresses() -> None:
    builders.maintainer("alice")
    for attempt in range(4):
        assert sign_in("alice", "wrong", address=f"203.0.113.{attempt}").status_code == 401
    assert sign_in("alice", "wrong", address="203.0.113.4").status_code == 429
    locked = sign_in("alice", PASSWORD, address="198.51.100.1")
    assert locked.status_code == 429
    assert int(locked["Retry-After"]) > 0
    assert "Too many failed sign-ins" in locked.json()["detail"]
    assert not AuthToken.objects.exists()


def test_a_locked_out_sign_in_is_answered_in_json_under_a_prefix_too() -> None:
    builders.maintainer("alice")
    for attempt in range(5):
        sign_in("alice", "wrong", address=f"203.0.113.{attempt}")
    locked = sign_in("alice", PASSWORD, address="198.51.100.1", prefix="/help")
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.json()["detail"]


def test_repeated_failures_from_one_address_lock_that_address_for_every_account() -> None:
    builders.maintainer("alice")
    for attempt in range(5):
        sign_in(f"guess{attempt}", "wrong", address="203.0.113.9")
    assert sign_in("alice", PASSWORD, address="203.0.113.9").status_code == 429
    assert sign_in("alice", PASSWORD, address="198.51.100.7").status_code == 200


def test_behind_a_trusted_proxy_one_client_s_failures_lock_that_client_not_everyone(settings) -> None:
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    builders.maintainer("alice")

    def through_proxy(username: str, password: str, client: str, claimed: str = "") -> Any:
        forwarded = f"{claimed}, {client}" if claimed else client
        return ValidatingAPIClient().post(
            TOKEN,
            {"username": username, "password": password},
            format="json",
            REMOTE_ADDR="10.0.0.2",
            HTTP_X_FORWARDED_FOR=forwarded,
        )

    for attempt in range(5):
        # What the client writes in the header itself does not change who it is.
        through_proxy(f"guess{attempt}", "wrong", "203.0.113.9", claimed=f"198.51.100.{attempt}")
    assert through_proxy("alice", PASSWORD, "203.0.113.9").status_code == 429
    assert through_proxy("alice", PASSWORD, "198.51.100.7").status_code == 200


def test_the_admin_sign_in_is_throttled_the_same_way() -> None:
    builders.moderator("mona")
    browser = Client(REMOTE_ADDR="203.0.113.20")
    for _ in range(5):
        browser.post("/admin/login/", {"username": "mona", "password": "wrong"})
    response = browser.post("/admin/login/", {"username": "mona", "password": PASSWORD})
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.content.decode()


def test_a_moderator_needs_the_one_time_code_for_a_token() -> None:
    from django_otp.oath import totp

    from directory.accounts import new_authenticator

    mona = builders.moderator("mona")
    device = new_authenticator(mona)
    refused = sign_in("mona", PASSWORD)
    assert refused.status_code == 401
    assert "otp_token" in refused.json()["detail"]
    code = f"{totp(device.bin_key):06d}"
    accepted = ValidatingAPIClient().post(
        TOKEN, {"username": "mona", "password": PASSWORD, "otp_token": code}, format="json"
    )
    assert accepted.status_code == 200
    replayed = ValidatingAPIClient().post(
        TOKEN, {"username": "mona", "password": PASSWORD, "otp_token": code}, format="json"
    )
    assert replayed.status_code == 401
    wrong = f"{(int(code) + 1) % 1000000:06d}"
    refused = ValidatingAPIClient().post(
        TOKEN, {"username": "mona", "password": PASSWORD, "otp_token": wrong}, format="json"
    )
    assert refused.status_code == 401
