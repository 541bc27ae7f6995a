"""No texter's number or message ever reaches the database or the logs."""

import logging

import pytest
from django.db import connection

from sms import service as sms_service
from sms.models import Conversation, DailyStat, OptOut
from tests.test_sms_webhook import build_listings, send

TEXTER = "+13065550142"
OTHER_TEXTER = "+13065550143"
# Ways a number can be written, each of which must never be stored or logged.
NUMBER_FORMS = tuple(
    form
    for number in ("3065550142", "3065550143")
    for form in (f"+1{number}", f"1{number}", number, f"{number[:3]}-{number[3:6]}-{number[6:]}", number[3:])
)
# A word no reply or table contains, so finding it anywhere means a body was kept.
MARKER = "Zebracorn"
CONVERSATION = [
    (TEXTER, f"HELP S4P 3Y2 {MARKER} my name is Alex"),
    (TEXTER, f"{MARKER} blackmail, I want to kill myself"),
    (TEXTER, "MORE"),
    (TEXTER, "2"),
    (TEXTER, "STOP"),
    (TEXTER, f"{MARKER} are you there"),
    (TEXTER, "START"),
    (TEXTER, "FRANCAIS"),
    (TEXTER, f"AIDE H2X 1Y4 {MARKER}"),
    (OTHER_TEXTER, f"ayuda {MARKER} 10001"),
    (OTHER_TEXTER, "STOP"),
]


@pytest.fixture
def listings(db):
    build_listings()


def have_the_conversation(client) -> None:
    for sender, body in CONVERSATION:
        send(client, body, sender=sender)


def every_stored_value() -> list[str]:
    """Read every column of every table as text, so no model or field can be forgotten."""
    values: list[str] = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 - names from the database
            values.extend(repr(value) for row in cursor.fetchall() for value in row)
    return values


def assert_no_secret_in(texts: list[str]) -> None:
    for text in texts:
        folded = text.casefold()
        assert MARKER.casefold() not in folded
        assert "alex" not in folded
        for form in NUMBER_FORMS:
            assert form not in text


@pytest.mark.django_db
def test_no_number_or_message_body_reaches_any_table(client, listings):
    have_the_conversation(client)
    assert OptOut.objects.count() == 1
    assert Conversation.objects.count() == 1
    assert DailyStat.objects.exists()
    assert_no_secret_in(every_stored_value())


@pytest.mark.django_db
def test_the_sender_is_stored_only_as_a_keyed_hash(client, listings, settings):
    send(client, "STOP", sender=TEXTER)
    stored = OptOut.objects.get().sender_hash
    assert stored == sms_service.keyed_hash("sender:" + TEXTER)
    settings.SMS_HASH_KEY = "another-key"
    assert sms_service.keyed_hash("sender:" + TEXTER) != stored


@pytest.mark.django_db
def test_statistics_keep_only_the_postcodes_area(client, listings):
    send(client, "HELP S4P 3Y2", sender=TEXTER)
    assert set(DailyStat.objects.values_list("postcode_prefix", flat=True)) == {"S4P"}
    assert "3Y2" not in " ".join(every_stored_value())


@pytest.mark.django_db
def test_no_number_or_message_body_reaches_the_logs(client, listings, caplog, settings):
    settings.DEBUG = True  # also logs every SQL query with its parameters
    caplog.set_level(logging.DEBUG)
    have_the_conversation(client)
    unsigned = client.post("/sms/inbound/", {"From": TEXTER, "Body": f"HELP {MARKER}", "MessageSid": "SM" + "9" * 32})
    assert unsigned.status_code == 403
    assert caplog.records
    assert_no_secret_in([caplog.text, *(record.getMessage() for record in caplog.records)])


@pytest.mark.django_db
def test_a_failure_is_logged_without_the_message_or_number(client, listings, caplog, monkeypatch):
    def leaky_search(query):
        # A library error that quotes what it was given must not carry it into the logs.
        raise ValueError(f"cannot search for {MARKER} from {TEXTER}")

    monkeypatch.setattr(sms_service, "find_help", leaky_search)
    caplog.set_level(logging.DEBUG)
    reply = send(client, f"HELP S4P 3Y2 {MARKER}", sender=TEXTER)
    assert "Text HELP + your postcode" in reply
    failures = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert failures
    assert "ValueError" in failures[0].getMessage()
    assert_no_secret_in([caplog.text, *(record.getMessage() for record in caplog.records)])
