"""HTTP caching of reads: ETag and Last-Modified, 304s, and headers that let a CDN cache public reads safely."""

import io
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils.http import http_date
from rest_framework.test import APIClient

from directory.http_caching import ReadCachingMiddleware
from directory.models import ContactChannel, Organization, Service
from tests import builders
from tests.openapi_client import ValidatingAPIClient

pytestmark = pytest.mark.django_db

SERVICES = "/api/v1/services/"


@pytest.fixture
def listing() -> Service:
    return builders.service("Kids Line Example", country="CA", phone="+13065550101", always_open=True)


@pytest.fixture
def api() -> APIClient:
    return ValidatingAPIClient()


def detail(listing: Service) -> str:
    return f"{SERVICES}{listing.pk}/"


def test_a_list_and_a_detail_carry_an_etag_and_the_newest_change_as_last_modified(api, listing):
    newest = datetime(2026, 11, 20, 12, 0, 5, tzinfo=UTC)
    Service.objects.filter(pk=listing.pk).update(updated_at=newest)
    Organization.objects.update(updated_at=newest - timedelta(days=3))
    for url in (SERVICES, detail(listing), "/api/v1/organizations/", "/api/v1/topics/", "/api/v1/nearest/?country=CA"):
        response = api.get(url)
        assert response.status_code == 200, url
        assert response["ETag"].startswith('"'), url
        assert response["Last-Modified"] == "Fri, 20 Nov 2026 12:00:05 GMT", url


def test_an_unchanged_read_answers_304_with_no_body(api, listing):
    for url in (SERVICES, detail(listing)):
        etag = api.get(url)["ETag"]
        response = api.get(url, HTTP_IF_NONE_MATCH=etag)
        assert response.status_code == 304, url
        assert response.content == b""
        assert response["ETag"] == etag
        assert "public" in response["Cache-Control"]


def test_a_head_request_gets_the_same_304(api, listing):
    etag = api.get(SERVICES)["ETag"]
    assert api.head(SERVICES, HTTP_IF_NONE_MATCH=etag).status_code == 304


def test_after_an_edit_the_old_etag_gets_the_new_listing(api, listing):
    old = {url: api.get(url)["ETag"] for url in (SERVICES, detail(listing))}
    listing.name = "Kids Line Example (renamed)"
    listing.save()
    for url, etag in old.items():
        response = api.get(url, HTTP_IF_NONE_MATCH=etag)
        assert response.status_code == 200, url
        assert response["ETag"] != etag
        assert "renamed" in response.content.decode()


def test_editing_a_nested_channel_changes_the_etag_of_the_list_and_the_detail(api, listing):
    old = {url: api.get(url)["ETag"] for url in (SERVICES, detail(listing))}
    ContactChannel.objects.filter(service=listing).update(value="+13065550109")
    for url, etag in old.items():
        assert api.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 200, url


def test_if_modified_since_gets_304_until_a_listing_changes(api, listing):
    last_modified = api.get(SERVICES)["Last-Modified"]
    assert api.get(SERVICES, HTTP_IF_MODIFIED_SINCE=last_modified).status_code == 304
    Service.objects.filter(pk=listing.pk).update(updated_at=listing.updated_at + timedelta(seconds=2))
    assert api.get(SERVICES, HTTP_IF_MODIFIED_SINCE=last_modified).status_code == 200


def test_archiving_a_listing_makes_the_list_modified_even_though_it_no_longer_shows_it(api, listing):
    builders.service("Another Example Line", country="CA")
    yesterday = listing.updated_at - timedelta(days=1)
    Service.objects.update(updated_at=yesterday)
    Organization.objects.update(updated_at=yesterday)
    last_modified = api.get(SERVICES)["Last-Modified"]
    listing.archived_at = listing.updated_at
    listing.save()
    response = api.get(SERVICES, HTTP_IF_MODIFIED_SINCE=last_modified)
    assert response.status_code == 200
    assert [row["name"] for row in response.json()["results"]] == ["Another Example Line"]


def test_public_reads_are_shareable_by_a_cdn_and_vary_on_language_and_authorization(api, listing):
    response = api.get(SERVICES)
    assert response["Cache-Control"] == "public, max-age=60"
    vary = {part.strip() for part in response["Vary"].split(",")}
    assert {"Accept-Language", "Authorization"} <= vary


def test_an_answer_in_another_language_has_another_etag(api, listing):
    Service.objects.filter(pk=listing.pk).update(translations={"fr": {"name": "Ligne Jeunes Exemple"}})
    english = api.get(detail(listing))["ETag"]
    french = api.get(detail(listing), HTTP_ACCEPT_LANGUAGE="fr")
    assert french["ETag"] != english
    assert api.get(detail(listing), HTTP_ACCEPT_LANGUAGE="fr", HTTP_IF_NONE_MATCH=english).status_code == 200


def test_a_partner_key_s_reads_are_private_to_it_and_still_answer_304(api, listing):
    out = io.StringIO()
    call_command("partner_key", "create", "Safe Schools app", stdout=out)
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {out.getvalue().strip().splitlines()[-1]}")
    response = api.get(SERVICES)
    assert response["Cache-Control"] == "private, max-age=60"
    assert api.get(SERVICES, HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 304


def test_a_signed_in_user_s_reads_are_never_stored_nor_answered_304(api, listing):
    etag = api.get(SERVICES)["ETag"]
    api.force_login(User.objects.create_user("maintainer"))
    response = api.get(SERVICES, HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    assert "ETag" not in response


def test_a_request_with_a_user_token_is_never_cached(api, listing):
    etag = api.get(SERVICES)["ETag"]
    token = builders.token_for(builders.maintainer("alice"))
    response = api.get(SERVICES, HTTP_IF_NONE_MATCH=etag, HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"


def test_writes_and_errors_are_never_cached(api, listing):
    write = api.post(SERVICES, {"name": "x"}, format="json")
    assert write.status_code == 401
    assert write["Cache-Control"] == "private, no-store"
    missing = api.get(f"{SERVICES}999999/")
    assert missing.status_code == 404
    assert missing["Cache-Control"] == "private, no-store"
    assert "ETag" not in missing


def test_the_sms_webhook_is_never_cached(api):
    response = api.post("/sms/inbound/", {"Body": "HELP", "From": "+13065550123"})
    assert response.status_code == 403
    assert "ETag" not in response
    assert "public" not in response.get("Cache-Control", "")


def test_an_etag_the_view_set_is_kept_and_used_for_304():
    def view_with_its_own_etag(request):
        response = HttpResponse(b'{"id": 1}', content_type="application/json")
        response["ETag"] = '"version-7"'
        response["Last-Modified"] = http_date(1_700_000_000)
        return response

    middleware = ReadCachingMiddleware(view_with_its_own_etag)
    factory = RequestFactory()
    fresh = middleware(factory.get(SERVICES))
    assert fresh["ETag"] == '"version-7"'
    assert fresh["Last-Modified"] == http_date(1_700_000_000)
    assert middleware(factory.get(SERVICES, HTTP_IF_NONE_MATCH='"version-7"')).status_code == 304
    assert middleware(factory.get(SERVICES, HTTP_IF_NONE_MATCH='"version-6"')).status_code == 200


def test_paths_outside_the_api_are_left_alone():
    middleware = ReadCachingMiddleware(lambda request: HttpResponse(b"ok"))
    response = middleware(RequestFactory().get("/healthz/"))
    assert "ETag" not in response
    assert "Cache-Control" not in response
