"""SMS character sets and segment counting (GSM 03.38 and UCS-2)."""

import unicodedata
from typing import Literal

Encoding = Literal["GSM-7", "UCS-2"]

MAX_SEGMENTS = 3

# GSM 03.38 default alphabet (the escape code 0x1B and the form feed are left out on purpose).
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Extension table: each costs two septets (escape + character).
GSM_EXTENSION = frozenset("^{}\\[~]|€")

# Characters outside GSM-7 with a replacement that keeps the meaning.
_REPLACEMENTS = {
    "ç": "c",  # latin small letter c with cedilla: the table has only the capital, which reads oddly mid-word
    "\u2018": "'",  # left single quotation mark
    "\u2019": "'",  # right single quotation mark
    "\u201a": "'",  # single low-9 quotation mark
    "\u2032": "'",  # prime
    "`": "'",  # grave accent
    "\u00b4": "'",  # acute accent
    "\u201c": '"',  # left double quotation mark
    "\u201d": '"',  # right double quotation mark
    "\u201e": '"',  # double low-9 quotation mark
    "\u00ab": '"',  # left-pointing double angle quotation mark
    "\u00bb": '"',  # right-pointing double angle quotation mark
    "\u2010": "-",  # hyphen
    "\u2011": "-",  # non-breaking hyphen
    "\u2012": "-",  # figure dash
    "\u2013": "-",  # en dash
    "\u2014": "-",  # em dash
    "\u2015": "-",  # horizontal bar
    "\u2212": "-",  # minus sign
    "\u2022": "-",  # bullet
    "\u00b7": "-",  # middle dot
    "\u2026": "...",  # horizontal ellipsis
    "œ": "oe",  # latin small ligature oe
    "Œ": "OE",  # latin capital ligature oe
    "\t": " ",  # tab
}

_SINGLE = {"GSM-7": 160, "UCS-2": 70}
_PER_SEGMENT = {"GSM-7": 153, "UCS-2": 67}


def _replacement(char: str) -> str:
    if char in GSM_BASIC or char in GSM_EXTENSION:
        return char
    if char in _REPLACEMENTS:
        return _REPLACEMENTS[char]
    category = unicodedata.category(char)
    if category in ("Zs", "Zl", "Zp"):
        return " "
    if category in ("Cc", "Cf", "Cs", "Co", "Cn"):
        # Invisible or unencodable: nothing a reader would miss.
        return ""
    # An accented Latin letter whose base letter is ASCII (ê, á, ô ...) loses only its accent;
    # compatibility forms (full-width digits, ligatures) become their plain letters.
    base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
    if base and base.isascii() and base.isalnum():
        return base
    return char


_GSM = GSM_BASIC | GSM_EXTENSION


class _Replacements(dict[int, str]):
    """``str.translate``'s table: each character's replacement, worked out the first time it is met."""

    def __missing__(self, code: int) -> str:
        replacement = self[code] = _replacement(chr(code))
        return replacement


_TABLE = _Replacements()


def to_gsm(text: str) -> str:
    """Replace characters outside GSM-7 by a safe equivalent; keep those that have none."""
    return text if _GSM.issuperset(text) else text.translate(_TABLE)


def encoding_of(text: str) -> Encoding:
    if _GSM.issuperset(text):
        return "GSM-7"
    return "UCS-2"


def _units(text: str, encoding: Encoding) -> list[int]:
    if encoding == "GSM-7":
        return [2 if char in GSM_EXTENSION else 1 for char in text]
    # UTF-16 code units: characters outside the BMP take a surrogate pair.
    return [2 if ord(char) > 0xFFFF else 1 for char in text]


def segment_count(text: str) -> int:
    """Count the segments a message takes; an escape pair or surrogate pair is never split."""
    if not text:
        return 0
    encoding = encoding_of(text)
    wide = GSM_EXTENSION.intersection(text) if encoding == "GSM-7" else any(ord(char) > 0xFFFF for char in text)
    if not wide:
        # Every character is one unit, so no pair can be split: the segments follow from the length.
        if len(text) <= _SINGLE[encoding]:
            return 1
        return -(-len(text) // _PER_SEGMENT[encoding])
    units = _units(text, encoding)
    if sum(units) <= _SINGLE[encoding]:
        return 1
    limit = _PER_SEGMENT[encoding]
    segments, used = 1, 0
    for unit in units:
        if used + unit > limit:
            segments, used = segments + 1, 0
        used += unit
    return segments


def fits(text: str, max_segments: int = MAX_SEGMENTS) -> bool:
    return segment_count(text) <= max_segments
