"""Two app nodes — two gunicorn servers — on one PostgreSQL database and one Redis, as docs/deployment.md runs them.

What must hold whichever node a request lands on: a Twilio retry of a MessageSid is answered alike and
processed once; the SMS per-sender limit and a partner key's per-minute quota count across nodes; an edit
committed through one node is in that node's next answer and served by the other within
``READ_MODEL_CHECK_MS`` (the read model's freshness bound, README).

The servers (bench/server.py: gunicorn, 2 sync workers, --preload, DEBUG off) serve the database
pytest-django made for this xdist worker and the worker's Redis database, so the data is committed
(transactional tests) and every server is stopped when the module ends, whatever happened.
"""

import http.client
import json
import os
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode
from xml.etree import ElementTree

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Sum
from twilio.request_validator import RequestValidator

from bench.server import HOST, Server, running
from directory.models import PartnerKey, Service
from sms.models import DailyStat
from sms.replies import notice_reply
from sms.service import keyed_hash
from tests import builders

BASE_DIR = Path(__file__).resolve().parent.parent

_SHARED_BACKENDS = settings.DATABASES["default"]["ENGINE"].endswith("postgresql") and bool(settings.REDIS_URL)
pytestmark = [
    pytest.mark.skipif(
        not _SHARED_BACKENDS,
        reason="two app nodes need a database and a cache both can reach: "
        "run with DATABASE_URL=postgres://… and REDIS_URL=redis://… (make test-postgres does)",
    ),
    pytest.mark.django_db(transaction=True),
]

# The address Twilio is configured to call: a load balancer in front of both nodes. Each node rebuilds it
# from SMS_PUBLIC_BASE_URL, so one signed request is valid on either node, as a retry must be.
PUBLIC_BASE_URL = "https://sms.example.test"
INBOUND = "/sms/inbound/"
WSGI_APP = "config.wsgi:application"
READY = "/healthz/"
SMS_RATE_LIMIT = 3
PARTNER_PER_MINUTE = 3
TEXTER = "+13065550123"
TWILIO_NUMBER = "+13065550199"
# How long an answer may take to show a change before the test gives up.
GIVE_UP_SECONDS = 10.0
# Beyond READ_MODEL_CHECK_MS, what the other node's own requests may take to show a change.
BOUND_MARGIN_SECONDS = 0.5


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Mapping[str, str]
    body: bytes


def call(
    server: Server, method: str, path: str, *, body: bytes = b"", headers: Mapping[str, str] | None = None
) -> Answer:
    connection = http.client.HTTPConnection(HOST, server.port, timeout=30)
    try:
        connection.request(method, path, body=body or None, headers=dict(headers or {}))
        response = connection.getresponse()
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        connection.close()


def database_url() -> str:
    """The URL of the database this worker's tests use (pytest-django's test_<name>[_gwN])."""
    db = connection.settings_dict
    auth = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        auth += ":" + quote(db["PASSWORD"], safe="")
    host = quote(db["HOST"] or "", safe="") + (f":{db['PORT']}" if db["PORT"] else "")
    return f"postgres://{auth}@{host}/{quote(db['NAME'], safe='')}"


def node_env() -> dict[str, str]:
    """Production settings for both nodes: this run's secrets, database and Redis; limits small enough to reach."""
    cache_settings = settings.CACHES["default"]
    location = cache_settings.get("LOCATION")
    env = {name: os.environ[name] for name in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR") if name in os.environ}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        PYTHONPATH=str(BASE_DIR),
        DEBUG="0",
        SECRET_KEY=settings.SECRET_KEY,
        TWILIO_AUTH_TOKEN=settings.TWILIO_AUTH_TOKEN,
        SMS_HASH_KEY=settings.SMS_HASH_KEY,
        SECURE_SSL_REDIRECT="0",
        ALLOWED_HOSTS=HOST,
        DATABASE_URL=database_url(),
        # conftest.py gives each xdist worker its own Redis database: the nodes share this worker's.
        REDIS_URL=location if isinstance(location, str) and location.startswith("redis") else settings.REDIS_URL,
        CACHE_KEY_PREFIX=str(cache_settings.get("KEY_PREFIX", "")),
        SMS_PUBLIC_BASE_URL=PUBLIC_BASE_URL,
        SMS_RATE_LIMIT=str(SMS_RATE_LIMIT),
        # Every message's statistics reach the database at once, where the test reads them.
        SMS_STATS_FLUSH_SECONDS="0",
        # The freshness polls are anonymous reads: out of the anonymous throttle's way.
        API_ANON_RATE="1000000/minute",
        READ_MODEL_PRELOAD="1",
        LOG_LEVEL="WARNING",
    )
    return env


@pytest.fixture(scope="module")
def nodes(
    django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, Server]]:
    with django_db_blocker.unblock():
        env = node_env()
    logs = tmp_path_factory.mktemp("two-nodes")
    with ExitStack() as stack:
        # Each node is stopped when the module ends, whatever happened, or at once if the other fails to start.
        # Node A runs on this test's machine, node B on a machine of its own: processes on one machine share
        # their listing writes through its temporary directory (directory/local_writes.py).
        machine_b = logs / "node-b-tmp"
        machine_b.mkdir()
        a, b = (
            stack.enter_context(running(WSGI_APP, env=node, cwd=BASE_DIR, log=logs / f"{name}.log", ready_path=READY))
            for name, node in (("node-a", env), ("node-b", {**env, "TMPDIR": str(machine_b)}))
        )
        yield a, b


# SMS


def signed(params: Mapping[str, str]) -> dict[str, str]:
    """The headers Twilio sends: the signature of the public URL it called and the form it posted."""
    signature = RequestValidator(settings.TWILIO_AUTH_TOKEN).compute_signature(PUBLIC_BASE_URL + INBOUND, params)
    return {"X-Twilio-Signature": signature, "Content-Type": "application/x-www-form-urlencoded"}


def inbound(sid: str, body: str, sender: str = TEXTER) -> dict[str, str]:
    return {
        "MessageSid": sid,
        "AccountSid": "AC00000000000000000000000000000000",
        "From": sender,
        "To": TWILIO_NUMBER,
        "Body": body,
        "NumMedia": "0",
    }


def text(server: Server, params: Mapping[str, str]) -> Answer:
    answer = call(server, "POST", INBOUND, body=urlencode(params).encode(), headers=signed(params))
    assert answer.status == 200, answer
    assert answer.headers["content-type"].startswith("text/xml")
    return answer


def messages_in(answer: Answer) -> list[str]:
    root = ElementTree.fromstring(answer.body)  # noqa: S314 - our own server's answer, in a test
    assert root.tag == "Response"
    return [message.text or "" for message in root.findall("Message")]


def regina_directory() -> Service:
    builders.postcodes("CA S4P")
    listing = builders.service(
        "Test Youth Line", country="CA", phone="+13065550101", always_open=True, topics=("emotional_support",)
    )
    # Node B's workers, on a machine of their own, learn of this test's writes within READ_MODEL_CHECK_MS.
    time.sleep(settings.READ_MODEL_CHECK_MS / 1000 + BOUND_MARGIN_SECONDS)
    return listing


def messages_processed() -> int:
    return int(DailyStat.objects.aggregate(total=Sum("count"))["total"] or 0)


def test_a_twilio_retry_sent_to_the_other_node_gets_the_same_reply_and_is_processed_once(nodes) -> None:
    node_a, node_b = nodes
    regina_directory()
    params = inbound("SM" + "1" * 32, "HELP S4P 3Y2")

    first = text(node_a, params)
    retry = text(node_b, params)

    assert retry.body == first.body
    (reply,) = messages_in(first)
    assert "Test Youth Line" in reply
    # Processed once: one message in the daily statistics and one against the sender's limit.
    assert messages_processed() == 1
    assert cache.get(f"sms:rate:{keyed_hash('sender:' + TEXTER)}") == 1
    # A new message is counted, on either node: the counting is live, the retry was not counted.
    text(node_b, inbound("SM" + "2" * 32, "HELP S4P 3Y2"))
    assert messages_processed() == 2
    assert cache.get(f"sms:rate:{keyed_hash('sender:' + TEXTER)}") == 2


def test_the_sms_per_sender_limit_holds_across_nodes(nodes) -> None:
    regina_directory()
    answers = [
        messages_in(text(nodes[number % 2], inbound(f"SM{number:032d}", "HELP S4P 3Y2")))
        for number in range(SMS_RATE_LIMIT + 2)
    ]

    assert all(len(reply) == 1 and "Test Youth Line" in reply[0] for reply in answers[:SMS_RATE_LIMIT])
    # The first message over the limit, wherever it lands, gets the polite notice once; then silence.
    assert answers[SMS_RATE_LIMIT] == [notice_reply("rate_limited", "en", emergency="911")]
    assert answers[SMS_RATE_LIMIT + 1] == []
    print(f"\nSMS limit {SMS_RATE_LIMIT}: replies alternating A/B were", [len(reply) for reply in answers])


def test_a_partner_keys_minute_quota_holds_across_nodes(nodes) -> None:
    for _attempt in range(3):
        _, key = PartnerKey.objects.create_key(name="Two nodes app", per_minute=PARTNER_PER_MINUTE, per_day=1000)
        started = time.time()
        answers = [
            call(nodes[number % 2], "GET", "/api/v1/topics/", headers={"Authorization": f"Api-Key {key}"})
            for number in range(PARTNER_PER_MINUTE + 2)
        ]
        # The quota counts clock minutes: a run that straddled one says nothing, and is made again with a new key.
        if int(started // 60) == int(time.time() // 60):
            break
    statuses = [answer.status for answer in answers]

    assert statuses == [200] * PARTNER_PER_MINUTE + [429, 429]
    for refused in answers[PARTNER_PER_MINUTE:]:
        assert refused.headers["retry-after"].isdigit()
        assert b'"limit":"key_per_minute"' in refused.body
    print(f"\npartner key {PARTNER_PER_MINUTE}/minute: statuses alternating A/B were {statuses}")


def listed(server: Server, path: str) -> list[int]:
    answer = call(server, "GET", path)
    assert answer.status == 200, answer
    return [result["id"] for result in json.loads(answer.body)["results"]]


def services_with_topic(server: Server) -> list[int]:
    return listed(server, "/api/v1/services/?country=CA&topic=sextortion&page_size=100")


def test_an_edit_approved_through_node_a_is_in_its_next_answer_and_soon_in_node_bs(nodes) -> None:
    node_a, node_b = nodes
    builders.topic("sextortion")
    listing = builders.service("Test Youth Line", country="CA", phone="+13065550101", org="Org A")
    builders.service("Test Sextortion Line", country="CA", phone="+13065550202", topics=("sextortion",))
    maintainer = {"Authorization": f"Token {builders.token_for(builders.maintainer('alice', 'Org A'))}"}
    moderator = {"Authorization": f"Token {builders.token_for(builders.moderator('mona'))}"}
    json_body = {"Content-Type": "application/json"}

    etag = call(node_a, "GET", f"/api/v1/services/{listing.pk}/").headers["etag"]
    proposed = call(
        node_a,
        "PATCH",
        f"/api/v1/services/{listing.pk}/",
        body=b'{"topics": ["sextortion"]}',
        headers={**maintainer, **json_body, "If-Match": etag},
    )
    assert proposed.status == 202, proposed
    # Unreviewed, the change is served by neither node.
    assert listing.pk not in services_with_topic(node_a)
    assert listing.pk not in services_with_topic(node_b)

    approved = call(
        node_a,
        "POST",
        f"/api/v1/proposals/{json.loads(proposed.body)['id']}/approve/",
        body=b'{"evidence_note": "Called the line"}',
        headers={**moderator, **json_body},
    )
    committed = time.monotonic()
    assert approved.status == 200, approved

    # Node A, which made the change: its next answers have it, whichever of its workers (each with its own
    # read model) gives them.
    assert all(listing.pk in services_with_topic(node_a) for _ in range(6))

    while listing.pk not in services_with_topic(node_b):
        assert time.monotonic() - committed < GIVE_UP_SECONDS, "node B never served the approved edit"
    delay = time.monotonic() - committed
    # Node B: each of its workers (each with its own read model, asking the database on its own clock) within
    # the time it answers without asking (READ_MODEL_CHECK_MS); past that, every answer has it.
    bound = settings.READ_MODEL_CHECK_MS / 1000 + BOUND_MARGIN_SECONDS
    assert delay < bound, f"node B took {delay:.2f} s"
    time.sleep(max(0.0, committed + bound - time.monotonic()))
    assert all(listing.pk in services_with_topic(node_b) for _ in range(6))
    print(f"\nnode B served the edit approved on node A {delay * 1000:.1f} ms after the approval's answer")
