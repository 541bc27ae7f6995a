"""The Twilio webhooks, driven end to end with requests signed exactly as Twilio signs them."""

import itertools
import time
from datetime import timedelta
from xml.etree import ElementTree

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from config.cache import counting_cache
from directory.models import ContactChannel, PostcodeArea, Service, Topic
from sms import service as sms_service
from sms.encoding import MAX_SEGMENTS, segment_count
from sms.models import Conversation, DailyStat, DeliveryStatus, OptOut
from sms.replies import LANGUAGES
from tests import builders

TEXTER = "+13065550123"
NEW_YORKER = "+12125550123"
TWILIO_NUMBER = "+13065550199"
_sids = itertools.count(1)


def next_sid() -> str:
    return f"SM{next(_sids):032d}"


def signature_for(url: str, params: dict[str, str]) -> str:
    return RequestValidator(settings.TWILIO_AUTH_TOKEN).compute_signature(url, params)


def post_signed(client, path: str, params: dict[str, str], *, url: str = "", **headers):
    signature = signature_for(url or f"http://testserver{path}", params)
    return client.post(path, params, HTTP_X_TWILIO_SIGNATURE=signature, **headers)


def inbound_params(body: str, sender: str = TEXTER, sid: str = "") -> dict[str, str]:
    return {
        "MessageSid": sid or next_sid(),
        "AccountSid": "AC00000000000000000000000000000000",
        "From": sender,
        "To": TWILIO_NUMBER,
        "Body": body,
        "NumMedia": "0",
    }


def messages_in(response) -> list[str]:
    root = ElementTree.fromstring(response.content)  # noqa: S314 - our own response, in a test
    assert root.tag == "Response"
    return [message.text or "" for message in root.findall("Message")]


def send(client, body: str, sender: str = TEXTER, sid: str = "") -> str:
    """Text the service and return what the texter receives ("" for no message)."""
    response = post_signed(client, "/sms/inbound/", inbound_params(body, sender, sid))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    messages = messages_in(response)
    assert len(messages) <= 1
    return messages[0] if messages else ""


def build_listings() -> None:
    """Build a small fictional directory around Regina, Montréal and New York, on real postcode centroids."""
    Topic.objects.create(
        slug="sextortion",
        position=1,
        names={"en": "Sextortion"},
        keywords={"en": ["SEXTORTION", "BLACKMAIL"], "fr": ["SEXTORSION"], "es": ["SEXTORSIÓN"]},
        advice={
            "en": "Test advice: don't pay, keep the messages.",
            "fr": "Conseil de test : ne paie pas.",
            "es": "Consejo de prueba: no pagues.",
        },
    )
    for country, code, latitude, longitude, place, subdivision in [
        ("CA", "S4P", 50.4480, -104.6054, "Regina Central", "CA-SK"),
        ("CA", "H2X", 45.5143, -73.5712, "Plateau Mont-Royal Southeast", "CA-QC"),
        ("US", "10001", 40.7484, -73.9967, "New York", "US-NY"),
    ]:
        PostcodeArea.objects.create(
            country=country, code=code, latitude=latitude, longitude=longitude, place=place, subdivision=subdivision
        )
    youth_line = builders.service(
        "Fictional Youth Line",
        country="CA",
        phone="+13065550100",
        sms="+13065550101",
        sms_keyword="CONNECT",
        always_open=True,
        translations={"fr": {"name": "Ligne fictive jeunesse"}},
        description="Counselling for young people, any issue, any time.",
    )
    ContactChannel.objects.filter(service=youth_line, kind="phone").update(display="1-306-555-0100")
    builders.service(
        "Fictional Regina Police Unit",
        kind="police",
        country="CA",
        subdivision="CA-SK",
        point=(50.4475, -104.6060),
        phone="+13065550102",
        topics=("sextortion",),
    )
    for n in range(3, 9):
        builders.service(
            f"Fictional Regina Centre {n}",
            kind="support_agency",
            country="CA",
            point=(50.45, -104.61),
            phone=f"+1306555010{n}",
        )
    builders.service("Fictional Regina Office Without Contacts", kind="police", country="CA", point=(50.448, -104.606))
    builders.service(
        "Fictional Montreal Centre",
        kind="support_agency",
        country="CA",
        point=(45.5150, -73.5700),
        phone="+15145550110",
        translations={"fr": {"name": "Centre fictif de Montréal"}},
    )
    builders.service("Fictional US Crisis Line", country="US", phone="+12125550111", always_open=True)
    builders.service(
        "Fictional New York Service",
        kind="support_agency",
        country="US",
        point=(40.7490, -73.9950),
        phone="+12125550112",
        translations={"es": {"name": "Servicio ficticio de Nueva York"}},
    )


@pytest.fixture
def listings(db):
    build_listings()


# Signatures


@pytest.mark.django_db
def test_an_unsigned_request_gets_403_and_stores_nothing(client, listings):
    response = client.post("/sms/inbound/", inbound_params("STOP"))
    assert response.status_code == 403
    assert not OptOut.objects.exists()
    assert not DailyStat.objects.exists()
    assert not Conversation.objects.exists()


@pytest.mark.django_db
def test_a_tampered_request_gets_403_and_stores_nothing(client, listings):
    params = inbound_params("HELP S4P 3Y2")
    signature = signature_for("http://testserver/sms/inbound/", params)
    tampered = {**params, "Body": "STOP"}
    response = client.post("/sms/inbound/", tampered, HTTP_X_TWILIO_SIGNATURE=signature)
    assert response.status_code == 403
    assert not OptOut.objects.exists()
    assert not DailyStat.objects.exists()
    assert not Conversation.objects.exists()


@pytest.mark.django_db
def test_a_signature_made_with_another_token_is_refused(client, listings):
    params = inbound_params("HELP S4P 3Y2")
    signature = RequestValidator("not-the-token").compute_signature("http://testserver/sms/inbound/", params)
    assert client.post("/sms/inbound/", params, HTTP_X_TWILIO_SIGNATURE=signature).status_code == 403


@pytest.mark.django_db
def test_the_signature_is_checked_even_in_debug_mode(client, listings, settings):
    settings.DEBUG = True
    assert client.post("/sms/inbound/", inbound_params("HELP")).status_code == 403


@pytest.mark.django_db
def test_behind_a_proxy_the_public_base_url_is_what_must_be_signed(client, listings, settings):
    settings.SMS_PUBLIC_BASE_URL = "https://help.example.org"
    params = inbound_params("HELP")
    public = post_signed(client, "/sms/inbound/", params, url="https://help.example.org/sms/inbound/")
    assert public.status_code == 200
    internal = post_signed(client, "/sms/inbound/", inbound_params("HELP"), url="http://testserver/sms/inbound/")
    assert internal.status_code == 403


@pytest.mark.django_db
def test_the_public_base_url_keeps_the_query_string(client, listings, settings):
    settings.SMS_PUBLIC_BASE_URL = "https://help.example.org/"
    params = inbound_params("HELP")
    signature = signature_for("https://help.example.org/sms/inbound/?site=regina", params)
    response = client.post("/sms/inbound/?site=regina", params, HTTP_X_TWILIO_SIGNATURE=signature)
    assert response.status_code == 200


@pytest.mark.django_db
def test_without_a_public_base_url_the_forwarded_scheme_is_honoured(client, listings, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    params = inbound_params("HELP")
    response = post_signed(
        client, "/sms/inbound/", params, url="https://testserver/sms/inbound/", HTTP_X_FORWARDED_PROTO="https"
    )
    assert response.status_code == 200


@pytest.mark.django_db
def test_a_get_request_is_not_processed(client, listings):
    assert client.get("/sms/inbound/", inbound_params("HELP")).status_code == 405


# Carrier words


@pytest.mark.django_db
def test_help_alone_gets_the_help_text(client, listings):
    reply = send(client, "HELP")
    assert "Text HELP + your postcode (e.g. HELP S4P 3Y2)" in reply
    assert "24/7: Fictional Youth Line: 1-306-555-0100" in reply
    assert "Text STOP to stop." in reply
    assert "Emergency: 911" in reply


@pytest.mark.django_db
def test_info_alone_gets_the_help_text_too(client, listings):
    assert "Text HELP + your postcode" in send(client, "info")


@pytest.mark.django_db
def test_stop_confirms_once_then_everything_gets_silence(client, listings):
    assert "You are unsubscribed" in send(client, "STOP")
    empty = post_signed(client, "/sms/inbound/", inbound_params("HELP S4P 3Y2"))
    assert empty.status_code == 200
    assert messages_in(empty) == []
    assert send(client, "STOP") == ""
    assert send(client, "1") == ""


@pytest.mark.django_db
def test_start_opts_back_in_with_a_confirmation(client, listings):
    send(client, "STOP")
    assert "You are subscribed again" in send(client, "START")
    assert "Fictional Regina Police Unit" in send(client, "HELP S4P 3Y2")


@pytest.mark.django_db
def test_an_opt_out_is_kept_in_the_database_after_the_conversation_expires(client, listings):
    send(client, "HELP S4P 3Y2")
    send(client, "stop")
    assert not Conversation.objects.exists()
    assert OptOut.objects.count() == 1
    assert send(client, "HELP S4P 3Y2") == ""


@pytest.mark.django_db
def test_yes_from_someone_who_never_stopped_gets_the_help_text(client, listings):
    assert "Text HELP + your postcode" in send(client, "YES")


# Searches and follow-ups


@pytest.mark.django_db
def test_help_with_a_postcode_is_a_search_with_nearby_help_first(client, listings):
    reply = send(client, "HELP S4P 3Y2")
    lines = reply.splitlines()
    assert lines[0].startswith("1. Fictional Regina")
    assert "Fictional Youth Line: 1-306-555-0100 or text CONNECT to +13065550101" in reply
    assert segment_count(reply) <= MAX_SEGMENTS
    assert "MORE" in reply


@pytest.mark.django_db
def test_a_listing_with_no_way_to_reach_it_is_left_out(client, listings):
    send(client, "HELP S4P 3Y2")
    no_contact = Service.objects.get(name="Fictional Regina Office Without Contacts")
    assert no_contact.id not in Conversation.objects.get().result_ids


def test_the_texters_conversation_and_opt_out_are_read_in_one_statement(client, listings):
    send(client, "HELP S4P 3Y2")
    with CaptureQueriesContext(connection) as queries:
        assert "6. Fictional Regina Centre 7" in send(client, "MORE")
    reads = [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().upper().startswith("SELECT")]
    assert len([sql for sql in reads if "sms_optout" in sql or "sms_conversation" in sql]) == 1, reads


@pytest.mark.django_db
def test_a_postcode_in_a_sentence_is_found(client, listings):
    reply = send(client, "help me pls my postcode is s4p3y2")
    assert reply.startswith("1. Fictional Regina")


@pytest.mark.django_db
def test_more_gives_the_next_results_then_says_there_are_no_more(client, listings):
    first = send(client, "HELP S4P 3Y2")
    shown = Conversation.objects.get().next_index
    second = send(client, "MORE")
    assert second.splitlines()[0].startswith(f"{shown + 1}. ")
    for _ in range(5):
        last = send(client, "more")
    assert last.startswith("No more results.")
    assert "24/7: Fictional Youth Line" in last
    assert first != second


@pytest.mark.django_db
def test_a_new_search_replaces_the_texters_last_one(client, listings):
    send(client, "HELP S4P 3Y2")
    send(client, "MORE")
    before = Conversation.objects.get()
    Conversation.objects.update(expires_at=timezone.now() + timedelta(minutes=1))
    send(client, "BLACKMAIL S4P 3Y2")
    after = Conversation.objects.get()
    assert after.pk == before.pk
    assert (before.topic, after.topic) == ("", "sextortion")
    assert after.next_index < before.next_index
    assert after.expires_at > timezone.now() + timedelta(hours=settings.SMS_STATE_TTL_HOURS - 1)


@pytest.mark.django_db
def test_a_result_number_gives_that_results_details(client, listings):
    send(client, "HELP S4P 3Y2")
    result_ids = Conversation.objects.get().result_ids
    youth_line_number = 1 + result_ids.index(Service.objects.get(name="Fictional Youth Line").id)
    reply = send(client, str(youth_line_number))
    assert reply.splitlines()[0] == f"{youth_line_number}. Fictional Youth Line"
    assert "Open 24/7" in reply
    assert "Call 1-306-555-0100" in reply
    assert "Text CONNECT to +13065550101" in reply
    assert "Counselling for young people" in reply


@pytest.mark.django_db
def test_a_number_out_of_range_asks_for_a_valid_one(client, listings):
    send(client, "HELP S4P 3Y2")
    count = len(Conversation.objects.get().result_ids)
    assert f"Reply a number from 1 to {count}, or MORE." in send(client, "99")


@pytest.mark.django_db
def test_a_follow_up_without_a_recent_search_says_what_to_send(client, listings):
    reply = send(client, "MORE")
    assert reply.startswith("No recent search.")
    assert "Text HELP + your postcode" in reply


@pytest.mark.django_db
def test_an_expired_conversation_is_forgotten(client, listings):
    send(client, "HELP S4P 3Y2")
    Conversation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert send(client, "2").startswith("No recent search.")


@pytest.mark.django_db
def test_it_answers_in_french_for_aide(client, listings):
    reply = send(client, "AIDE H2X 1Y4")
    assert reply.startswith("1. Centre fictif de Montréal")
    assert "Ligne fictive jeunesse" in reply
    assert "texto CONNECT au" in reply
    assert "Répondez un numéro" in reply


@pytest.mark.django_db
def test_the_conversation_keeps_its_language_for_follow_ups(client, listings):
    send(client, "AIDE H2X 1Y4")
    reply = send(client, "1")
    assert reply.startswith("1. Centre fictif de Montréal")
    assert "Appel: +15145550110" in reply


@pytest.mark.django_db
def test_it_answers_in_spanish_for_ayuda(client, listings):
    reply = send(client, "AYUDA 10001", sender=NEW_YORKER)
    assert reply.startswith("1. Servicio ficticio de Nueva York")
    assert "Fictional US Crisis Line" in reply
    assert "Responde un numero para detalles." in reply
    assert "Emergencias: 911" in reply


@pytest.mark.django_db
def test_a_language_word_switches_the_language(client, listings):
    send(client, "HELP S4P 3Y2")
    assert send(client, "ESPAÑOL").splitlines()[:2] == [
        "De acuerdo, en español.",
        "Responde un numero para detalles, MAS para ver mas.",
    ]
    assert send(client, "1").startswith("1. ")
    assert Conversation.objects.get().language == "es"


@pytest.mark.django_db
def test_a_danger_word_puts_911_first(client, listings):
    reply = send(client, "I'm not safe, he says he will hurt me. S4P 3Y2")
    assert reply.startswith("In danger now? Call 911.")


@pytest.mark.django_db
def test_a_danger_word_without_postcode_still_puts_911_first_with_national_help(client, listings):
    reply = send(client, "quiero matarme")
    assert reply.startswith("¿En peligro? Llama al 911.")
    assert "Fictional Youth Line" in reply


@pytest.mark.django_db
def test_a_sextortion_keyword_adds_the_topics_advice(client, listings):
    reply = send(client, "someone is blackmailing me S4P 3Y2")
    assert "Test advice: don't pay, keep the messages." in reply
    assert reply.index("Test advice") < reply.index("1. Fictional Regina Police Unit")


@pytest.mark.django_db
def test_topic_tables_are_read_once_and_a_saved_topic_is_understood_at_once(client, listings):
    from sms.topics import topic_tables

    first = topic_tables()
    with CaptureQueriesContext(connection) as reads:
        assert topic_tables() is first
    assert not reads.captured_queries
    topic = Topic.objects.get(slug="sextortion")
    topic.keywords = {**topic.keywords, "en": [*topic.keywords["en"], "EXTORTED"]}
    topic.advice = {**topic.advice, "en": "Edited advice: report the account."}
    topic.save()
    reply = send(client, "I am being extorted S4P 3Y2")
    assert "Edited advice: report the account." in reply
    topic.delete()
    assert "sextortion" not in {slug for slug, _ in topic_tables().keywords.values()}


@pytest.mark.django_db
def test_without_a_postcode_it_gives_national_lines_and_what_to_send(client, listings):
    reply = send(client, "help me")
    assert "Fictional Youth Line" in reply
    assert "Text HELP + your postcode (e.g. HELP S4P 3Y2) for help near you." in reply


@pytest.mark.django_db
def test_an_unknown_postcode_still_gets_national_help(client, listings):
    reply = send(client, "HELP T2P 1J9")
    assert reply.startswith("We did not recognise that postcode. National help:")
    assert "Fictional Youth Line" in reply


@pytest.mark.django_db
def test_a_sender_from_a_country_without_listings_gets_its_emergency_number(client, listings):
    reply = send(client, "HELP", sender="+4915112345678")
    assert "Emergency: 112" in reply
    assert "HELP 10115" in reply


# Retries, rate limit, statistics


@pytest.mark.django_db
def test_a_retried_message_sid_gets_the_same_reply_and_is_counted_once(client, listings):
    params = inbound_params("HELP S4P 3Y2")
    first = post_signed(client, "/sms/inbound/", params)
    next_index = Conversation.objects.get().next_index
    send(client, "MORE")
    retry = post_signed(client, "/sms/inbound/", params)
    assert retry.content == first.content
    assert DailyStat.objects.get(keyword="HELP").count == 1
    assert Conversation.objects.get().next_index > next_index


def _hold_the_first_delivery(params):
    from django.core.cache import cache

    reply_key = f"sms:reply:{sms_service.keyed_hash('sid:' + params['MessageSid'])}"
    assert cache.add(reply_key, sms_service._ANSWERING, 30)
    return reply_key


@pytest.mark.django_db
def test_a_retry_arriving_while_the_first_is_answered_gets_the_help_text_at_once(client, listings):
    from django.core.cache import cache

    params = inbound_params("HELP S4P 3Y2")
    reply_key = _hold_the_first_delivery(params)
    started = time.monotonic()
    reply = messages_in(post_signed(client, "/sms/inbound/", params))
    assert time.monotonic() - started < 1.0
    assert "Text HELP + your postcode" in reply[0]
    assert not DailyStat.objects.exists()
    cache.set(reply_key, ("The first answer", "en"), 60)
    assert messages_in(post_signed(client, "/sms/inbound/", params)) == ["The first answer"]


@pytest.mark.django_db
def test_a_retry_arriving_while_the_first_is_answered_stays_silent_after_stop(client, listings):
    send(client, "STOP")
    params = inbound_params("HELP S4P 3Y2")
    _hold_the_first_delivery(params)
    assert messages_in(post_signed(client, "/sms/inbound/", params)) == []


@pytest.mark.django_db
def test_the_rate_limit_is_answered_politely_once_then_silence(client, listings, settings):
    settings.SMS_RATE_LIMIT = 3
    for _ in range(3):
        assert send(client, "HELP S4P 3Y2")
    assert send(client, "HELP S4P 3Y2").startswith("You have sent many messages.")
    assert send(client, "HELP S4P 3Y2") == ""
    assert send(client, "MORE") == ""
    assert "Fictional Regina" in send(client, "HELP S4P 3Y2", sender="+13065550124")


@pytest.mark.django_db
def test_stop_is_honoured_even_when_rate_limited(client, listings, settings):
    settings.SMS_RATE_LIMIT = 1
    send(client, "HELP")
    send(client, "HELP")
    assert "You are unsubscribed" in send(client, "STOP")


@pytest.mark.django_db
def test_stop_and_start_count_toward_the_limit_and_a_retry_does_not(client, listings, settings):
    settings.SMS_RATE_LIMIT = 3
    assert "You are unsubscribed" in send(client, "STOP")
    params = inbound_params("START")
    first = messages_in(post_signed(client, "/sms/inbound/", params))
    assert first
    assert messages_in(post_signed(client, "/sms/inbound/", params)) == first, "a retry: the same reply"
    assert send(client, "HELP S4P 3Y2"), "STOP, START and this one: three"
    assert send(client, "HELP S4P 3Y2").startswith("You have sent many messages.")


@pytest.mark.django_db
def test_a_text_without_a_message_sid_counts_toward_the_limit(client, listings, settings):
    settings.SMS_RATE_LIMIT = 1
    params = {**inbound_params("HELP S4P 3Y2"), "MessageSid": ""}
    assert "Fictional Regina" in messages_in(post_signed(client, "/sms/inbound/", params))[0]
    assert messages_in(post_signed(client, "/sms/inbound/", params))[0].startswith("You have sent many messages.")
    assert messages_in(post_signed(client, "/sms/inbound/", params)) == []


@pytest.mark.django_db
def test_the_reply_is_sent_when_counting_it_fails(client, listings, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("the statistics' store is broken")

    monkeypatch.setattr(counting_cache(), "tally", broken)
    assert "Fictional Regina" in send(client, "HELP S4P 3Y2")
    assert "SMS answer failed with RuntimeError" in caplog.text


@pytest.mark.django_db
def test_statistics_keep_only_coarse_aggregates(client, listings):
    send(client, "HELP S4P 3Y2")
    send(client, "help s4p 3y2")
    stat = DailyStat.objects.get(keyword="HELP")
    assert stat.count == 2
    assert (stat.country, stat.postcode_prefix, stat.language) == ("CA", "S4P", "en")
    assert stat.result_count > 0
    assert stat.date == timezone.now().date()


# Delivery status


@pytest.mark.django_db
def test_a_status_callback_records_the_hashed_sid_and_status(client, listings):
    params = {"MessageSid": "SM" + "1" * 32, "MessageStatus": "delivered", "To": TEXTER, "From": TWILIO_NUMBER}
    assert post_signed(client, "/sms/status/", params).status_code == 204
    status = DeliveryStatus.objects.get()
    assert status.status == "delivered"
    assert status.message_sid_hash == sms_service.keyed_hash("sid:" + "SM" + "1" * 32)
    assert status.recorded_at is not None


@pytest.mark.django_db
def test_an_unsigned_status_callback_gets_403_and_stores_nothing(client, listings):
    params = {"MessageSid": "SM" + "1" * 32, "MessageStatus": "failed", "ErrorCode": "30003"}
    assert client.post("/sms/status/", params).status_code == 403
    assert not DeliveryStatus.objects.exists()


@pytest.mark.django_db
def test_an_unknown_status_is_not_recorded(client, listings):
    params = {"MessageSid": "SM" + "2" * 32, "MessageStatus": "<script>"}
    assert post_signed(client, "/sms/status/", params).status_code == 204
    assert not DeliveryStatus.objects.exists()


# Robustness


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    ["", "   ", "\u0000\u200b", "😀" * 50, "Привет, помогите", "x" * 100_000, "S4P 3Y2 " * 300, "<Response/>&"],
)
def test_any_body_gets_a_reply_within_budget(client, listings, body):
    reply = send(client, body)
    assert reply.strip()
    assert segment_count(reply) <= MAX_SEGMENTS


@pytest.mark.django_db
def test_a_missing_from_still_gets_a_reply(client, listings):
    params = inbound_params("HELP S4P 3Y2")
    del params["From"]
    response = post_signed(client, "/sms/inbound/", params)
    assert response.status_code == 200
    assert "Fictional Regina" in messages_in(response)[0]
    assert not Conversation.objects.exists()


@pytest.mark.django_db
def test_a_failing_search_still_gets_a_useful_reply(client, listings, monkeypatch):
    def broken_search(query):
        raise RuntimeError("search backend down")

    monkeypatch.setattr(sms_service, "find_help", broken_search)
    reply = send(client, "HELP S4P 3Y2")
    assert "Text HELP + your postcode" in reply
    assert "Emergency: 911" in reply
    assert "RuntimeError" not in reply


@pytest.mark.django_db
@hypothesis_settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.text(max_size=300) | st.sampled_from(["HELP S4P 3Y2", "AIDE H2X", "AYUDA 10001", "MORE", "2", "STOP"]),
    sender=st.sampled_from([TEXTER, NEW_YORKER, "+447700900123", "+33612345678", "+919812345678", "", "junk"]),
)
def test_any_message_from_anyone_gets_a_reply_within_budget_in_a_supported_language(client, listings, body, sender):
    # Each example starts as a texter who has not opted out nor hit the rate limit.
    OptOut.objects.all().delete()
    cache.clear()
    response = post_signed(client, "/sms/inbound/", inbound_params(body, sender))
    assert response.status_code == 200
    reply = messages_in(response)[0]
    assert reply.strip()
    assert segment_count(reply) <= MAX_SEGMENTS
    language = Conversation.objects.filter(expires_at__gt=timezone.now()).values_list("language", flat=True)
    assert set(language) <= set(LANGUAGES)


# Property tests through the signed webhook: whatever arrives, the answer is TwiML within budget.

RTL_AND_CONTROLS = st.sampled_from(
    ["مساعدة", "עזרה", "\u202e", "\u200f", "\u0000", "\u0007", "\u001b[31m", "\r\n", "\t", "\ufeff", "\U0001f198"]
)
MESSAGE_PARTS = st.one_of(
    st.text(max_size=40),
    RTL_AND_CONTROLS,
    st.sampled_from(["HELP", "AIDE", "AYUDA", "HILFE", "S4P 3Y2", "M5V2T6", "10001", "MORE", "1", "STOP", "START"]),
)
BODIES = st.one_of(
    st.lists(MESSAGE_PARTS, max_size=8).map(" ".join),
    # About 10 kB: a long paste, a message split by a broken phone, a flood.
    st.tuples(st.lists(MESSAGE_PARTS, min_size=1, max_size=4).map(" ".join), st.integers(100, 400)).map(
        lambda repeated: ((repeated[0] or "x") * repeated[1])[:10240]
    ),
)
SENDERS = st.sampled_from([TEXTER, NEW_YORKER, "+447700900123", "+33612345678", "+61412345678", "", "junk", "+"])
OPTIONAL_FIELDS = st.sets(st.sampled_from(["From", "Body", "MessageSid", "To", "AccountSid"]))


def _twiml_reply(response) -> str:
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"].startswith("text/xml")
    messages = messages_in(response)  # raises on anything that is not well-formed XML
    assert len(messages) <= 1
    return messages[0] if messages else ""


@pytest.mark.django_db
@hypothesis_settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=BODIES, sender=SENDERS, missing=OPTIONAL_FIELDS, sid=st.sampled_from(["SM-a", "SM-b", "SM-c"]))
def test_any_signed_delivery_gets_well_formed_twiml_within_three_segments_and_a_retry_the_same(
    client, listings, body, sender, missing, sid
):
    OptOut.objects.all().delete()
    cache.clear()
    params = {key: value for key, value in inbound_params(body, sender, sid).items() if key not in missing}
    first = _twiml_reply(post_signed(client, "/sms/inbound/", params))
    assert segment_count(first) <= MAX_SEGMENTS
    assert first.strip()
    retry = _twiml_reply(post_signed(client, "/sms/inbound/", params))
    if "MessageSid" not in missing:
        assert retry == first
