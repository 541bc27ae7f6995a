"""config/csp.py gives every answer the header django-csp's own middleware gives it."""

import pytest
from csp.constants import NONCE
from csp.decorators import csp_exempt, csp_replace, csp_update
from csp.middleware import CSPMiddleware as LibraryMiddleware
from csp.utils import build_policy
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory, override_settings

from config.csp import CSPMiddleware

POLICY = "Content-Security-Policy"
REPORT_ONLY = "Content-Security-Policy-Report-Only"


def _view(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


def _nonce_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse(f"<script nonce='{request.csp_nonce}'></script>")  # type: ignore[attr-defined]


VIEWS = {
    "plain": _view,
    "nonce": _nonce_view,
    "update": csp_update({"img-src": ["https://maps.example.org"]})(_view),
    "replace": csp_replace({"script-src": ["'self'", "https://cdn.example.org"]})(_view),
    "exempt": csp_exempt()(_view),
}


def _headers(middleware_class: type, view, path: str = "/api/v1/services/") -> dict[str, list[str]]:
    request = RequestFactory().get(path)
    response = middleware_class(view)(request)
    # django-csp writes its directives in an order of its own (a set's); what they say is compared.
    return {name: sorted(response.headers[name].split("; ")) for name in (POLICY, REPORT_ONLY) if name in response}


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_each_answer_gets_the_header_django_csp_gives_it(name):
    assert _headers(CSPMiddleware, VIEWS[name]) == _headers(LibraryMiddleware, VIEWS[name])


def test_a_plain_answer_has_the_settings_policy():
    found = _headers(CSPMiddleware, _view)
    assert "script-src 'self'" in found[POLICY]
    assert "frame-ancestors 'none'" in found[POLICY]
    assert REPORT_ONLY not in found


@override_settings(CONTENT_SECURITY_POLICY={"DIRECTIVES": {"script-src": ["'self'", NONCE]}})
def test_a_nonce_asked_for_is_in_the_header_where_the_policy_takes_one():
    request = RequestFactory().get("/")
    response = CSPMiddleware(_nonce_view)(request)
    assert isinstance(response, HttpResponse)
    nonce = str(request._csp_nonce)  # type: ignore[attr-defined]
    assert f"script-src 'self' 'nonce-{nonce}'" in response.headers[POLICY].split("; ")
    assert "script-src 'self'" in _headers(CSPMiddleware, _view)[POLICY]  # no nonce asked for, none given


def test_changed_settings_change_the_header_at_once():
    policy = {"DIRECTIVES": {"default-src": ["'none'"]}}
    report_only = {"DIRECTIVES": {"default-src": ["'self'"]}, "EXCLUDE_URL_PREFIXES": ["/private/"]}
    with override_settings(CONTENT_SECURITY_POLICY=policy, CONTENT_SECURITY_POLICY_REPORT_ONLY=report_only):
        assert _headers(CSPMiddleware, _view) == {POLICY: ["default-src 'none'"], REPORT_ONLY: ["default-src 'self'"]}
        assert _headers(CSPMiddleware, _view, "/private/page") == {POLICY: ["default-src 'none'"]}
        assert _headers(CSPMiddleware, _view, "/private/page") == _headers(LibraryMiddleware, _view, "/private/page")
    assert "script-src 'self'" in _headers(CSPMiddleware, _view)[POLICY]


def test_a_header_the_view_wrote_is_kept():
    def written(request: HttpRequest) -> HttpResponse:
        response = HttpResponse("ok")
        response[POLICY] = "default-src 'none'"
        return response

    assert _headers(CSPMiddleware, written) == {POLICY: ["default-src 'none'"]}


def test_a_nonce_asked_for_after_the_header_is_written_is_an_error():
    from csp.exceptions import CSPNonceError

    request = RequestFactory().get("/")
    CSPMiddleware(_view)(request)
    with pytest.raises(CSPNonceError):
        str(request.csp_nonce)  # type: ignore[attr-defined]


def test_the_project_answers_through_it():
    from django.conf import settings

    assert "config.csp.CSPMiddleware" in settings.MIDDLEWARE
    assert "csp.middleware.CSPMiddleware" not in settings.MIDDLEWARE


def test_the_settings_policy_is_built_once_for_many_answers(monkeypatch):
    import config.csp

    calls = []

    def counted(**kwargs):
        calls.append(kwargs)
        return build_policy(**kwargs)

    monkeypatch.setattr(config.csp, "build_policy", counted)
    config.csp.settings_policy.cache_clear()
    try:
        for _ in range(3):
            assert "script-src 'self'" in _headers(CSPMiddleware, _view)[POLICY]
        assert calls == [{"report_only": False}, {"report_only": True}]
    finally:
        config.csp.settings_policy.cache_clear()
