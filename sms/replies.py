"""Compose SMS replies from plain values, within a budget of three segments.

Every text goes through ``to_gsm`` before it is measured, so a reply stays in GSM-7 (153 characters
per segment) whenever its characters allow. Parts are added in order of importance and shown in
reading order; a part that does not fit is left out whole, so a phone number is never cut in half.
"""

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from enum import StrEnum

from sms.encoding import Encoding, encoding_of, fits, segment_count, to_gsm

LANGUAGES = ("en", "fr", "es", "de")
DEFAULT_LANGUAGE = "en"
NAME_LIMIT = 60
# More results than this on one screen is more than a frightened reader takes in; MORE shows the rest.
RESULTS_PER_PAGE = 5

TEXTS: dict[str, dict[str, str]] = {
    "intro": {
        "en": "Free, confidential help with sextortion and online abuse.",
        "fr": "Aide gratuite et confidentielle contre la sextorsion et les abus en ligne.",
        "es": "Ayuda gratuita y confidencial contra la sextorsión y el abuso en línea.",
        "de": "Kostenlose, vertrauliche Hilfe bei Sextortion und Missbrauch im Internet.",
    },
    "how": {
        "en": "Text HELP + your postcode{example} for help near you.",
        "fr": "Envoyez AIDE + votre code postal{example} pour de l'aide près de chez vous.",
        "es": "Envía AYUDA + tu código postal{example} para ayuda cerca de ti.",
        "de": "Sende HILFE + deine Postleitzahl{example} für Hilfe in deiner Nähe.",
    },
    "example": {
        "en": " (e.g. HELP {postcode})",
        "fr": " (ex. AIDE {postcode})",
        "es": " (ej. AYUDA {postcode})",
        "de": " (z.B. HILFE {postcode})",
    },
    "stop": {
        "en": "Text STOP to stop.",
        "fr": "Envoyez ARRET pour arrêter.",
        "es": "Envía STOP para no recibir más.",
        "de": "Sende STOP zum Abbestellen.",
    },
    "danger": {
        "en": "In danger now? Call {emergency}.",
        "fr": "En danger? Appelez le {emergency}.",
        "es": "¿En peligro? Llama al {emergency}.",
        "de": "In Gefahr? Ruf die {emergency} an.",
    },
    "danger_local": {
        "en": "In danger now? Call your local emergency number.",
        "fr": "En danger? Appelez le numéro d'urgence local.",
        "es": "¿En peligro? Llama al número de emergencias local.",
        "de": "In Gefahr? Ruf den Notruf an.",
    },
    "emergency": {
        "en": "Emergency: {emergency}",
        "fr": "Urgence: {emergency}",
        "es": "Emergencias: {emergency}",
        "de": "Notruf: {emergency}",
    },
    "emergency_police": {
        "en": "Emergency: {emergency}, police {police}",
        "fr": "Urgence: {emergency}, police {police}",
        "es": "Emergencias: {emergency}, policía {police}",
        "de": "Notruf: {emergency}, Polizei {police}",
    },
    "line": {
        "en": "24/7: {entry}",
        "fr": "24/7: {entry}",
        "es": "24/7: {entry}",
        "de": "24/7: {entry}",
    },
    "unknown_postcode": {
        "en": "We did not recognise that postcode. National help:",
        "fr": "Code postal non reconnu. Aide nationale:",
        "es": "No reconocimos ese código postal. Ayuda nacional:",
        "de": "Diese Postleitzahl kennen wir nicht. Hilfe im ganzen Land:",
    },
    "no_results": {
        "en": "No listing found for your area yet.",
        "fr": "Aucune ressource trouvée pour votre région pour l'instant.",
        "es": "Aún no hay recursos para tu zona.",
        "de": "Für deine Gegend gibt es noch keinen Eintrag.",
    },
    "no_more": {
        "en": "No more results.",
        "fr": "Pas d'autres résultats.",
        "es": "No hay más resultados.",
        "de": "Keine weiteren Ergebnisse.",
    },
    "footer_more": {
        "en": "Reply a number for details, MORE for more.",
        "fr": "Répondez un numéro pour les détails, PLUS pour la suite.",
        "es": "Responde un número para detalles, MAS para ver más.",
        "de": "Antworte mit einer Nummer für Details, MEHR für weitere.",
    },
    "footer": {
        "en": "Reply a number for details.",
        "fr": "Répondez un numéro pour les détails.",
        "es": "Responde un número para detalles.",
        "de": "Antworte mit einer Nummer für Details.",
    },
    "expired": {
        "en": "No recent search.",
        "fr": "Aucune recherche récente.",
        "es": "No hay búsqueda reciente.",
        "de": "Keine aktuelle Suche.",
    },
    "pick": {
        "en": "Reply a number from 1 to {count}, or MORE.",
        "fr": "Répondez un numéro de 1 à {count}, ou PLUS.",
        "es": "Responde un número del 1 al {count}, o MAS.",
        "de": "Antworte mit einer Nummer von 1 bis {count} oder MEHR.",
    },
    "opted_out": {
        "en": "You are unsubscribed and will get no more messages. Text START to start again.",
        "fr": "Vous êtes désabonné et ne recevrez plus de messages. Envoyez START pour recommencer.",
        "es": "Te has dado de baja y no recibirás más mensajes. Envía START para volver.",
        "de": "Du bist abgemeldet und bekommst keine Nachrichten mehr. Sende START, um wieder anzufangen.",
    },
    "opted_in": {
        "en": "You are subscribed again.",
        "fr": "Vous êtes de nouveau abonné.",
        "es": "Te has suscrito de nuevo.",
        "de": "Du bist wieder angemeldet.",
    },
    "rate_limited": {
        "en": "You have sent many messages. Please wait a few minutes, then try again.",
        "fr": "Vous avez envoyé beaucoup de messages. Attendez quelques minutes, puis réessayez.",
        "es": "Has enviado muchos mensajes. Espera unos minutos y vuelve a intentarlo.",
        "de": "Du hast viele Nachrichten gesendet. Bitte warte ein paar Minuten und versuche es dann noch einmal.",
    },
    "language": {
        "en": "OK, English.",
        "fr": "D'accord, en français.",
        "es": "De acuerdo, en español.",
        "de": "OK, auf Deutsch.",
    },
    "or": {"en": " or ", "fr": " ou ", "es": " o ", "de": " oder "},
    "text_keyword": {
        "en": "text {keyword} to {number}",
        "fr": "texto {keyword} au {number}",
        "es": "envía {keyword} al {number}",
        "de": "SMS {keyword} an {number}",
    },
    "text_number": {
        "en": "text {number}",
        "fr": "texto au {number}",
        "es": "mensaje al {number}",
        "de": "SMS an {number}",
    },
    "open_always": {"en": "Open 24/7", "fr": "Ouvert 24/7", "es": "Abierto 24/7", "de": "Rund um die Uhr erreichbar"},
    "hours": {"en": "Hours: {hours}", "fr": "Heures: {hours}", "es": "Horario: {hours}", "de": "Zeiten: {hours}"},
    "phone": {"en": "Call {value}", "fr": "Appel: {value}", "es": "Llama: {value}", "de": "Anruf: {value}"},
    "sms": {"en": "Text {value}", "fr": "Texto: {value}", "es": "SMS: {value}", "de": "SMS: {value}"},
    "whatsapp": {
        "en": "WhatsApp {value}",
        "fr": "WhatsApp: {value}",
        "es": "WhatsApp: {value}",
        "de": "WhatsApp: {value}",
    },
    "chat": {"en": "Chat: {value}", "fr": "Clavardage: {value}", "es": "Chat: {value}", "de": "Chat: {value}"},
    "email": {"en": "Email: {value}", "fr": "Courriel: {value}", "es": "Correo: {value}", "de": "E-Mail: {value}"},
    "web_form": {
        "en": "Form: {value}",
        "fr": "Formulaire: {value}",
        "es": "Formulario: {value}",
        "de": "Formular: {value}",
    },
    "website": {"en": "Web: {value}", "fr": "Site: {value}", "es": "Web: {value}", "de": "Web: {value}"},
}

# A postcode people recognise as the format to send, per country.
EXAMPLE_POSTCODES = {
    "CA": "S4P 3Y2",
    "US": "10001",
    "GB": "SW1A 1AA",
    "AU": "2000",
    "IE": "D02",
    "NZ": "6011",
    "DE": "10115",
    "FR": "75001",
    "IN": "110001",
}

# In a list of results, how each listing is reached, most direct first.
_FALLBACK_CHANNELS = ("whatsapp", "chat", "web_form", "website", "email")


class Place(StrEnum):
    FOUND = "found"
    NO_POSTCODE = "no_postcode"
    UNKNOWN_POSTCODE = "unknown_postcode"


@dataclass(frozen=True)
class Channel:
    kind: str
    display: str
    sms_keyword: str = ""
    label: str = ""


@dataclass(frozen=True)
class Listing:
    """One service as a text message shows it."""

    name: str
    channels: tuple[Channel, ...] = ()
    always_open: bool = False
    description: str = ""
    hours: str = ""
    kind: str = ""


@dataclass(frozen=True)
class SearchView:
    """A page of search results to show, starting at ``results[start]``."""

    language: str
    results: tuple[Listing, ...]
    start: int = 0
    country: str = ""
    emergency: str = ""
    # The police's own number where it is not the emergency number (110 in Germany, 17 in France).
    police: str = ""
    danger: bool = False
    advice: str = ""
    place: Place = Place.FOUND


@dataclass(frozen=True)
class Composed:
    text: str
    consumed: int


@dataclass(frozen=True)
class Reply:
    """What the texter receives; an empty text means no message at all."""

    text: str
    language: str = DEFAULT_LANGUAGE

    @property
    def encoding(self) -> Encoding:
        return encoding_of(self.text)

    @property
    def segments(self) -> int:
        return segment_count(self.text)


def text(key: str, language: str, **values: str) -> str:
    template = TEXTS[key].get(language) or TEXTS[key][DEFAULT_LANGUAGE]
    return template.format(**values)


class _Message:
    """Parts keyed by reading position; a part is kept only if the whole message still fits."""

    def __init__(self) -> None:
        self._parts: dict[float, str] = {}

    def add(self, position: float, part: str) -> bool:
        part = to_gsm(part).strip()
        if not part:
            return False
        candidate = {**self._parts, position: part}
        if not fits(_join(candidate)):
            return False
        self._parts = candidate
        return True

    def remove(self, position: float) -> None:
        self._parts.pop(position, None)

    def add_clipped(self, position: float, part: str) -> None:
        """Add as many whole words of ``part`` as fit, marking a cut with an ellipsis."""
        if self.add(position, part):
            return
        words = part.split()
        low, high = 0, len(words)
        while low < high:
            middle = (low + high + 1) // 2
            if fits(_join({**self._parts, position: to_gsm(" ".join(words[:middle]) + "...")})):
                low = middle
            else:
                high = middle - 1
        if low:
            self.add(position, " ".join(words[:low]) + "...")

    @property
    def text(self) -> str:
        return _join(self._parts)


def _join(parts: dict[float, str]) -> str:
    return "\n".join(parts[position] for position in sorted(parts))


def clip(value: str, limit: int = NAME_LIMIT) -> str:
    """Shorten ``value`` to ``limit`` characters at a word boundary."""
    value = " ".join(value.split())
    if len(value) <= limit:
        return value
    cut = value[: limit - 3].rsplit(" ", 1)[0] or value[: limit - 3]
    return cut.rstrip(" ,;:-") + "..."


def short_name(name: str, limit: int = NAME_LIMIT) -> str:
    """Shorten a listing's name for a list: asides in brackets go first, then words from the end."""
    name = " ".join(name.split())
    if len(name) > limit:
        name = " ".join(re.sub(r"\s*\([^()]*\)", "", name).split()) or name
    return clip(name, limit)


def how_to_reach(listing: Listing, language: str, *, given: Collection[str] = ()) -> str:
    """Say how to reach a listing in one line: its phone, its text line, or else its best link.

    A number or link in ``given`` (what earlier lines of the list already gave) is passed over for the
    listing's next way, so that each line tells something new.
    """
    return _say_ways(_ways(listing, given), language)


def _ways(listing: Listing, given: Collection[str] = ()) -> list[Channel]:
    usable = [c for c in listing.channels if c.display.strip()]
    fresh = [c for c in usable if c.display.strip() not in given] or usable
    phone = next((c for c in fresh if c.kind == "phone"), None)
    sms = next((c for c in fresh if c.kind == "sms"), None)
    ways = [channel for channel in (phone, sms) if channel]
    if not ways:
        ways = [channel for kind in _FALLBACK_CHANNELS for channel in fresh if channel.kind == kind][:1]
    return ways


def _say_ways(ways: list[Channel], language: str) -> str:
    said = []
    for way in ways:
        value = way.display.strip()
        if way.kind == "sms" and way.sms_keyword.strip():
            said.append(text("text_keyword", language, keyword=way.sms_keyword.strip(), number=value))
        elif way.kind == "sms":
            said.append(text("text_number", language, number=value))
        else:
            said.append(value)
    return text("or", language).join(said)


def _entry(listing: Listing, language: str, ways: list[Channel] | None = None) -> str:
    name = short_name(listing.name)
    reach = _say_ways(_ways(listing) if ways is None else ways, language)
    return f"{name}: {reach}" if reach else name


def _emergency_line(language: str, emergency: str, *, danger: bool, police: str = "") -> str:
    if danger:
        return text("danger", language, emergency=emergency) if emergency else text("danger_local", language)
    if emergency and police:
        return text("emergency_police", language, emergency=emergency, police=police)
    return text("emergency", language, emergency=emergency) if emergency else ""


def _how(language: str, country: str) -> str:
    postcode = EXAMPLE_POSTCODES.get(country, "")
    example = text("example", language, postcode=postcode) if postcode else ""
    return text("how", language, example=example)


# Reading positions of the parts of a reply.
_TOP, _HEADER, _ADVICE, _BODY, _LINE, _HOW, _FOOTER, _EMERGENCY, _STOP = 0, 1, 2, 10, 100, 101, 102, 103, 104


def line_index(results: Sequence[Listing]) -> int | None:
    """Return the position of the 24/7 line to always show: a helpline open around the clock, if any."""
    always_open = [index for index, listing in enumerate(results) if listing.always_open]
    helplines = [index for index in always_open if results[index].kind == "helpline"]
    preferred = helplines or always_open
    return preferred[0] if preferred else None


def search_reply(view: SearchView) -> Composed:
    """Compose a page of results; ``consumed`` says how many results the page used up."""
    language = view.language
    line = line_index(view.results)
    message, shown, consumed = _fill_results(view, line, reserve_line=line is not None)
    if line is not None and line in shown:
        # The 24/7 line is already on the page: its separate line would only repeat it.
        message, shown, consumed = _fill_results(view, line, reserve_line=False)
    message.remove(_FOOTER)
    if shown:
        # Never longer than the footer the results were fitted around, so it fits.
        remaining = view.start + consumed < len(view.results)
        message.add(_FOOTER, text("footer_more" if remaining else "footer", language))
    if not view.danger and view.police:
        # The police's own number only if it still fits; the emergency number was kept room for.
        message.remove(_EMERGENCY)
        if not message.add(_EMERGENCY, _emergency_line(language, view.emergency, danger=False, police=view.police)):
            message.add(_EMERGENCY, _emergency_line(language, view.emergency, danger=False))
    return Composed(message.text, consumed)


def _fill_results(view: SearchView, line: int | None, *, reserve_line: bool) -> tuple[_Message, list[int], int]:
    language = view.language
    message = _Message()
    if view.danger:
        message.add(_TOP, _emergency_line(language, view.emergency, danger=True))
    if reserve_line and line is not None:
        # Someone in danger reads the 24/7 line right after the emergency number.
        position = _TOP + 0.5 if view.danger else _LINE
        message.add(position, text("line", language, entry=_entry(view.results[line], language)))
    if not view.results:
        message.add(_HEADER, text("no_results", language))
    elif view.start >= len(view.results):
        message.add(_HEADER, text("no_more", language))
    elif view.place == Place.UNKNOWN_POSTCODE:
        message.add(_HEADER, text("unknown_postcode", language))
    if view.place != Place.FOUND or not view.results:
        message.add(_HOW, _how(language, view.country))
    if view.advice:
        message.add(_ADVICE, clip(view.advice, 200))
    if view.start < len(view.results):
        # Room for "reply a number, MORE for more" is kept before results fill the page.
        message.add(_FOOTER, text("footer_more", language))
    if not view.danger:
        # So is room for the emergency number: a reply never goes out without it.
        message.add(_EMERGENCY, _emergency_line(language, view.emergency, danger=False))
    shown: list[int] = []
    consumed = 0
    # What the list's earlier lines gave, on this page or the ones before it.
    given: set[str] = set()
    for listing in view.results[: view.start]:
        given.update(way.display.strip() for way in _ways(listing, given))
    for index in range(view.start, len(view.results)):
        if len(shown) == RESULTS_PER_PAGE:
            break
        ways = _ways(view.results[index], given)
        given.update(way.display.strip() for way in ways)
        entry = f"{index + 1}. {_entry(view.results[index], language, ways)}"
        if message.add(_BODY + index, entry):
            shown.append(index)
        elif shown or fits(to_gsm(entry)):
            break
        # Shown, or too long to fit even alone: skipped, so that MORE does not stick on it.
        consumed += 1
    return message, shown, consumed


def help_reply(language: str, *, country: str, line: Listing | None, emergency: str, police: str = "") -> str:
    """Explain the service: what to send, the national 24/7 line, the emergency number, how to stop."""
    message = _Message()
    message.add(_HOW, _how(language, country))
    message.add(_STOP, text("stop", language))
    if line is not None:
        message.add(_LINE, text("line", language, entry=_entry(line, language)))
    message.add(_EMERGENCY, _emergency_line(language, emergency, danger=False, police=police))
    message.add(_HEADER, text("intro", language))
    return message.text


def _channel_line(channel: Channel, language: str) -> str:
    value = channel.display.strip()
    if channel.kind == "sms" and channel.sms_keyword.strip():
        line = text("text_keyword", language, keyword=channel.sms_keyword.strip(), number=value)
        line = line[:1].upper() + line[1:]
    else:
        line = text(channel.kind, language, value=value)
    # Say what the line is for ("non-emergency", "tip line") when the source does.
    return f"{line} ({clip(channel.label, 40)})" if channel.label.strip() else line


def detail_reply(language: str, number: int, listing: Listing) -> str:
    """Describe one listing: every channel, its hours and as much of its description as fits."""
    message = _Message()
    message.add(_TOP, f"{number}. {clip(listing.name, 2 * NAME_LIMIT)}")
    if listing.always_open:
        message.add(_HEADER, text("open_always", language))
    elif listing.hours.strip():
        message.add(_HEADER, text("hours", language, hours=clip(listing.hours, 100)))
    for index, channel in enumerate(listing.channels):
        if channel.kind in TEXTS and channel.display.strip():
            message.add(_BODY + index, _channel_line(channel, language))
    if listing.description.strip():
        message.add_clipped(_FOOTER, " ".join(listing.description.split()))
    return message.text


def notice_reply(
    key: str, language: str, *, country: str = "", emergency: str = "", count: int = 0, follow_up: bool = False
) -> str:
    """Compose a short notice (opted out, rate limited, nothing to show) with what to send next.

    ``follow_up`` says the texter has results to come back to, so the notice points to them.
    """
    message = _Message()
    message.add(_HEADER, text(key, language, count=str(count)))
    if follow_up:
        message.add(_FOOTER, text("footer_more", language))
    elif key in ("opted_in", "expired", "language"):
        message.add(_HOW, _how(language, country))
    if key != "opted_out":
        message.add(_EMERGENCY, _emergency_line(language, emergency, danger=False))
    return message.text


def choose_language(*candidates: str | None) -> str:
    """Return the first supported language among ``candidates``."""
    return next((c for c in candidates if c in LANGUAGES), DEFAULT_LANGUAGE)
