"""The benchmark's workloads and the request files wrk replays for them.

A request file has one request per line: ``METHOD<TAB>PATH<TAB>SIGNATURE<TAB>BODY`` (see requests.lua).
SMS requests are signed exactly as Twilio signs them, for the URL gunicorn sees, each with its own
MessageSid so the gateway never answers from its retry cache.
"""

import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

from bench.generator import KIND_SHARES, LANGUAGE_CODES, TOPIC_SLUGS, Atlas, fictional_phone
from bench.server import HOST


@dataclass(frozen=True)
class Workload:
    name: str
    app: str
    request: str


HELLO = Workload("hello", "hello", "GET / on bench/hello_wsgi.py (bare WSGI reference)")
HEALTHZ = Workload("healthz", "project", "GET /healthz/ (Django JSON view, no database)")
NEAREST = Workload("nearest", "project", "GET /api/v1/nearest/?postcode=…&country=…&topic=…")
SERVICES = Workload("services", "project", "GET /api/v1/services/?country=…&topic=…&kind=…&language=… (random)")
SMS = Workload("sms", "project", "POST /sms/inbound/ signed, random keyword + postcode")
# The peer (bench/peer.py): a textbook DRF implementation of the same requests, on a server of its own with
# the same settings.
PEER_NEAREST = Workload(
    "peer_nearest", "peer", "GET /peer/nearest/?… (textbook DRF: bbox + haversine, ModelSerializer)"
)
PEER_SERVICES = Workload(
    "peer_services", "peer", "GET /peer/services/?… (textbook DRF: django-filter, PageNumberPagination)"
)
PEER_SMS = Workload("peer_sms", "peer", "POST /peer/sms/inbound/ (textbook Twilio webhook over the peer's nearest)")
WORKLOADS = {
    workload.name: workload
    for workload in (HELLO, HEALTHZ, NEAREST, PEER_NEAREST, SERVICES, PEER_SERVICES, SMS, PEER_SMS)
}
# Each workload that has a peer, with it.
PEERS = {"nearest": "peer_nearest", "services": "peer_services", "sms": "peer_sms"}

SMS_PATH = "/sms/inbound/"
PEER_SMS_PATH = "/peer/sms/inbound/"
# Countries whose senders can get numbers from a range reserved for fiction.
SMS_COUNTRIES = ("US", "CA", "GB", "AU")
SMS_TO = {"US": "+12125550100", "CA": "+14165550100", "GB": "+447700900000", "AU": "+61491570006"}
ACCOUNT_SID = "AC" + "be0c" * 8
GENERIC_KEYWORDS = ("HELP", "AIDE", "AYUDA")
SMS_TEMPLATES = (
    "{keyword} {postcode}",
    "{postcode} {keyword}",
    "{keyword_lower} {postcode_lower}",
    "{keyword}, {postcode}!",
    "help me pls my postcode is {postcode_lower}",
)


def sms_keywords(topics_file: Path) -> tuple[str, ...]:
    """Return the generic keywords plus every topic keyword in the project's topic fixture."""
    keywords = list(GENERIC_KEYWORDS)
    if topics_file.exists():
        for topic in json.loads(topics_file.read_text(encoding="utf-8")):
            for words in topic.get("keywords", {}).values():
                keywords.extend(word for word in words if word not in keywords)
    return tuple(keywords)


def _line(method: str, path: str, signature: str = "", body: str = "") -> str:
    return f"{method}\t{path}\t{signature}\t{body}"


def nearest_lines(rng: random.Random, atlas: Atlas, count: int, path: str = "/api/v1/nearest/") -> list[str]:
    lines = []
    for _ in range(count):
        place = atlas.pick(rng)
        query = urlencode({"postcode": place.postcode, "country": place.country, "topic": rng.choice(TOPIC_SLUGS)})
        lines.append(_line("GET", f"{path}?{query}"))
    return lines


def services_lines(rng: random.Random, atlas: Atlas, count: int, path: str = "/api/v1/services/") -> list[str]:
    lines = []
    for _ in range(count):
        filters: dict[str, str] = {}
        if rng.random() < 0.8:
            filters["country"] = atlas.pick(rng).country
        if rng.random() < 0.7:
            filters["topic"] = rng.choice(TOPIC_SLUGS)
        if rng.random() < 0.6 or not filters:
            filters["kind"] = rng.choice(tuple(KIND_SHARES))
        if rng.random() < 0.3:
            filters["language"] = rng.choice(LANGUAGE_CODES[:3])
        lines.append(_line("GET", f"{path}?{urlencode(filters)}"))
    return lines


def sms_body(rng: random.Random, keyword: str, postcode: str) -> str:
    template = rng.choice(SMS_TEMPLATES)
    return template.format(
        keyword=keyword,
        keyword_lower=keyword.lower(),
        postcode=postcode,
        postcode_lower=postcode.lower(),
    )


def sms_lines(
    rng: random.Random,
    atlas: Atlas,
    count: int,
    *,
    port: int,
    auth_token: str,
    keywords: Sequence[str],
    sid_prefix: int,
    path: str = SMS_PATH,
) -> list[str]:
    """Build ``count`` signed webhook posts; MessageSids are unique for a given ``sid_prefix`` (32 bits)."""
    validator = RequestValidator(auth_token)
    url = f"http://{HOST}:{port}{path}"
    countries = [country for country in SMS_COUNTRIES if country in atlas.centroids]
    lines = []
    for index in range(count):
        country = rng.choice(countries)
        place = atlas.pick_in(rng, country)
        sid = f"SM{sid_prefix:08x}{index:024x}"
        params = {
            "ToCountry": country,
            "SmsMessageSid": sid,
            "NumMedia": "0",
            "SmsSid": sid,
            "SmsStatus": "received",
            "Body": sms_body(rng, rng.choice(keywords), place.postcode),
            "FromCountry": country,
            "To": SMS_TO[country],
            "NumSegments": "1",
            "MessageSid": sid,
            "AccountSid": ACCOUNT_SID,
            "From": fictional_phone(rng, country)[0],
            "ApiVersion": "2010-04-01",
        }
        lines.append(_line("POST", path, validator.compute_signature(url, params), urlencode(params)))
    return lines


def write_lines(path: Path, lines: Iterable[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for line in lines:
            handle.write(line + "\n")
    return path
