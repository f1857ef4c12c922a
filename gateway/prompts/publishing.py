"""What publishing a flow version asks of the voice prompts.

The rule, for each language offered by voice (SAUTI_VOICE_LANGUAGES) that has prompts
published already:

1. where text-to-speech speaks the language, every prompt the new version needs and the
   language lacks is synthesised first (a few milliseconds each), never over a recording;
2. publishing is then refused when the new version needs prompts that cannot be played
   (missing in the language and in its fallback) and that the published version did not
   need: a new version may not make the line worse. Prompts already unplayable under the
   published version do not block it (`sauti voice lint` reports them).

A language with no prompt at all is not on the line yet and blocks nothing; with
SAUTI_VOICE_LANGUAGES empty, nothing is checked. A rollback is not checked either: it is
the way out of a bad publication, and the prompts of a version published before are kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session

from flows.engine import Bundle
from gateway.prompts import synth
from gateway.prompts.build import build_language
from gateway.prompts.needed import Sources
from storage import voiceprompts
from storage.settings import Settings


@dataclass(frozen=True)
class Shortfall:
    """A language the new version would leave with prompts it cannot play."""

    language: str
    new_unplayable: int
    unplayable: int

    def message(self) -> str:
        return (
            f"{self.language}: {self.new_unplayable} prompt(s) this version adds have no audio "
            f"({self.unplayable} unplayable in all); record them in the console (or set "
            f"SAUTI_VOICE_FALLBACK for {self.language}), then publish"
        )


def _unplayable(
    sources: Sources,
    lang: str,
    have: Mapping[str, voiceprompts.Stored],
    other: Mapping[str, voiceprompts.Stored] | None,
) -> set[str]:
    return {
        file
        for file in sources.needed(lang)
        if file not in have and (other is None or file not in other)
    }


def check(
    session: Session, settings: Settings, current: Sources, bundle: Bundle
) -> list[Shortfall]:
    """Synthesise what the new `bundle` needs where text-to-speech can, then return the
    languages it would leave worse off (see the module's text); the caller commits."""
    new = Sources(bundle, current.catalogs, current.places)
    found: list[Shortfall] = []
    for lang in settings.voice_languages:
        if not voiceprompts.stored(session=session, language=lang):
            continue
        if synth.has_voice(lang):
            build_language(session, new, lang)
        have = voiceprompts.stored(session=session, language=lang)
        stand_in = settings.voice_fallback.get(lang)
        other = voiceprompts.stored(session=session, language=stand_in) if stand_in else None
        after = _unplayable(new, lang, have, other)
        added = after - _unplayable(current, lang, have, other)
        if added:
            found.append(Shortfall(lang, len(added), len(after)))
    return found


def refusal(shortfalls: list[Shortfall]) -> str:
    """One message naming each language and its count."""
    return "not published: prompts missing on the voice line. " + "; ".join(
        shortfall.message() for shortfall in shortfalls
    )


__all__ = ["Shortfall", "check", "refusal"]
