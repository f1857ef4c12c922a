"""SMS keywords in each language, matched case- and accent-insensitively.

Every language's words are accepted from everyone, so English always is. Several
keywords are everyday words ("Anza", "Hali", "Banda"), so a keyword counts only when it
is the whole message; only the status keyword takes something after it, and only a case
number. A description that happens to start with one of these words stays a description.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum


class Keyword(StrEnum):
    STOP = "stop"
    START = "start"
    HELP = "help"
    STATUS = "status"
    REPORT = "report"


# Each language's words; a message in any of them is understood whatever the sender's
# language. The Kinyarwanda, Ikirundi and Lingala words are drafts for a native speaker
# to check; the catalogs tell people which word to send, so change both together.
WORDS_BY_LANGUAGE: dict[str, dict[Keyword, tuple[str, ...]]] = {
    "en": {
        Keyword.STOP: ("STOP", "STOPALL", "UNSUBSCRIBE"),
        Keyword.START: ("START", "UNSTOP"),
        Keyword.HELP: ("HELP",),
        Keyword.STATUS: ("STATUS",),
        Keyword.REPORT: ("REPORT",),
    },
    "fr": {
        Keyword.STOP: ("ARRET",),
        Keyword.START: ("DEMARRER",),
        Keyword.HELP: ("AIDE",),
        Keyword.STATUS: ("STATUT", "SUIVI"),
        Keyword.REPORT: ("SIGNALER",),
    },
    "sw": {
        Keyword.STOP: ("ACHA", "SIMAMA"),
        Keyword.START: ("ANZA",),
        Keyword.HELP: ("MSAADA",),
        Keyword.STATUS: ("HALI", "FUATILIA"),
        Keyword.REPORT: ("RIPOTI", "TANGAZA"),
    },
    "rw": {
        Keyword.STOP: ("HAGARIKA",),
        Keyword.START: ("TANGIRA",),
        Keyword.HELP: ("FASHA", "UBUFASHA"),
        Keyword.STATUS: ("KURIKIRANA",),
        Keyword.REPORT: ("MENYESHA",),
    },
    "rn": {
        Keyword.STOP: ("HAGARIKA",),
        Keyword.START: ("TANGURA",),
        Keyword.HELP: ("FASHA", "IMFASHANYO"),
        Keyword.STATUS: ("KURIKIRANA",),
        Keyword.REPORT: ("MENYESHA",),
    },
    "ln": {
        Keyword.STOP: ("SUKISA",),
        Keyword.START: ("BANDA",),
        Keyword.HELP: ("LISALISI", "SALISA"),
        Keyword.STATUS: ("LANDA",),
        Keyword.REPORT: ("YEBISA",),
    },
}

_LOOKUP = {
    word: keyword
    for table in WORDS_BY_LANGUAGE.values()
    for keyword, words in table.items()
    for word in words
}
_CASE_NUMBER = re.compile(r"[\d\s.\-]*\d[\d\s.\-]*")


def _word_languages() -> dict[str, tuple[str, ...]]:
    """Each word and the languages it is a keyword in, in table order."""
    found: dict[str, tuple[str, ...]] = {}
    for lang, table in WORDS_BY_LANGUAGE.items():
        for word in dict.fromkeys(word for words in table.values() for word in words):
            found[word] = (*found.get(word, ()), lang)
    return found


_LANGUAGES = _word_languages()


@dataclass(frozen=True, slots=True)
class Match:
    """A keyword, its argument, and the languages whose word it was (a hint for a number
    that never chose one: "RIPOTI" is Kiswahili, "MENYESHA" Kinyarwanda or Ikirundi)."""

    keyword: Keyword
    argument: str
    languages: tuple[str, ...] = ()


def fold(text: str) -> str:
    """Upper-case without accents: 'Arrêt' and 'ARRET' are the same word."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).upper()


def match(body: str) -> Match | None:
    """The keyword a message is, and its argument (a status's case number), or None."""
    head, _, rest = body.strip().partition(" ")
    word = fold(head).strip(".!")
    keyword = _LOOKUP.get(word)
    argument = rest.strip().rstrip(".!")
    if keyword is None or not _takes(keyword, argument):
        return None
    return Match(keyword, argument, _LANGUAGES[word])


def _takes(keyword: Keyword, argument: str) -> bool:
    if not argument:
        return True
    return keyword is Keyword.STATUS and _CASE_NUMBER.fullmatch(argument) is not None
