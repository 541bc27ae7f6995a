"""Everything that knows about Twilio: request signatures and TwiML."""

from django.conf import settings
from django.http import HttpRequest
from twilio.request_validator import RequestValidator, get_signature_algorithm
from twilio.twiml.messaging_response import MessagingResponse


def public_url(request: HttpRequest) -> str:
    """Return the URL Twilio called, which is what it signed.

    Behind a TLS-terminating proxy the request reaches Django as plain HTTP on an inner host, so the
    configured public base URL wins; otherwise Django rebuilds it (honouring SECURE_PROXY_SSL_HEADER
    and USE_X_FORWARDED_HOST).
    """
    base = settings.SMS_PUBLIC_BASE_URL.rstrip("/")
    return base + request.get_full_path() if base else request.build_absolute_uri()


def is_signed_by_twilio(request: HttpRequest) -> bool:
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature or not settings.TWILIO_AUTH_TOKEN:
        return False
    algorithm = get_signature_algorithm(request.headers.get("X-Twilio-Webhooks-Signature-Settings"))
    validator = RequestValidator(settings.TWILIO_AUTH_TOKEN)
    return bool(validator.validate(public_url(request), request.POST, signature, algorithm))


def twiml(text: str) -> str:
    """Wrap a reply in TwiML; an empty text gives an empty <Response/>, so nothing is sent."""
    response = MessagingResponse()
    if text:
        response.message(text)
    return str(response.to_xml())
