"""Choose the language of an API answer: ``?lang=`` first, then Accept-Language, then English."""

from django.utils.translation.trans_real import parse_accept_lang_header
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

from directory.search import SUPPORTED_LANGUAGES


def request_language(request: Request) -> str:
    asked = request.query_params.get("lang")
    if asked is not None:
        code = asked.strip().lower()
        if code not in SUPPORTED_LANGUAGES:
            raise ValidationError({"lang": [f"Must be one of: {', '.join(SUPPORTED_LANGUAGES)}."]})
        return code
    header = request.headers.get("Accept-Language", "")
    for tag, _quality in parse_accept_lang_header(header[:255]):
        code = tag.split("-")[0].lower()
        if code in SUPPORTED_LANGUAGES:
            return code
    return "en"
