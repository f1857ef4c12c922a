"""Which language folder plays each prompt, each language's manifest, and the audio
played lately, kept in memory.

`PromptIndex.refresh` (run by the runtime's refresh loop) first reads the published
prompts' stamp (`voiceprompts.published_stamp`: one aggregate that reads no audio); only
when it differs from the last does it read what is published (language, file, sha256,
text, source, duration: one query), and only when that or the sources changed are the
manifests computed again, each on first request. The sources count as the same while
the flow version, the catalogs and the names of the places are: the place tree read
again every minute changes nothing unless a name did. What each language needs
(`PromptIndex.needed`) is kept per flow version and language, for the manifests and the
simulator alike.

`PromptIndex.audio` keeps the WAVs served lately by sha256 (`AudioCache`), up to
`AUDIO_CACHE_BYTES` in all: a re-recorded prompt has another sha256, so nothing kept is
ever stale. A prompt missing in a language is played from its fallback language
(SAUTI_VOICE_FALLBACK) when that has it, and from nowhere otherwise: the admin decides
which language may stand in for which.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from flows.i18n import Catalogs
from flows.places import PlaceProvider
from flows.voice import PromptText
from gateway.prompts.needed import Sources
from storage import voiceprompts
from storage.models import PromptSource
from storage.voiceprompts import Stamp, Stored

AUDIO_CACHE_BYTES = 64 * 1024 * 1024
NEEDED_KEPT = 32  # (flow version, language) pairs whose needed prompts are kept


class AudioCache:
    """WAV bytes by sha256, the least recently used dropped beyond `limit` bytes in all."""

    def __init__(self, limit: int = AUDIO_CACHE_BYTES) -> None:
        self.limit = limit
        self.size = 0
        self._kept: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, sha256: str) -> bytes | None:
        with self._lock:
            found = self._kept.get(sha256)
            if found is not None:
                self._kept.move_to_end(sha256)
            return found

    def put(self, sha256: str, wav: bytes) -> None:
        if len(wav) > self.limit:
            return
        with self._lock:
            old = self._kept.pop(sha256, None)
            if old is not None:
                self.size -= len(old)
            self._kept[sha256] = wav
            self.size += len(wav)
            while self.size > self.limit:
                _, dropped = self._kept.popitem(last=False)
                self.size -= len(dropped)

    def __len__(self) -> int:
        return len(self._kept)


def place_names(places: PlaceProvider) -> frozenset[str]:
    """The names of every place the menus list (all the needed prompts say of places)."""
    return frozenset(_walk(places))


def _walk(places: PlaceProvider) -> Iterator[str]:
    seen: set[str] = set()
    frontier: list[str | None] = [None]
    while frontier:
        for place in places.children(frontier.pop()):
            if place.code not in seen:
                seen.add(place.code)
                frontier.append(place.code)
                yield place.name


class PromptIndex:
    """The published prompts of every language, by file; see the module's text."""

    def __init__(
        self,
        fallback: Mapping[str, str] | None = None,
        sessions: sessionmaker[Session] | None = None,
        audio_bytes: int = AUDIO_CACHE_BYTES,
    ) -> None:
        self.fallback: dict[str, str] = dict(fallback or {})
        self.sessions = sessions
        self.audio = AudioCache(audio_bytes)
        self._stamp: Stamp | None = None
        self._digests: dict[str, dict[str, str]] = {}
        self._stored: dict[str, dict[str, Stored]] = {}
        self._sources: Sources | None = None
        self._source_names: frozenset[str] = frozenset()
        self._manifests: dict[str, dict[str, Any]] = {}
        self._names: tuple[PlaceProvider, frozenset[str]] | None = None
        self._needed: OrderedDict[
            tuple[str, str], tuple[Catalogs, frozenset[str], dict[str, PromptText]]
        ] = OrderedDict()
        self._lock = threading.RLock()

    # -- loading ---------------------------------------------------------------------------

    def refresh(self, session: Session | None = None, sources: Sources | None = None) -> bool:
        """Read the stamp (in `session`, else a session of its own), and what is published
        when the stamp changed; take `sources` when they differ. Return whether anything
        changed."""
        if session is None:
            if self.sessions is None:
                raise RuntimeError("the prompt index was given no database to read")
            with self.sessions() as own:
                return self.refresh(own, sources)
        stamp = voiceprompts.published_stamp(session=session)
        changed = False
        if stamp != self._stamp:
            stored = voiceprompts.published_stored(session=session)
            digests = {
                lang: {file: found.sha256 for file, found in files.items()}
                for lang, files in stored.items()
            }
            with self._lock:
                self._stamp = stamp
                if stored != self._stored:
                    self._digests, self._stored = digests, stored
                    changed = True
        names = self.names_of(sources.places) if sources is not None else None
        with self._lock:
            if names is not None and not self._same_sources(sources, names):
                self._sources, self._source_names = sources, names
                changed = True
            if changed:
                self._manifests = {}
        return changed

    def _same_sources(self, new: Sources | None, names: frozenset[str]) -> bool:
        old = self._sources
        return (
            new is not None
            and old is not None
            and new.bundle.version == old.bundle.version
            and new.catalogs is old.catalogs
            and _same(names, self._source_names)
        )

    def names_of(self, places: PlaceProvider) -> frozenset[str]:
        """`place_names(places)`, walked once per place tree read."""
        with self._lock:
            last = self._names
            if last is not None and last[0] is places:
                return last[1]
        names = place_names(places)
        with self._lock:
            if last is not None and _same(last[1], names):
                names = last[1]  # the same names: compared by identity from now on
            self._names = (places, names)
        return names

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

    def needed(self, sources: Sources, lang: str) -> dict[str, PromptText]:
        """`sources.needed(lang)`, computed once per flow version and language while the
        catalogs and the place names stay the same (shared: do not change it)."""
        key = (sources.bundle.version, lang)
        names = self.names_of(sources.places)
        with self._lock:
            kept = self._needed.get(key)
            if kept is not None and kept[0] is sources.catalogs and _same(kept[1], names):
                self._needed.move_to_end(key)
                return kept[2]
        found = sources.needed(lang)
        with self._lock:
            self._needed[key] = (sources.catalogs, names, found)
            self._needed.move_to_end(key)
            while len(self._needed) > NEEDED_KEPT:
                self._needed.popitem(last=False)
        return found

    def cached_manifest(self, lang: str) -> dict[str, Any] | None:
        """The manifest of `lang` when it is computed already, else None."""
        with self._lock:
            return self._manifests.get(lang)

    def manifest(self, lang: str) -> dict[str, Any]:
        """Every prompt `lang` needs, with what is published of it (see `serve`): computed
        on first request, in the caller's thread (a request hands it to a thread)."""
        with self._lock:
            found = self._manifests.get(lang)
            sources, stored = self._sources, self._stored
        if found is not None:
            return found
        if sources is None:
            raise RuntimeError("the prompt index has not been refreshed with its sources")
        needed = self.needed(sources, lang)
        found = _manifest(lang, needed, sources, stored, self.fallback.get(lang))
        with self._lock:
            if self._sources is sources and self._stored is stored:
                self._manifests[lang] = found
        return found


def _same(one: frozenset[str], other: frozenset[str]) -> bool:
    return one is other or one == other


def _manifest(
    lang: str,
    needed: Mapping[str, PromptText],
    sources: Sources,
    stored: Mapping[str, Mapping[str, Stored]],
    stand_in: str | None,
) -> dict[str, Any]:
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


__all__ = ["AUDIO_CACHE_BYTES", "AudioCache", "PromptIndex", "place_names"]
