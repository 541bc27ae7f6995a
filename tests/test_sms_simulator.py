"""The simulators (command and staff page) run the texter's code path without Twilio; purging state."""

from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.utils import timezone

from sms.models import Conversation, DailyStat, DeliveryStatus
from tests.test_sms_webhook import build_listings, send

TEXTER = "+13065550123"


@pytest.fixture
def listings(db):
    build_listings()


def simulate(*words: str, sender: str = TEXTER) -> str:
    out = StringIO()
    call_command("simulate_sms", "--from", sender, *words, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_the_command_prints_the_reply_with_its_segments_and_encoding(listings):
    output = simulate("HELP S4P 3Y2")
    assert output.startswith("1. Fictional Regina")
    assert "Fictional Youth Line" in output
    assert output.splitlines()[-1].startswith("-- ")
    assert " segment(s), GSM-7, " in output.splitlines()[-1]


@pytest.mark.django_db
def test_the_command_follows_a_conversation_across_runs(listings):
    simulate("AIDE", "H2X", "1Y4")
    assert simulate("1").startswith("1. Centre fictif de Montréal")


@pytest.mark.django_db
def test_the_command_says_when_nothing_would_be_sent(listings):
    simulate("STOP")
    assert simulate("HELP").startswith("-- no message")


@pytest.mark.django_db
def test_simulations_neither_touch_a_real_texters_conversation_nor_count(client, listings):
    send(client, "HELP S4P 3Y2", sender=TEXTER)
    counted = list(DailyStat.objects.values_list("keyword", "count"))
    assert simulate("MORE").startswith("No recent search.")
    assert simulate("STOP").startswith("You are unsubscribed")
    assert send(client, "MORE", sender=TEXTER).splitlines()[0][0].isdigit()
    assert list(DailyStat.objects.values_list("keyword", "count")) == [*counted, ("MORE", 1)]


@pytest.fixture
def staff_client(client, db):
    client.force_login(User.objects.create_user("moderator", password="unused-in-tests", is_staff=True))
    return client


@pytest.mark.django_db
def test_the_simulator_page_asks_anonymous_visitors_to_sign_in(client):
    response = client.get("/sms/simulator/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/?next=/sms/simulator/")


@pytest.mark.django_db
def test_the_simulator_page_is_for_staff_only(client):
    client.force_login(User.objects.create_user("maintainer", password="unused-in-tests"))
    assert client.get("/sms/simulator/").status_code == 403


@pytest.mark.django_db
def test_the_simulator_page_shows_what_the_texter_receives(staff_client, listings):
    assert staff_client.get("/sms/simulator/").status_code == 200
    response = staff_client.post("/sms/simulator/", {"sender": TEXTER, "body": "AYUDA S4P 3Y2"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "1. Fictional Regina" in page
    assert "GSM-7" in page
    assert 'value="+13065550123"' in page


@pytest.mark.django_db
def test_the_simulator_page_escapes_what_it_shows(staff_client, listings):
    response = staff_client.post("/sms/simulator/", {"sender": TEXTER, "body": "<b>HELP</b>"})
    assert "<b>HELP</b>" not in response.content.decode()


@pytest.mark.django_db
def test_the_simulator_page_needs_its_csrf_token(listings):
    from django.test import Client

    guarded = Client(enforce_csrf_checks=True)
    guarded.force_login(User.objects.create_user("staffer", password="unused-in-tests", is_staff=True))
    assert guarded.post("/sms/simulator/", {"sender": TEXTER, "body": "HELP"}).status_code == 403


@pytest.mark.django_db
def test_purge_deletes_expired_conversations_and_old_delivery_statuses(listings):
    now = timezone.now()
    Conversation.objects.create(sender_hash="a" * 64, expires_at=now - timedelta(minutes=1))
    Conversation.objects.create(sender_hash="b" * 64, expires_at=now + timedelta(hours=1))
    old = DeliveryStatus.objects.create(message_sid_hash="c" * 64, status="delivered")
    DeliveryStatus.objects.filter(pk=old.pk).update(recorded_at=now - timedelta(days=31))
    DeliveryStatus.objects.create(message_sid_hash="d" * 64, status="sent")
    out = StringIO()
    call_command("purge_sms_state", stdout=out)
    assert list(Conversation.objects.values_list("sender_hash", flat=True)) == ["b" * 64]
    assert list(DeliveryStatus.objects.values_list("message_sid_hash", flat=True)) == ["d" * 64]
    assert "Deleted 1 expired conversation(s) and 1 old delivery status(es)." in out.getvalue()


@pytest.mark.django_db
def test_admins_can_read_but_not_edit_the_daily_statistics(admin_client, listings):
    send(admin_client, "HELP S4P 3Y2")
    stat = DailyStat.objects.get()
    assert admin_client.get("/admin/sms/dailystat/").status_code == 200
    assert admin_client.get(f"/admin/sms/dailystat/{stat.pk}/change/").status_code == 200
    assert admin_client.post(f"/admin/sms/dailystat/{stat.pk}/change/", {"count": 99}).status_code == 403
    assert admin_client.get("/admin/sms/dailystat/add/").status_code == 403
    assert DailyStat.objects.get().count == 1


@pytest.mark.django_db
def test_a_listings_details_start_with_its_primary_phone_as_in_the_search_results():
    from directory.models import ContactChannel
    from tests import builders

    listing = builders.service("Ordered Example Line", country="CA", always_open=True)
    ContactChannel.objects.create(service=listing, kind="website", value="https://example.org", position=0)
    ContactChannel.objects.create(service=listing, kind="phone", value="+13065550150", is_primary=True, position=5)
    simulate("help", "me", sender="+13065550177")
    details = simulate("1", sender="+13065550177")
    assert details.startswith("1. Ordered Example Line")
    assert details.index("+13065550150") < details.index("https://example.org")
