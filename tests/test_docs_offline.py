"""The API docs and the admin work with DEBUG off and without internet: every asset is the app's own."""

import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

PAGES = ["/api/docs/", "/api/redoc/", "/admin/login/"]


def _assets(html: str) -> list[str]:
    return re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)


@pytest.mark.parametrize("page", PAGES)
def test_every_asset_of_the_page_is_served_by_the_app_itself(page):
    client = Client()
    response = client.get(page)
    assert response.status_code == 200
    assets = _assets(response.content.decode())
    assert assets
    for asset in assets:
        assert asset.startswith("/"), f"{page} loads {asset} from elsewhere"
        served = client.get(asset)
        assert served.status_code == 200, asset
        assert served.getvalue(), asset


@pytest.mark.parametrize("page", PAGES)
def test_the_page_has_no_inline_script_and_a_content_security_policy_allowing_only_its_own(page):
    response = Client().get(page)
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in policy
    inline = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", response.content.decode())
    assert inline == []


def test_swagger_ui_reads_its_settings_from_a_script_file_not_an_inline_one():
    response = Client().get("/api/docs/", {"script": ""})
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/javascript")
    assert b"/api/schema/" in response.content
