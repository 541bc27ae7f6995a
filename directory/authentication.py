"""Partner API keys: ``Authorization: Api-Key <key>``, looked up by prefix and checked against the stored hash.

The key row is read on every request, so a key a moderator revokes, or one past its expiry, is refused at
once on every app node.
"""

from typing import Any, cast

from django.contrib.auth.models import AnonymousUser
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from directory.models import PartnerKey

KEYWORD = "Api-Key"


def partner_key_from_header(authorization: str) -> str | None:
    """The key in an ``Api-Key <key>`` header value, ``""`` when the keyword has no key, None for other schemes."""
    keyword, _, key = authorization.strip().partition(" ")
    if keyword.lower() != KEYWORD.lower():
        return None
    return key.strip()


class PartnerKeyAuthentication(BaseAuthentication):
    """Authenticate a partner app by its key: the request stays anonymous, ``request.auth`` is the key."""

    def authenticate(self, request: Request) -> tuple[Any, PartnerKey] | None:
        key = partner_key_from_header(request.META.get("HTTP_AUTHORIZATION", ""))
        if key is None:
            return None
        if not key:
            raise AuthenticationFailed("The Api-Key header has no key: send 'Authorization: Api-Key <key>'.")
        try:
            partner = cast(PartnerKey, PartnerKey.objects.get_from_key(key))
        except PartnerKey.DoesNotExist:
            raise AuthenticationFailed("Unknown or revoked API key.") from None
        if partner.has_expired:
            raise AuthenticationFailed("This API key has expired.")
        return AnonymousUser(), partner

    def authenticate_header(self, request: Request) -> str:
        return KEYWORD
