"""Turn an SMS into an intent: what the texter asks for, where, and in which language (pure)."""

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

import phonenumbers

from directory.geocoding import find_postcode_in_text

# Twilio accepts up to 1,600 characters; anything past that is not a real text message.
MAX_BODY_LENGTH = 1600
# A topic keyword may be a short phrase ("REVENGE PORN"); longer ones are not looked up.
MAX_KEYWORD_WORDS = 3

# Folded keyword phrase -> (topic slug, language); language is "" when the phrase is used by several.
KeywordTable = Mapping[str, tuple[str, str]]


class Action(StrEnum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"
    SEARCH = "search"
    MORE = "more"
    DETAIL = "detail"
    LANGUAGE = "language"


@dataclass(frozen=True)
class Intent:
    action: Action
    # Chosen by a word of the message; None keeps the conversation's language.
    language: str | None = None
    # The recognised command or topic word, as written in our tables (for statistics).
    keyword: str = ""
    topic: str = ""
    country: str = ""
    postcode: str = ""
    danger: bool = False
    number: int | None = None


# Carrier keywords: honoured only as the whole message.
OPT_OUT_WORDS = {
    "STOP": None,
    "STOPALL": None,
    "UNSUBSCRIBE": None,
    "CANCEL": None,
    "END": None,
    "QUIT": None,
    "REVOKE": None,
    "OPTOUT": None,
    "ARRET": "fr",
    "STOPP": "de",
}
OPT_IN_WORDS = {"START": None, "UNSTOP": None, "YES": None}
CARRIER_HELP_WORDS = {"HELP": "en", "INFO": None, "AIDE": "fr", "AYUDA": "es", "HILFE": "de"}

# Words that ask for help in a language, anywhere in a message.
HELP_WORDS = {
    "HELP": "en",
    "AIDE": "fr",
    "AIDEZ": "fr",
    "AIDER": "fr",
    "SECOURS": "fr",
    "AYUDA": "es",
    "AYUDAME": "es",
    "AYUDENME": "es",
    "SOCORRO": "es",
    "HILFE": "de",
    "HELFT": "de",
    "HELFEN": "de",
}
MORE_WORDS = {"MORE": "en", "NEXT": "en", "PLUS": "fr", "SUITE": "fr", "MAS": "es", "MEHR": "de", "WEITER": "de"}
LANGUAGE_WORDS = {
    "ENGLISH": "en",
    "ANGLAIS": "en",
    "INGLES": "en",
    "FRANCAIS": "fr",
    "FRENCH": "fr",
    "FRANCES": "fr",
    "ESPANOL": "es",
    "SPANISH": "es",
    "ESPAGNOL": "es",
    "DEUTSCH": "de",
    "GERMAN": "de",
    "ALLEMAND": "de",
    "ALEMAN": "de",
}

# Words and phrases that suggest someone is in danger now; matched as whole words.
_DANGER_BY_LANGUAGE = {
    "en": (
        "DANGER IN DANGER SUICIDE SUICIDAL UNSAFE HURT HURTING EMERGENCY",
        "KILL MYSELF|KILLING MYSELF|END MY LIFE|WANT TO DIE|HURT MYSELF|SELF HARM|NOT SAFE|THREATENING TO KILL",
    ),
    "fr": (
        "DANGER SUICIDE SUICIDAIRE BLESSE BLESSEE URGENCE",
        "EN DANGER|ME TUER|ME SUICIDER|ENVIE DE MOURIR|VEUX MOURIR|ME FAIRE DU MAL",
    ),
    "es": (
        "PELIGRO SUICIDIO SUICIDARME MATARME HERIDO HERIDA URGENCIA EMERGENCIA",
        "EN PELIGRO|QUIERO MORIR|HACERME DANO",
    ),
    "de": (
        "GEFAHR SUIZID SELBSTMORD VERLETZT NOTFALL",
        "IN GEFAHR|MICH UMBRINGEN|WILL STERBEN|MICH VERLETZEN|MIR ETWAS ANTUN|NICHT SICHER",
    ),
}


def _danger_phrases() -> dict[str, str]:
    phrases: dict[str, str] = {}
    for language, (single, multiple) in _DANGER_BY_LANGUAGE.items():
        for phrase in [*single.split(), *multiple.split("|")]:
            # A phrase of several languages ("DANGER") says nothing about the language.
            phrases[phrase] = language if phrases.get(phrase, language) == language else ""
    return phrases


# Words and phrases that suggest someone is in danger now (matched as whole words), with their language.
DANGER_PHRASES = _danger_phrases()
_MAX_DANGER_WORDS = max(len(phrase.split()) for phrase in DANGER_PHRASES)

# Endings a keyword may carry and still count ("BLACKMAILED", "VICTIMES", "DENUNCIAS").
INFLECTIONS = ("ING", "ES", "ED", "S", "D")

# A result number is one or two digits; longer numbers are postcodes.
_RESULT_NUMBER = re.compile(r"[0-9]{1,2}")

_FRENCH_COUNTRIES = frozenset({"FR", "MC"})
_GERMAN_COUNTRIES = frozenset({"DE", "AT", "LI"})
_SPANISH_COUNTRIES = frozenset(
    {"ES", "MX", "AR", "CO", "CL", "PE", "VE", "EC", "GT", "CU", "BO", "DO", "HN", "PY", "SV", "NI", "CR", "PA", "UY"}
)


def fold(text: str) -> str:
    """Upper-case ``text`` and strip accents: "Policía" -> "POLICIA"."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char)).upper()


def words(text: str) -> list[str]:
    return re.findall(r"[^\W_]+", fold(text))


def build_keyword_table(topics: Iterable[tuple[str, Mapping[str, Iterable[str]]]]) -> dict[str, tuple[str, str]]:
    """Build the keyword table from (topic slug, {language: [keyword, ...]}) pairs; the first topic wins a word."""
    table: dict[str, tuple[str, str]] = {}
    for slug, keywords in topics:
        for language, phrases in keywords.items():
            for phrase in phrases:
                key = " ".join(words(str(phrase)))
                if not key:
                    continue
                known = table.get(key)
                if known is None:
                    table[key] = (slug, language)
                elif known[0] == slug and known[1] != language:
                    table[key] = (slug, "")
    return table


def normalize_number(raw: str) -> str:
    """Return the sender's number in E.164 when it parses, else the stripped raw address."""
    address = raw.strip().removeprefix("whatsapp:").removeprefix("sms:").strip()
    try:
        number = phonenumbers.parse(address, None)
    except phonenumbers.NumberParseException:
        return address
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def country_for_number(number: str) -> str:
    """Return the ISO country of an E.164 number ("" when unknown); +1 is told apart by area code."""
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return ""
    region = phonenumbers.region_code_for_number(parsed)
    if not region and parsed.country_code:
        # Numbers outside every allocated range (like the UK's drama numbers) still carry a country code.
        region = phonenumbers.region_code_for_country_code(parsed.country_code)
    return "" if region in (None, "ZZ", "001") else region


def default_language(country: str) -> str:
    if country in _FRENCH_COUNTRIES:
        return "fr"
    if country in _SPANISH_COUNTRIES:
        return "es"
    if country in _GERMAN_COUNTRIES:
        return "de"
    return "en"


def _single_word_intent(word: str) -> Intent | None:
    if word in OPT_OUT_WORDS:
        return Intent(Action.OPT_OUT, language=OPT_OUT_WORDS[word], keyword=word)
    if word in OPT_IN_WORDS:
        return Intent(Action.OPT_IN, language=OPT_IN_WORDS[word], keyword=word)
    if word in CARRIER_HELP_WORDS:
        return Intent(Action.HELP, language=CARRIER_HELP_WORDS[word], keyword=word)
    if word in MORE_WORDS:
        return Intent(Action.MORE, keyword="MORE")
    if word in LANGUAGE_WORDS:
        return Intent(Action.LANGUAGE, language=LANGUAGE_WORDS[word], keyword="LANGUAGE")
    if _RESULT_NUMBER.fullmatch(word) and int(word) > 0:
        return Intent(Action.DETAIL, keyword="DETAIL", number=int(word))
    return None


def _phrases(tokens: list[str], longest: int) -> Iterable[str]:
    for size in range(longest, 0, -1):
        for start in range(len(tokens) - size + 1):
            yield " ".join(tokens[start : start + size])


def _keyword_for(phrase: str, keywords: KeywordTable) -> str:
    """Return the table phrase ``phrase`` stands for, allowing a plural or past-tense ending."""
    if phrase in keywords:
        return phrase
    if " " not in phrase:
        for ending in INFLECTIONS:
            stem = phrase.removesuffix(ending)
            if stem != phrase and len(stem) >= 4 and stem in keywords:
                return stem
    return ""


def _find_topic(tokens: list[str], keywords: KeywordTable) -> tuple[str, str, str]:
    """Return (keyword, topic slug, language) for the message: the earliest topic in the table wins.

    The language is the keyword's own, or else that of another keyword in the message that belongs
    to one language only ("POLICIA SEXTORSION" is Spanish).
    """
    found = [keyword for phrase in _phrases(tokens, MAX_KEYWORD_WORDS) if (keyword := _keyword_for(phrase, keywords))]
    if not found:
        return "", "", ""
    topic_order = {slug: rank for rank, slug in enumerate(dict.fromkeys(slug for slug, _ in keywords.values()))}
    keyword = min(found, key=lambda phrase: topic_order[keywords[phrase][0]])
    slug, language = keywords[keyword]
    language = language or next((keywords[phrase][1] for phrase in found if keywords[phrase][1]), "")
    return keyword, slug, language


def danger_in(tokens: list[str]) -> tuple[bool, str]:
    """Tell whether the words suggest danger now, and in which language they say it ("" if unsure)."""
    found = [DANGER_PHRASES[phrase] for phrase in _phrases(tokens, _MAX_DANGER_WORDS) if phrase in DANGER_PHRASES]
    return bool(found), next((language for language in found if language), "")


NANP_NEIGHBOURS = {"US": "CA", "CA": "US"}


def parse_message(body: str, sender_country: str, keywords: KeywordTable) -> Intent:
    """Read a text message: carrier word, follow-up, or a search with keyword, topic and postcode."""
    body = body[:MAX_BODY_LENGTH]
    tokens = words(body)
    if len(tokens) == 1:
        single = _single_word_intent(tokens[0])
        if single is not None:
            return single

    postcode = find_postcode_in_text(body, sender_country or None)
    if postcode is None and sender_country in NANP_NEIGHBOURS:
        # +1 numbers travel between the US and Canada: a ZIP from a Canadian number, or a partial
        # Canadian postcode from a US one, is still where the texter is.
        postcode = find_postcode_in_text(body, NANP_NEIGHBOURS[sender_country])
    rest = body[: postcode.start] + " " + body[postcode.end :] if postcode else body
    tokens = words(rest)
    help_word = next((token for token in tokens if token in HELP_WORDS), "")
    phrase, topic, topic_language = _find_topic(tokens, keywords)
    danger, danger_language = danger_in(tokens)
    language = HELP_WORDS.get(help_word) or topic_language or danger_language or None
    return Intent(
        Action.SEARCH,
        language=language,
        keyword=help_word or phrase,
        topic=topic,
        country=postcode.country if postcode else sender_country,
        postcode=postcode.key if postcode else "",
        danger=danger,
    )
