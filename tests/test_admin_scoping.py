"""The admin for NGO staff: their organisations only, proposals instead of saves, moderators with a code."""

from typing import Any

import pytest
from django.test import Client

from directory.models import Proposal
from tests import builders

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> dict[str, Any]:
    return {
        "a": builders.service("Line A", country="CA", phone="+13065550101", org="Org A"),
        "b": builders.service("Line B", country="CA", phone="+13065550202", org="Org B"),
        "alice": builders.maintainer("alice", "Org A"),
        "vera": builders.maintainer("vera", "Org A", role="viewer"),
        "mona": builders.moderator("mona"),
    }


def browser_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_maintainer_lists_only_their_organisations_listings(world: dict[str, Any]) -> None:
    page = browser_for(world["alice"]).get("/admin/directory/service/")
    assert page.status_code == 200
    assert "Line A" in page.content.decode()
    assert "Line B" not in page.content.decode()


def test_another_organisations_listing_is_a_404_in_the_admin(world: dict[str, Any]) -> None:
    alice = browser_for(world["alice"])
    assert alice.get(f"/admin/directory/service/{world['b'].pk}/change/").status_code == 404
    assert alice.get(f"/admin/directory/service/{world['b'].pk}/history/").status_code == 404
    assert alice.get(f"/admin/directory/organization/{world['b'].organization_id}/change/").status_code == 404


def test_listings_cannot_be_deleted_from_the_admin(world: dict[str, Any]) -> None:
    alice = browser_for(world["alice"])
    assert alice.get(f"/admin/directory/service/{world['a'].pk}/delete/").status_code == 403
    page = alice.get("/admin/directory/service/").content.decode()
    assert "delete_selected" not in page
    assert "propose_archive" in page


def test_a_viewer_reads_but_cannot_propose(world: dict[str, Any]) -> None:
    vera = browser_for(world["vera"])
    page = vera.get(f"/admin/directory/service/{world['a'].pk}/change/")
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()


def test_the_archive_action_proposes_instead_of_archiving(world: dict[str, Any]) -> None:
    alice = browser_for(world["alice"])
    alice.post(
        "/admin/directory/service/", {"action": "propose_archive", "_selected_action": [world["a"].pk]}, follow=True
    )
    proposal = Proposal.objects.get()
    assert (proposal.action, proposal.state, proposal.service_id) == ("archive", "pending", world["a"].pk)
    world["a"].refresh_from_db()
    assert world["a"].archived_at is None


def test_a_moderator_without_the_second_factor_is_kept_out(world: dict[str, Any]) -> None:
    response = browser_for(world["mona"]).get("/admin/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_a_moderator_signs_in_with_the_code_and_sees_the_dashboard(world: dict[str, Any]) -> None:
    from django_otp.oath import totp

    from directory.accounts import new_authenticator

    device = new_authenticator(world["mona"])
    client = Client()
    without = client.post("/admin/login/", {"username": "mona", "password": "a long test password 1"})
    assert "Enter the one-time code" in without.content.decode()
    signed_in = client.post(
        "/admin/login/",
        {
            "username": "mona",
            "password": "a long test password 1",
            "otp_token": f"{totp(device.bin_key):06d}",
            "next": "/admin/",
        },
        follow=True,
    )
    page = signed_in.content.decode()
    assert 'id="moderation-dashboard"' in page
    assert 'id="pending-count">0<' in page
    assert client.get("/admin/dashboard/").status_code == 200


def test_maintainers_may_use_the_sms_simulator(world: dict[str, Any]) -> None:
    assert browser_for(world["alice"]).get("/sms/simulator/").status_code == 200
