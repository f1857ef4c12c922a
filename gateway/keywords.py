"""SMS keywords in each language, matched case- and accent-insensitively.

English words are always accepted. A keyword counts only as the first word of a message,
so free text that merely contains one is left alone.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from enum import StrEnum


class Keyword(StrEnum):
    STOP = "stop"
    START = "start"
    HELP = "help"
    STATUS = "status"
    REPORT = "report"


WORDS: dict[Keyword, tuple[str, ...]] = {
    Keyword.STOP: ("STOP", "STOPALL", "UNSUBSCRIBE", "ARRET", "ACHA", "SIMAMA"),
    Keyword.START: ("START", "UNSTOP", "DEMARRER", "ANZA"),
    Keyword.HELP: ("HELP", "AIDE", "MSAADA"),
    Keyword.STATUS: ("STATUS", "STATUT", "SUIVI", "HALI"),
    Keyword.REPORT: ("REPORT", "SIGNALER", "RIPOTI", "TANGAZA"),
}

_LOOKUP = {word: keyword for keyword, words in WORDS.items() for word in words}


@dataclass(frozen=True, slots=True)
class Match:
    keyword: Keyword
    argument: str


def fold(text: str) -> str:
    """Upper-case without accents: 'Arrêt' and 'ARRET' are the same word."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).upper()


def match(body: str) -> Match | None:
    """The keyword a message starts with, and the rest of it, or None."""
    head, _, rest = body.strip().partition(" ")
    keyword = _LOOKUP.get(fold(head).strip(".!"))
    return Match(keyword, rest.strip()) if keyword is not None else None
