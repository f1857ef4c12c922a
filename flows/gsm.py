"""The GSM 03.38 7-bit default alphabet: transliteration, septet counts and SMS segments.

Some networks show only plain ASCII on USSD, not even the accented letters GSM-7 has
(``é à ü ñ ß Ç``): `to_ascii` spells a text for them, each GSM-7 letter outside ASCII as
its base letter and the alphabet's other symbols as readable ASCII or not at all. A text
is spelled in one of the `ALPHABETS` by `spell`.

Screens are measured in septets because that is what a handset and an SMS gateway count:
the characters of the extension table (``€ ^ { } [ ] ~ | \\``) take an escape septet
plus their own. Segment counts follow 3GPP TS 23.038 / 23.040: one message holds 160
septets or 70 UCS-2 code units; a concatenated part holds 153 or 67, and neither an
escape pair nor a UTF-16 surrogate pair is ever split across two parts.
"""

from __future__ import annotations

import unicodedata
from typing import Literal, get_args

# The alphabets a screen can be spelled in: GSM-7, or plain printable ASCII (for networks
# that cannot show GSM-7's accented letters on USSD).
Alphabet = Literal["gsm7", "ascii"]
ALPHABETS: tuple[Alphabet, ...] = get_args(Alphabet)
GSM7: Alphabet = "gsm7"
ASCII: Alphabet = "ascii"

BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
EXTENSION = "^{}\\[~]|€"

SINGLE_SEPTETS = 160
PART_SEPTETS = 153
SINGLE_UCS2 = 70
PART_UCS2 = 67

_BASIC = frozenset(BASIC)
_EXTENSION = frozenset(EXTENSION)
_ALPHABET = _BASIC | _EXTENSION

# Closest GSM-7 spelling of common characters that NFKD does not reduce well.
_EXPLICIT = {
    "’": "'",
    "‘": "'",
    "‚": "'",
    "‛": "'",
    "′": "'",
    "`": "'",
    "´": "'",
    "“": '"',
    "”": '"',
    "„": '"',
    "‟": '"',
    "«": '"',
    "»": '"',
    "″": '"',
    "‹": "'",
    "›": "'",
    "…": "...",
    "–": "-",
    "—": "-",
    "‒": "-",
    "―": "-",
    "−": "-",
    "‐": "-",
    "‑": "-",
    "•": "-",
    "·": ".",
    "œ": "oe",
    "Œ": "OE",
    "Ð": "D",
    "ð": "d",
    "Þ": "Th",
    "þ": "th",
    "ł": "l",
    "Ł": "L",
    "đ": "d",
    "Đ": "D",
    "ı": "i",
    # Lingala open vowels, and letters some Lingala and Bantu spellings use.
    "ɛ": "e",
    "Ɛ": "E",
    "ɔ": "o",
    "Ɔ": "O",
    "ŋ": "ng",
    "Ŋ": "Ng",
    "ɲ": "ny",
    "Ɲ": "Ny",
    # Apostrophes typed in Kinyarwanda and Ikirundi ("w'umwana") by phones and keyboards
    # that offer a modifier letter or a saltillo instead of the plain one.
    "ʼ": "'",
    "ʻ": "'",
    "ʹ": "'",
    "ʽ": "'",
    "ˈ": "'",
    "ꞌ": "'",
    "ʺ": '"',
    "×": "x",
    "÷": "/",
    "\t": " ",
    "\v": " ",
    "\f": " ",
}
_CACHE_LIMIT = 4096


def _fallback(char: str) -> str:
    """Reduce one character outside the alphabet: decompose, drop marks, else '?'."""
    category = unicodedata.category(char)
    if category.startswith("Z"):
        return " "
    if category in ("Cc", "Cf", "Cs", "Co", "Cn", "Mn", "Me", "Mc"):
        return ""
    reduced = "".join(
        part
        for part in unicodedata.normalize("NFKD", char)
        if not unicodedata.combining(part) and part in _ALPHABET
    )
    return reduced or "?"


class _Table(dict[int, str]):
    """A str.translate table that works out unknown characters once and remembers them."""

    def __missing__(self, code: int) -> str:
        char = chr(code)
        value = _EXPLICIT.get(char)
        if value is None:
            value = char if char in _ALPHABET else _fallback(char)
        if len(self) < _CACHE_LIMIT:
            self[code] = value
        return value


_TABLE = _Table({ord(char): char for char in _ALPHABET if char not in "\r"})
_TABLE[ord("\r")] = ""

# Every character of the alphabet outside ASCII, in plain ASCII: letters as their base
# letter (ligatures and the sharp s as two), Greek capitals romanised, currency signs as
# their ISO 4217 codes; the generic currency sign, the section sign and the inverted
# Spanish marks are dropped ("¿Qué?" -> "Que?").
ASCII_SPELLING = {
    "£": "GBP",
    "¥": "JPY",
    "€": "EUR",
    "¤": "",
    "§": "",
    "¡": "",
    "¿": "",
    "è": "e",
    "é": "e",
    "É": "E",
    "ù": "u",
    "ì": "i",
    "ò": "o",
    "Ç": "C",
    "Ø": "O",
    "ø": "o",
    "Å": "A",
    "å": "a",
    "Æ": "AE",
    "æ": "ae",
    "ß": "ss",
    "Ä": "A",
    "ä": "a",
    "Ö": "O",
    "ö": "o",
    "Ñ": "N",
    "ñ": "n",
    "Ü": "U",
    "ü": "u",
    "à": "a",
    "Δ": "D",
    "Φ": "Ph",
    "Γ": "G",
    "Λ": "L",
    "Ω": "O",
    "Π": "P",
    "Ψ": "Ps",
    "Σ": "S",
    "Θ": "Th",
    "Ξ": "X",
}
_ASCII_TABLE = {ord(char): spelled for char, spelled in ASCII_SPELLING.items()}
# What an ASCII screen may hold: the printable characters, and line feeds between lines.
_PRINTABLE_ASCII = frozenset(map(chr, range(0x20, 0x7F))) | {"\n"}


def transliterate(text: str) -> str:
    """Return `text` in the GSM-7 alphabet, each character replaced by its closest spelling.

    Accents outside the alphabet are dropped (``ê`` → ``e``, and tone marks), typographic
    quotes, apostrophes and dashes become their plain forms, Lingala's open vowels become
    ``e`` and ``o``, every kind of space becomes a space, control characters are removed
    (line feeds are kept), and anything with no reasonable spelling becomes ``?``. Text is
    composed first, so an ``e`` followed by a combining acute is the GSM-7 ``é`` as typed.
    """
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    return text.translate(_TABLE)


def to_ascii(text: str) -> str:
    """Return `text` in plain printable ASCII (line feeds kept), for networks whose USSD
    screens cannot show GSM-7's letters outside ASCII.

    The text is transliterated to GSM-7 first, then each character of the alphabet outside
    ASCII takes its `ASCII_SPELLING` (``é`` → ``e``, ``ß`` → ``ss``, ``Æ`` → ``AE``,
    ``£`` → ``GBP``, ``¿`` dropped), so ``Sécurité`` reads ``Securite``.
    """
    spelled = transliterate(text)
    return spelled if spelled.isascii() else spelled.translate(_ASCII_TABLE)


def spell(text: str, alphabet: Alphabet = GSM7) -> str:
    """Return `text` in `alphabet`: `transliterate` for GSM-7, `to_ascii` for ASCII."""
    return to_ascii(text) if alphabet == ASCII else transliterate(text)


def is_ascii(text: str) -> bool:
    """Tell whether `text` is plain printable ASCII, line feeds allowed."""
    return _PRINTABLE_ASCII.issuperset(text)


def is_gsm7(text: str) -> bool:
    """Tell whether every character of `text` is in the default alphabet or its extension."""
    return _ALPHABET.issuperset(text)


def septets(text: str) -> int:
    """Count the septets `text` takes in GSM-7; extension characters count two."""
    if not _ALPHABET.issuperset(text):
        raise ValueError("text has characters outside the GSM-7 alphabet")
    if _EXTENSION.isdisjoint(text):
        return len(text)
    return len(text) + sum(map(text.count, EXTENSION))


def _parts(costs: list[int], limit: int) -> int:
    """Count parts of at most `limit` units, never splitting one character's units."""
    parts, used = 1, 0
    for cost in costs:
        if used + cost > limit:
            parts, used = parts + 1, 0
        used += cost
    return parts


def segments(text: str) -> int:
    """Count the SMS parts `text` needs: GSM-7 when it fits the alphabet, else UCS-2."""
    if is_gsm7(text):
        costs = [2 if char in _EXTENSION else 1 for char in text]
        single, part = SINGLE_SEPTETS, PART_SEPTETS
    else:
        costs = [2 if ord(char) > 0xFFFF else 1 for char in text]
        single, part = SINGLE_UCS2, PART_UCS2
    return 1 if sum(costs) <= single else _parts(costs, part)
