"""Which language folder plays each prompt, and each language's manifest, kept in memory.

`PromptIndex.refresh` reads the digests of every published prompt (language, file, sha256:
one small query, run by the runtime's refresh loop); only when they differ from the last
read does it read what the manifest shows of them (text, source, duration), and only then
are the manifests computed again, each on first request. A prompt missing in a language
is played from its fallback language (SAUTI_VOICE_FALLBACK) when that has it, and from
nowhere otherwise: the admin decides which language may stand in for which.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from gateway.prompts.needed import Sources
from storage import voiceprompts
from storage.models import PromptSource
from storage.voiceprompts import Stored


class PromptIndex:
    """The published prompts of every language, by file; see the module's text."""

    def __init__(
        self,
        fallback: Mapping[str, str] | None = None,
        sessions: sessionmaker[Session] | None = None,
    ) -> None:
        self.fallback: dict[str, str] = dict(fallback or {})
        self.sessions = sessions
        self._digests: dict[str, dict[str, str]] = {}
        self._stored: dict[str, dict[str, Stored]] = {}
        self._sources: Sources | None = None
        self._manifests: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    # -- loading ---------------------------------------------------------------------------

    def refresh(self, session: Session | None = None, sources: Sources | None = None) -> bool:
        """Read the digests (in `session`, else a session of its own); reload the details
        when they changed (or the sources did). Return whether anything changed."""
        if session is None:
            if self.sessions is None:
                raise RuntimeError("the prompt index was given no database to read")
            with self.sessions() as own:
                return self.refresh(own, sources)
        digests = voiceprompts.published_digests(session=session)
        changed = digests != self._digests
        stored = voiceprompts.published_stored(session=session) if changed else self._stored
        with self._lock:
            if sources is not None and not _same_sources(sources, self._sources):
                self._sources = sources
                changed = True
            if changed:
                self._digests, self._stored = digests, stored
                self._manifests = {}
        return changed

    # -- lookups ---------------------------------------------------------------------------

    def digest(self, lang: str, file: str) -> str | None:
        """The sha256 of the prompt published in `lang`'s own folder, or None."""
        return self._digests.get(lang, {}).get(file)

    def where(self, lang: str, file: str) -> str | None:
        """The language folder that plays `file` to a caller in `lang`: `lang` when it has
        it, else its fallback language when that has it, else None."""
        if file in self._digests.get(lang, {}):
            return lang
        stand_in = self.fallback.get(lang)
        if stand_in and file in self._digests.get(stand_in, {}):
            return stand_in
        return None

    def languages(self) -> tuple[str, ...]:
        """The languages with at least one published prompt."""
        return tuple(sorted(self._digests))

    def manifest(self, lang: str) -> dict[str, Any]:
        """Every prompt `lang` needs, with what is published of it (see `serve`)."""
        with self._lock:
            found = self._manifests.get(lang)
            sources, stored = self._sources, self._stored
        if found is not None:
            return found
        if sources is None:
            raise RuntimeError("the prompt index has not been refreshed with its sources")
        found = _manifest(lang, sources, stored, self.fallback.get(lang))
        with self._lock:
            if self._sources is sources:
                self._manifests[lang] = found
        return found


def _same_sources(new: Sources, old: Sources | None) -> bool:
    return (
        old is not None
        and new.bundle.version == old.bundle.version
        and new.catalogs is old.catalogs
        and new.places is old.places
    )


def _manifest(
    lang: str,
    sources: Sources,
    stored: Mapping[str, Mapping[str, Stored]],
    stand_in: str | None,
) -> dict[str, Any]:
    needed = sources.needed(lang)
    have = stored.get(lang, {})
    other = stored.get(stand_in) if stand_in else None
    files = []
    for prompt in sorted(needed.values(), key=lambda p: p.file):
        status = voiceprompts.status_of(prompt, have, other, stand_in)
        found = have.get(prompt.file)
        if found is None and other is not None:
            found = other.get(prompt.file)
        files.append(
            {
                "file": prompt.file,
                "message_id": prompt.message_id,
                "context": prompt.context,
                "part": prompt.part,
                "text": prompt.text,
                "status": status,
                "source": found.source if found else None,
                "tts": found is not None and found.source == PromptSource.TTS,
                "sha256": found.sha256 if found else None,
                "duration_ms": found.duration_ms if found else None,
            }
        )
    coverage = voiceprompts.coverage_of(lang, needed, have, other, stand_in)
    return {
        "language": lang,
        "flow_version": sources.bundle.version,
        "fallback": stand_in,
        "coverage": {
            "needed": coverage.needed,
            "present": coverage.present,
            "tts": coverage.tts,
            "recorded": coverage.recorded,
            "stale": coverage.stale,
            "missing": coverage.missing,
            "fallback": coverage.fallback,
            "unplayable": coverage.unplayable,
        },
        "prompts": files,
    }


__all__ = ["PromptIndex"]
