"""What a locked-out sign-in gets, on the API and in the admin: a 429 that says when to try again."""

from typing import Any

from axes.helpers import get_cool_off
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.html import escape


def lockout_response(request: HttpRequest, original_response: Any = None, credentials: Any = None) -> HttpResponse:
    cool_off = get_cool_off(request)
    seconds = int(cool_off.total_seconds()) if cool_off else 900
    message = (
        f"Too many failed sign-ins for this account or from this address. Try again in {max(seconds // 60, 1)} minutes."
    )
    response: HttpResponse
    if request.path.startswith("/api/"):
        # The body every 429 of the API has: which limit, how much it allows, when to come back.
        body = {
            "detail": message,
            "limit": "failed_sign_ins",
            "allowed": settings.AXES_FAILURE_LIMIT,
            "window": f"{max(seconds // 60, 1)} minutes",
            "retry_after": seconds,
        }
        response = JsonResponse(body, status=429)
    else:
        response = HttpResponse(f"<!doctype html><title>Sign-in locked</title><p>{escape(message)}</p>", status=429)
    response["Retry-After"] = str(seconds)
    return response
