"""django-csp's middleware with the settings' own policy built once per process.

django-csp builds the ``Content-Security-Policy`` header afresh for every answer (copying and joining each
directive, twice: the policy and the report-only one), about a fifth of a millisecond. For an answer that
changes nothing in it (no nonce asked for, no ``@csp_update``, ``@csp_replace`` or ``@csp`` on the view)
the header is the settings' policy, the same every time: it is built once, and again when the settings
change. Anything else goes to django-csp unchanged.
"""

from functools import cache
from typing import Any

from csp import middleware
from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.utils import build_policy
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest
from django.http.response import HttpResponseBase

_SETTINGS = {False: "CONTENT_SECURITY_POLICY", True: "CONTENT_SECURITY_POLICY_REPORT_ONLY"}
_HEADERS = {False: HEADER, True: HEADER_REPORT_ONLY}
_EXEMPT = {False: "_csp_exempt", True: "_csp_exempt_ro"}


@cache
def settings_policy(report_only: bool) -> str:
    """The header django-csp builds from the settings alone (empty: no such policy)."""
    return build_policy(report_only=report_only)


@receiver(setting_changed)
def _forget_policy(*, setting: str, **kwargs: Any) -> None:
    if setting in _SETTINGS.values():
        settings_policy.cache_clear()


class CSPMiddleware(middleware.CSPMiddleware):
    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        parts = [self.get_policy_parts(request, response, report_only) for report_only in (False, True)]
        if any(value is not None for part in parts for value in vars(part).values()):
            return super().process_response(request, response)
        if response.status_code in (500, 404) and settings.DEBUG:  # django-csp leaves the debug pages alone
            return response
        for report_only in (False, True):
            policy = settings_policy(report_only)
            if not policy or getattr(response, _EXEMPT[report_only], False) or _HEADERS[report_only] in response:
                continue
            excluded = (getattr(settings, _SETTINGS[report_only], None) or {}).get("EXCLUDE_URL_PREFIXES") or ()
            if not request.path_info.startswith(tuple(excluded)):
                response[_HEADERS[report_only]] = policy
        # As django-csp does: a nonce asked for after the header is written is an error, not a silent gap.
        request.csp_nonce = middleware.CheckableLazyObject(self._csp_nonce_post_response)  # type: ignore[attr-defined]
        return response
