"""The prompts each language needs, against the flows, catalogs and places in use.

A language needs every prompt `flows.voice.prompt_texts` lists for it: each literal part
of every text the flows speak (as that language's catalog translates it), every place's
name, and the language's own name (said in itself, for the language menu).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session

from flows.engine import Bundle
from flows.i18n import Catalogs
from flows.loader import load_bundle, shipped_bundle
from flows.places import PlaceProvider
from flows.voice import PromptText, prompt_texts
from storage import flowstore, translations, voiceprompts
from storage.places import PlaceTree
from storage.settings import Settings
from storage.voiceprompts import Coverage


@dataclass(frozen=True)
class Sources:
    """What the needed prompts are computed from."""

    bundle: Bundle
    catalogs: Catalogs
    places: PlaceProvider

    def needed(self, lang: str) -> dict[str, PromptText]:
        """File -> prompt, of every prompt a caller in `lang` may hear."""
        return prompt_texts(self.bundle, lang, self.catalogs.translator, self.places, (lang,))


def load_sources(
    session: Session,
    settings: Settings,
    *,
    bundle: Bundle | None = None,
    catalogs: Catalogs | None = None,
    places: PlaceProvider | None = None,
) -> Sources:
    """The published bundle, the catalogs in use and the place tree (each unless given)."""
    if bundle is None:
        row = flowstore.published_bundle(session=session)
        bundle = load_bundle(row.texts) if row is not None else shipped_bundle()
    return Sources(
        bundle=bundle,
        catalogs=catalogs
        if catalogs is not None
        else translations.service_catalogs(session=session, languages=settings.languages),
        places=places if places is not None else PlaceTree.load(session),
    )


def coverages(
    session: Session,
    settings: Settings,
    sources: Sources,
    languages: Iterable[str] | None = None,
) -> dict[str, Coverage]:
    """Language -> its coverage (default: every voice language), with its fallback."""
    fallback: Mapping[str, str] = settings.voice_fallback
    found: dict[str, Coverage] = {}
    for lang in settings.voice_languages if languages is None else languages:
        found[lang] = voiceprompts.coverage(
            session=session,
            language=lang,
            needed=sources.needed(lang),
            fallback_language=fallback.get(lang),
        )
    return found


__all__ = ["Sources", "coverages", "load_sources"]
