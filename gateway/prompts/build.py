"""`sauti voice build`: starter prompts by text-to-speech, recording kits for the rest.

For each language (default: every enabled one) that text-to-speech speaks (`synth.VOICES`)
every needed prompt that is missing, or whose text-to-speech audio says an older text, is
synthesised and saved as published; a recorded prompt is never replaced (`--force`
re-synthesises every text-to-speech prompt, still never a recording). For a language it
does not speak, a recording kit is written instead: a sheet of every prompt to record
(file name, message id, what to say, whether it is there yet) and a README saying how to
record and upload them. One transaction per language: a failure leaves the others built.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from flows.voice import PromptText
from gateway.prompts import synth
from gateway.prompts.audio import MAX_SECONDS, RATE, TARGET_LUFS
from gateway.prompts.needed import Sources, load_sources
from storage import voiceprompts
from storage.db import utcnow
from storage.models import PromptSource, PromptStatus
from storage.settings import Settings

KIT_FOLDER = "voice-kit"
SHEET = "prompts.csv"
README = "README.txt"
SHEET_COLUMNS = ("file", "message_id", "context", "part", "text", "status")


@dataclass(frozen=True)
class Built:
    """What one language's build did."""

    language: str
    needed: int
    built: int = 0  # synthesised now
    kept: int = 0  # already there and current (text-to-speech or recorded)
    recorded: int = 0  # recordings left as they are (current or not)
    kit: Path | None = None  # the recording kit written, for a language without a voice
    seconds: float = 0.0

    def line(self) -> str:
        if self.kit is not None:
            return (
                f"{self.language}: no text-to-speech voice; recording kit of {self.needed} "
                f"prompts in {self.kit}"
            )
        return (
            f"{self.language}: {self.built} built, {self.kept} kept ({self.recorded} recorded) "
            f"of {self.needed} prompts in {self.seconds:.1f} s"
        )


def _stale_or_missing(
    needed: Mapping[str, PromptText], have: Mapping[str, voiceprompts.Stored], force: bool
) -> tuple[list[PromptText], int, int]:
    """(prompts to synthesise, how many are kept, how many of those are recorded)."""
    todo: list[PromptText] = []
    kept = recorded = 0
    for file, prompt in needed.items():
        found = have.get(file)
        if found is not None and found.source == PromptSource.RECORDED:
            kept += 1
            recorded += 1
        elif found is not None and found.text == prompt.text and not force:
            kept += 1
        else:
            todo.append(prompt)
    return todo, kept, recorded


def build_language(session: Session, sources: Sources, lang: str, *, force: bool = False) -> Built:
    """Synthesise what `lang` lacks (it must have a voice); the caller commits."""
    started = time.perf_counter()
    needed = sources.needed(lang)
    have = voiceprompts.stored(session=session, language=lang)
    todo, kept, recorded = _stale_or_missing(needed, have, force)
    now = utcnow()
    built = 0
    for prompt in todo:
        audio = synth.speak(prompt.text, lang)
        saved = voiceprompts.save(
            session=session,
            language=lang,
            prompt=prompt,
            audio=audio,
            source=PromptSource.TTS,
            status=PromptStatus.PUBLISHED,
            now=now,
        )
        built += saved is not None
    seconds = time.perf_counter() - started
    return Built(lang, len(needed), built, kept, recorded, seconds=seconds)


def write_kit(
    session: Session, sources: Sources, lang: str, folder: Path, settings: Settings
) -> Built:
    """Write the recording kit of `lang` into `folder` (created; its two files replaced)."""
    started = time.perf_counter()
    needed = sources.needed(lang)
    have = voiceprompts.stored(session=session, language=lang)
    folder.mkdir(parents=True, exist_ok=True)
    recorded = 0
    with (folder / SHEET).open("w", encoding="utf-8", newline="") as out:
        sheet = csv.writer(out)
        sheet.writerow(SHEET_COLUMNS)
        for prompt in sorted(needed.values(), key=lambda p: (p.context, p.message_id, p.part)):
            status = voiceprompts.status_of(prompt, have, None, None)
            recorded += status == voiceprompts.PRESENT
            sheet.writerow(
                (prompt.file, prompt.message_id, prompt.context, prompt.part, prompt.text, status)
            )
    (folder / README).write_text(_readme(lang, len(needed), settings), encoding="utf-8")
    seconds = time.perf_counter() - started
    return Built(lang, len(needed), kept=recorded, recorded=recorded, kit=folder, seconds=seconds)


def _readme(lang: str, count: int, settings: Settings) -> str:
    fallback = settings.voice_fallback.get(lang)
    offered = lang in settings.voice_languages
    return f"""Sauti voice line: the prompts to record in {lang}

{SHEET} lists the {count} prompts a caller in this language may hear, one a row:
  file        the name the recording must have (e.g. t-0123456789.wav)
  message_id  the English text it stands for (for reference)
  context     text (a part of a sentence), place (a place name) or language (the
              language's own name, as it is said in the language itself)
  part        which part of a sentence cut at its blanks (0 = the first)
  text        what to say, exactly, in {lang}
  status      present (recorded already), stale (recorded for an older text: record
              again), missing

A sentence with a blank in it ("Case {{case}}. ...") is recorded in parts: each part is a
row of its own, and the line plays the parts around the blank (the case number is read
digit by digit from the digit prompts, a place from its name's prompt).

How to record
- A quiet room, the same person and the same distance from the microphone for all.
- Say the text of each row as written, calmly and clearly, as if on the phone.
- Leave a short silence before and after; one recording per row, at most {MAX_SECONDS} s.
- Save each as WAV, FLAC or OGG, named as in the file column (any extension of those three
  is taken; the line keeps {RATE} Hz mono, its loudness set to {TARGET_LUFS:g} LUFS).

How to upload
- In the console, open the voice prompts page for {lang} and upload a zip of the files,
  or one file at a time. Each upload is checked (format, length, not silent), normalised,
  and kept as a draft to listen to; publishing the language's drafts makes them live.
- `sauti voice lint` then tells how many prompts are still missing.

This language is {"offered" if offered else "not offered"} on the voice line
(SAUTI_VOICE_LANGUAGES). {
        f"Missing prompts are played in {fallback} (SAUTI_VOICE_FALLBACK)."
        if fallback
        else "Until it is recorded, callers cannot be offered it."
    }
"""


def kit_folder(settings: Settings, lang: str, kit: Path | None = None) -> Path:
    """Where the kit of `lang` goes: under `kit` when given, else var/voice-kit/<lang>."""
    base = kit if kit is not None else settings.var_dir / KIT_FOLDER
    return base / lang


def build(
    sessions: sessionmaker[Session],
    settings: Settings,
    languages: Iterable[str] | None = None,
    *,
    force: bool = False,
    kit: Path | None = None,
) -> list[Built]:
    """Build the prompts (or write the kit) of each language, one transaction each."""
    wanted = list(dict.fromkeys(languages if languages else settings.languages))
    with sessions() as session:
        sources = load_sources(session, settings)
    found: list[Built] = []
    for lang in wanted:
        with sessions.begin() as session:
            if synth.has_voice(lang):
                found.append(build_language(session, sources, lang, force=force))
            else:
                folder = kit_folder(settings, lang, kit)
                found.append(write_kit(session, sources, lang, folder, settings))
    return found


def build_if_none(sessions: sessionmaker[Session], settings: Settings) -> list[Built] | None:
    """Build every voice language's prompts when no prompt is published at all (a fresh
    install); None when some are."""
    with sessions() as session:
        if voiceprompts.any_published(session=session):
            return None
    voiced = [lang for lang in settings.voice_languages if synth.has_voice(lang)]
    return build(sessions, settings, voiced)


def first_build(settings: Settings) -> str | None:
    """For `make run`: build the voice languages' prompts when none exist; the line to
    print (count and seconds), or None when prompts were there already."""
    from gateway.release import database

    started = time.perf_counter()
    try:
        with database(settings) as sessions:
            found = build_if_none(sessions, settings)
    except synth.SynthError as exc:
        return f"voice prompts not built ({exc}): run `sauti voice build`"
    if found is None:
        return None
    count = sum(built.built for built in found)
    languages = ", ".join(f"{built.language} {built.built}" for built in found)
    seconds = time.perf_counter() - started
    return f"built {count} voice prompts by text-to-speech ({languages}) in {seconds:.1f} s"


__all__ = [
    "Built",
    "build",
    "build_if_none",
    "build_language",
    "first_build",
    "kit_folder",
    "write_kit",
]
