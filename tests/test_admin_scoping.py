"""The admin for NGO staff: their organisations only, proposals instead of saves, moderators with a code."""

from html.parser import HTMLParser
from typing import Any

import pytest
from django.test import Client

from directory import changes
from directory.models import Proposal, Schedule
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


class _FormValues(HTMLParser):
    """What a browser would submit for the page's change form: every named field with its current value."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, Any] = {}
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        name = attributes.get("name")
        if tag == "input" and name and attributes.get("type") not in ("submit", "button", "file"):
            if attributes.get("type") == "checkbox":
                if "checked" in attributes:
                    self.values.setdefault(name, []).append(attributes.get("value") or "on")
            else:
                self.values[name] = attributes.get("value") or ""
        elif tag == "select" and name:
            self._select = name
            self.values.setdefault(name, [])
        elif tag == "option" and self._select and "selected" in attributes:
            self.values[self._select].append(attributes.get("value") or "")
        elif tag == "textarea" and name:
            self._textarea = name
            self.values[name] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.values[self._textarea] += data


def form_values(html: str) -> dict[str, Any]:
    parser = _FormValues()
    parser.feed(html)
    return {name: value for name, value in parser.values.items() if value != []}


def test_a_maintainer_proposes_a_lines_own_hours_in_the_admin(world: dict[str, Any]) -> None:
    alice = browser_for(world["alice"])
    url = f"/admin/directory/service/{world['a'].pk}/change/"
    values = form_values(alice.get(url).content.decode())
    assert values["channels-0-hours_weekly"] == ""
    values.update(
        {
            "hours_timezone": "America/Regina",
            "hours_weekly": "Mon-Fri 09:00-17:00",
            "channels-0-hours_weekly": "Sat 18:00-02:00",
        }
    )
    response = alice.post(url, values, follow=True)
    assert "waiting for a moderator" in response.content.decode()
    proposed = Proposal.objects.get().data
    assert proposed["hours"]["intervals"][0] == {"weekday": 0, "opens": "09:00", "closes": "17:00"}
    assert proposed["channels"][0]["hours"] == {
        "timezone": "America/Regina",
        "always_open": False,
        "intervals": [{"weekday": 5, "opens": "18:00", "closes": "02:00"}],
    }
    assert not world["a"].schedules.exists()  # nothing served before a moderator approves

    mona = builders.moderator("mona2")
    changes.approve(mona, Proposal.objects.get(), evidence_note="Checked the line's page")
    line = world["a"].channels.get()
    assert Schedule.objects.get(channel=line).intervals.get().weekday == 5
    again = form_values(alice.get(url).content.decode())
    assert again["channels-0-hours_weekly"] == "Sat 18:00-02:00"


def test_a_lines_hours_that_cannot_be_read_are_refused_by_name(world: dict[str, Any]) -> None:
    alice = browser_for(world["alice"])
    url = f"/admin/directory/service/{world['a'].pk}/change/"
    values = form_values(alice.get(url).content.decode())
    values["channels-0-hours_weekly"] = "evenings"
    page = alice.post(url, values).content.decode()
    assert not Proposal.objects.exists()
    assert "errorlist" in page
