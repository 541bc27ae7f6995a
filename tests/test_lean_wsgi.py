"""The lean handler of the busiest anonymous reads answers exactly what the full application answers."""

import io
import json
import random
import sys
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.test import override_settings
from django.test.utils import override_script_prefix

from directory import lean_wsgi
from tests import builders
from tests.test_read_model_search import CENTRES, LANGUAGES, TOPICS, build_dataset
from tests.test_sms_webhook import build_listings, inbound_params, next_sid, signature_for

pytestmark = pytest.mark.django_db(transaction=True)


def environ(path: str, query: str, headers: dict[str, str], address: str = "127.0.0.1", prefix: str = "") -> dict:
    meta = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()}
    return {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": prefix,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "HTTP_HOST": "testserver",
        "REMOTE_ADDR": address,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        **meta,
    }


def call(
    app, path: str, query: str = "", headers: dict[str, str] | None = None, address: str = "127.0.0.1", prefix: str = ""
):
    seen: list = []
    asked = environ(path, query, headers or {}, address, prefix)
    body = b"".join(app(asked, lambda status, pairs, info=None: seen.append((status, pairs))))
    status, pairs = seen[0]
    found = {name: value for name, value in pairs}
    # django-csp writes its directives in an order of its own; what they say is compared.
    found["Content-Security-Policy"] = sorted(found.get("Content-Security-Policy", "").split("; "))
    return status, found, body


def rate(anon: str):
    return override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"anon": anon}})


@pytest.fixture
def apps(monkeypatch):
    answered: list[str] = []
    process_view = lean_wsgi.LeanReadMiddleware.process_view

    def spied(self, request, view, args, kwargs):
        response = process_view(self, request, view, args, kwargs)
        if response is not None:
            answered.append(request.get_full_path())
        return response

    monkeypatch.setattr(lean_wsgi.LeanReadMiddleware, "process_view", spied)
    # The routed application, as config.wsgi deploys it, against Django's own.
    return WSGIHandler(), lean_wsgi.routed(WSGIHandler()), answered


def requests(rng: random.Random, count: int) -> list[tuple[str, str, dict[str, str]]]:
    made = []
    for _ in range(count):
        lat, lon, country, _subdivision = rng.choice(CENTRES)
        headers = rng.choice([{}, {"Accept": "application/json"}, {"Accept-Language": "fr-CA,fr;q=0.8"}])
        if rng.random() < 0.5:
            params = {"lat": f"{lat + rng.uniform(-0.5, 0.5):.4f}", "lon": f"{lon + rng.uniform(-0.5, 0.5):.4f}"}
            params["country"] = country
            for name, values in (
                ("topic", TOPICS),
                ("language", LANGUAGES),
                ("limit", ("1", "5", "20")),
                ("open_now", ("true",)),
                ("lang", ("fr", "es")),
            ):
                if rng.random() < 0.3:
                    params[name] = rng.choice(values)
            made.append(("/api/v1/nearest/", urlencode(params), headers))
        else:
            params = {}
            for name, values in (
                ("country", ("CA", "GB", "AU")),
                ("topic", TOPICS),
                ("kind", ("helpline", "police")),
                ("language", LANGUAGES),
                ("verified", ("any", "false")),
                ("page_size", ("5", "50")),
                ("page", ("1", "2")),
            ):
                if rng.random() < 0.4:
                    params[name] = rng.choice(values)
            made.append(("/api/v1/services/", urlencode(params), headers))
    return made


# What the lean path leaves to the API view: each must still be answered as the full application does.
LEFT_TO_THE_VIEW = [
    ("/api/v1/nearest/", "lat=50.45&lon=-104.61&country=CA&lang=xx", {}),
    ("/api/v1/nearest/", "lat=50.45&lon=-104.61&country=CA&limit=0", {}),
    ("/api/v1/nearest/", "lat=50.45&lon=-104.61", {}),
    ("/api/v1/nearest/", "postcode=ZZ9&country=CA", {}),
    ("/api/v1/nearest/", "lat=50.45&lon=-104.61&country=CA&format=json", {}),
    ("/api/v1/nearest/", "lat=50.45&lon=-104.61&country=CA", {"Accept": "text/html"}),
    ("/api/v1/nearest/", "lat=50.45&lon=-104.61&country=CA", {"Accept": "application/json; q=0.9"}),
    ("/api/v1/services/", "page=999", {}),
    ("/api/v1/services/", "page=0", {}),
    ("/api/v1/services/", "page_size=500", {}),
    ("/api/v1/services/", "country=XX", {}),
    ("/api/v1/services/", "name=Example", {}),
    ("/api/v1/services/", "lang=xx", {}),
]


@pytest.mark.parametrize("seed", [3, 4])
def test_the_lean_handler_answers_byte_for_byte_what_the_full_application_answers(apps, seed):
    build_dataset(seed, 150)
    full, lean, answered = apps
    asked = requests(random.Random(seed), 60)
    with rate("100000/minute"):
        compare(full, lean, [*asked, *LEFT_TO_THE_VIEW])
    # The plain requests were the lean path's own (else this compared the full application with itself).
    assert len(answered) >= len(asked)
    assert not {f"{path}?{query}" for path, query, _ in LEFT_TO_THE_VIEW} & set(answered)


def compare(full, lean, asked) -> None:
    for path, query, headers in asked:
        expected = call(full, path, query, headers)
        assert call(lean, path, query, headers) == expected, (path, query, headers)
        if expected[0].startswith("200") and "ETag" in expected[1]:
            revalidated = {**headers, "If-None-Match": expected[1]["ETag"]}
            again = call(full, path, query, revalidated)
            assert again[0].startswith("304")
            assert call(lean, path, query, revalidated) == again


def test_only_anonymous_gets_of_the_two_reads_take_the_lean_path():
    base = environ("/api/v1/nearest/", "lat=1&lon=1&country=CA", {})
    assert lean_wsgi.takes(base)
    assert lean_wsgi.takes({**base, "PATH_INFO": "/api/v1/services/"})
    assert not lean_wsgi.takes({**base, "PATH_INFO": "/api/v1/services/1/"})
    assert not lean_wsgi.takes({**base, "REQUEST_METHOD": "HEAD"})
    assert not lean_wsgi.takes({**base, "REQUEST_METHOD": "POST"})
    assert not lean_wsgi.takes({**base, "HTTP_COOKIE": "sessionid=abc"})
    assert not lean_wsgi.takes({**base, "HTTP_AUTHORIZATION": "Api-Key abc.def"})
    assert lean_wsgi.takes({**base, "HTTP_ACCEPT": "application/json"})
    assert not lean_wsgi.takes({**base, "HTTP_ACCEPT": "text/html,application/xhtml+xml"})


def test_the_deployed_application_routes_through_the_lean_handler():
    from config.wsgi import application

    builders.service("Regina Example Line", country="CA", point=(50.45, -104.61))
    status, _headers, body = call(application, "/api/v1/nearest/", "lat=50.45&lon=-104.61&country=CA")
    assert status.startswith("200")
    assert b"Regina Example Line" in body


def test_the_anonymous_rate_counts_each_request_once_on_either_path(apps):
    builders.service("Regina Example Line", country="CA", point=(50.45, -104.61))
    full, lean, answered = apps
    plain = "lat=50.45&lon=-104.61&country=CA"
    with rate("3/minute"):
        for app, address in ((full, "192.0.2.1"), (lean, "192.0.2.2")):
            # A request the lean path counts, then leaves to the view (a 404), is not counted twice.
            statuses = [call(app, "/api/v1/services/", "page=999", address=address)[0][:3]]
            statuses += [call(app, "/api/v1/nearest/", plain, address=address)[0][:3] for _ in range(3)]
            assert statuses == ["404", "200", "200", "429"], app
        answers = [call(app, "/api/v1/nearest/", plain, address="192.0.2.3") for app in (full, lean, full, full, lean)]
    assert [status[:3] for status, _, _ in answers] == ["200", "200", "200", "429", "429"]
    (_, by_full, refusal), (_, by_lean, lean_refusal) = answers[3:]
    assert by_full.keys() == by_lean.keys()
    assert by_full["Vary"] == by_lean["Vary"]
    assert json.loads(refusal).keys() == json.loads(lean_refusal).keys()
    assert len(answered) == 2 + 1  # the lean path's own 200s (the 429s and the 404 are the view's)


def post(app, path: str, params: dict[str, str], headers: dict[str, str] | None = None):
    """POST a form as Twilio does (signed unless ``headers`` say otherwise); status, headers and body."""
    data = urlencode(params).encode()
    headers = {"X-Twilio-Signature": signature_for(f"http://testserver{path}", params), **(headers or {})}
    asked = {
        **environ(path, "", headers),
        "REQUEST_METHOD": "POST",
        "CONTENT_TYPE": "application/x-www-form-urlencoded",
        "CONTENT_LENGTH": str(len(data)),
        "wsgi.input": io.BytesIO(data),
    }
    seen: list = []
    body = b"".join(app(asked, lambda status, pairs, info=None: seen.append((status, pairs))))
    status, pairs = seen[0]
    found = {name: value for name, value in pairs}
    found["Content-Security-Policy"] = sorted(found.get("Content-Security-Policy", "").split("; "))
    return status, found, body


def test_twilios_webhooks_get_from_the_webhook_handler_what_the_full_application_answers(monkeypatch):
    build_listings()
    served: list[list[str]] = []
    handle = lean_wsgi.LeanHandler.__call__

    def spied(self, environ, start_response):
        served.append(self.chain(list(settings.MIDDLEWARE)))
        return handle(self, environ, start_response)

    monkeypatch.setattr(lean_wsgi.LeanHandler, "__call__", spied)
    full, lean = WSGIHandler(), lean_wsgi.routed(WSGIHandler())

    texts = ["HELP S4P 3Y2", "AIDE H2X 1Y4", "HELP", "STOP", "START", "MORE", "2", "", "x" * 2000]
    for number, text in enumerate(texts):
        # Two texters sending the same: one to each application (a texter's state changes with each text).
        expected = post(full, "/sms/inbound/", inbound_params(text, sender=f"+1306555{2 * number:04d}"))
        again = post(lean, "/sms/inbound/", inbound_params(text, sender=f"+1306555{2 * number + 1:04d}"))
        assert expected[0].startswith("200"), expected
        assert again == expected, text
    assert served == [lean_wsgi.webhook_middleware(list(settings.MIDDLEWARE))] * len(texts)
    assert "django.contrib.sessions.middleware.SessionMiddleware" not in served[0]
    unsigned = inbound_params("HELP S4P 3Y2")
    assert post(lean, "/sms/inbound/", unsigned, {"X-Twilio-Signature": "forged"}) == post(
        full, "/sms/inbound/", unsigned, {"X-Twilio-Signature": "forged"}
    )
    assert post(lean, "/sms/inbound/", unsigned, {"X-Twilio-Signature": "forged"})[0].startswith("403")
    delivered = {"MessageSid": next_sid(), "MessageStatus": "delivered"}
    assert post(lean, "/sms/status/", delivered) == post(full, "/sms/status/", delivered)
    assert post(lean, "/sms/status/", delivered)[0].startswith("204")


def test_only_cookieless_posts_to_the_two_webhooks_take_the_webhook_handler():
    base = {**environ("/sms/inbound/", "", {}), "REQUEST_METHOD": "POST"}
    assert lean_wsgi.takes_webhook(base)
    assert lean_wsgi.takes_webhook({**base, "PATH_INFO": "/sms/status/"})
    assert not lean_wsgi.takes_webhook({**base, "PATH_INFO": "/sms/simulator/"})
    assert not lean_wsgi.takes_webhook({**base, "REQUEST_METHOD": "GET"})
    assert not lean_wsgi.takes_webhook({**base, "HTTP_COOKIE": "sessionid=abc"})
    assert not lean_wsgi.takes_webhook({**base, "HTTP_AUTHORIZATION": "Basic abc"})
    assert not lean_wsgi.takes(base)


def test_listing_urls_follow_the_prefix_the_service_is_mounted_under(apps):
    # A deployment under a path (SCRIPT_NAME) gets its listings' addresses under that path, in turn, from
    # both handlers, with the API's headers.
    builders.postcodes("CA S4P")
    builders.service("Regina Example Police", kind="police", country="CA", point=(50.448, -104.6054))
    with override_script_prefix("/"):  # each request sets its own: the next test gets this one back
        for app in apps[:2]:
            for prefix in ("", "/help", "/other/help", ""):
                for path, query in (("/api/v1/nearest/", "postcode=S4P3Y2"), ("/api/v1/services/", "")):
                    status, headers, body = call(app, path, query, prefix=prefix)
                    assert status == "200 OK"
                    assert "Cache-Control" in headers
                    first = json.loads(body)["results"][0]
                    assert first["url"] == f"http://testserver{prefix}/api/v1/services/{first['id']}/"


def test_an_api_address_no_route_serves_is_a_json_404_under_a_prefix_too(apps):
    with override_script_prefix("/"):
        for prefix in ("", "/help"):
            status, _headers, body = call(apps[1], "/api/v1/no-such-thing/", prefix=prefix)
            assert status == "404 Not Found"
            assert json.loads(body) == {"detail": "Not found."}
