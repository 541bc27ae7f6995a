"""The review cycle: overdue listings turn stale and stay findable, maintainers are reminded once a day."""

from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from directory.models import Proposal, ReviewReminder, Service
from directory.search import HelpQuery, find_help
from tests import builders
from tests.openapi_client import ValidatingAPIClient

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("_locmem_mail")]


@pytest.fixture
def _locmem_mail() -> Any:
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
        yield


def due(service: Service, days: int) -> None:
    Service.objects.filter(pk=service.pk).update(review_due=timezone.now() + timedelta(days=days))


@pytest.fixture
def listings() -> dict[str, Service]:
    overdue = builders.service("Overdue Line", country="CA", phone="+13065550101", org="Org A")
    soon = builders.service("Soon Line", country="CA", phone="+13065550102", org="Org A")
    later = builders.service("Later Line", country="CA", phone="+13065550103", org="Org A")
    other = builders.service("Org B Line", country="CA", phone="+13065550104", org="Org B")
    due(overdue, -3)
    due(soon, 10)
    due(later, 90)
    due(other, 5)
    builders.maintainer("alice", "Org A")
    builders.maintainer("anna", "Org A")
    builders.maintainer("bob", "Org B")
    builders.maintainer("vera", "Org A", role="viewer")
    return {"overdue": overdue, "soon": soon, "later": later, "other": other}


def test_reminders_mark_overdue_listings_stale(listings: dict[str, Service]) -> None:
    call_command("review_reminders", verbosity=0)
    states = dict(Service.objects.values_list("name", "verification_state"))
    assert states == {
        "Overdue Line": "stale",
        "Soon Line": "verified",
        "Later Line": "verified",
        "Org B Line": "verified",
    }
    assert (
        Service.objects.get(name="Overdue Line").history.latest().history_change_reason.startswith("review_reminders")
    )


def test_each_organisation_gets_one_email_listing_what_is_due(listings: dict[str, Service]) -> None:
    call_command("review_reminders", verbosity=0)
    assert len(mail.outbox) == 2
    org_a = next(m for m in mail.outbox if "Org A" in m.subject)
    assert sorted(org_a.to) == ["alice@example.org", "anna@example.org"]
    assert "Overdue Line (overdue since" in org_a.body
    assert "Soon Line (due" in org_a.body
    assert "Later Line" not in org_a.body
    assert f"/admin/directory/service/{listings['overdue'].pk}/change/" in org_a.body


def test_a_second_run_the_same_day_sends_nothing(listings: dict[str, Service]) -> None:
    call_command("review_reminders", verbosity=0)
    call_command("review_reminders", verbosity=0)
    assert len(mail.outbox) == 2
    assert ReviewReminder.objects.count() == 2


def test_stale_listings_are_demoted_in_search_but_never_hidden(listings: dict[str, Service]) -> None:
    call_command("review_reminders", verbosity=0)
    answer = find_help(HelpQuery(country="CA", limit=10))
    names = [result.name for result in answer.results]
    assert "Overdue Line" in names
    assert names[-1] == "Overdue Line"
    stale = next(r for r in answer.results if r.name == "Overdue Line")
    assert stale.verification_state == "stale"


def test_still_correct_is_a_proposal_that_a_moderator_verifies(listings: dict[str, Service]) -> None:
    call_command("review_reminders", verbosity=0)
    overdue = Service.objects.get(name="Overdue Line")
    alice = ValidatingAPIClient()
    alice.credentials(HTTP_AUTHORIZATION=f"Token {builders.token_for(builders.maintainer('alice', 'Org A'))}")
    response = alice.post(f"/api/v1/services/{overdue.pk}/confirm/", HTTP_IF_MATCH=f'"{overdue.version}"')
    assert response.status_code == 202
    assert response.json()["action"] == "confirm"
    assert response.json()["diff"] == {}
    assert Service.objects.get(pk=overdue.pk).verification_state == "stale"
    mona = ValidatingAPIClient()
    mona.credentials(HTTP_AUTHORIZATION=f"Token {builders.token_for(builders.moderator('mona'))}")
    approved = mona.post(
        f"/api/v1/proposals/{response.json()['id']}/approve/", {"evidence_note": "Called"}, format="json"
    )
    assert approved.status_code == 200
    overdue.refresh_from_db()
    assert overdue.verification_state == "verified"
    assert overdue.review_due is not None
    assert overdue.review_due > timezone.now() + timedelta(days=170)
    assert Proposal.objects.get().state == "approved"
