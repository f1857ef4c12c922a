"""The voice line's audio prompts: saved, listed, published, discarded, counted.

A language's prompts are files named the same in every language (`flows.voice`); each row
keeps the audio with the text it says. Text-to-speech builds write published rows at once
and never replace a recording; recordings uploaded from the console wait as drafts until
the language's drafts are published (audited), when each replaces the published row of
its file. Functions add and flush but never commit: the caller owns the transaction.

A published prompt is never changed in place: a new one is a new row, written while the
row it replaces still exists (under a name set aside, `RETIRED`), so its id is above every
id published before. `published_stamp` (the count, highest and sum of the published ids:
one query the database answers from an index, without reading any audio) therefore
changes whenever what is published does, and the line reads the prompts again only then.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, and_, delete, func, insert, literal, or_, select, update
from sqlalchemy.orm import Session, defer

from flows.voice import PromptText
from storage.models import PromptSource, PromptStatus, VoicePrompt
from storage.users import audit

RETIRED = "~"  # appended to the name of a row while its replacement is written


@dataclass(frozen=True, slots=True)
class Audio:
    """An encoded prompt: 16-bit PCM mono WAV bytes and what was measured of them."""

    wav: bytes
    sha256: str
    duration_ms: int
    loudness_lufs: float | None


def _row(
    *, session: Session, language: str, file: str, status: str, with_audio: bool = False
) -> VoicePrompt | None:
    query = select(VoicePrompt).where(
        VoicePrompt.language == language, VoicePrompt.file == file, VoicePrompt.status == status
    )
    if not with_audio:
        query = query.options(defer(VoicePrompt.audio))
    return session.scalar(query)


def save(
    *,
    session: Session,
    language: str,
    prompt: PromptText,
    audio: Audio,
    source: str,
    status: str,
    now: datetime,
    created_by: int | None = None,
) -> VoicePrompt | None:
    """Keep one prompt as a draft or as published, replacing the row of the same file and
    status; return None (and change nothing) when a text-to-speech prompt would replace
    a published recording."""
    PromptSource(source)
    PromptStatus(status)
    old = _row(session=session, language=language, file=prompt.file, status=status)
    if old is not None and source == PromptSource.TTS and old.source == PromptSource.RECORDED:
        return None
    if old is not None:
        old.file += RETIRED  # frees the name: the new row is written while this one exists
        session.flush()
    row = VoicePrompt(
        language=language,
        file=prompt.file,
        status=status,
        message_id=prompt.message_id,
        context=prompt.context,
        part=prompt.part,
        text=prompt.text,
        source=source,
        audio=audio.wav,
        sha256=audio.sha256,
        duration_ms=audio.duration_ms,
        loudness_lufs=audio.loudness_lufs,
        created_at=now,
        created_by=created_by,
    )
    session.add(row)
    session.flush()
    if old is not None:
        session.delete(old)
        session.flush()
    return row


def prompts(*, session: Session, language: str, status: str) -> Sequence[VoicePrompt]:
    """The rows of a language in one status, without their audio, by file name."""
    query = (
        select(VoicePrompt)
        .options(defer(VoicePrompt.audio))
        .where(VoicePrompt.language == language, VoicePrompt.status == status)
        .order_by(VoicePrompt.file)
    )
    return session.scalars(query).all()


def published(*, session: Session, language: str) -> Sequence[VoicePrompt]:
    """The published prompts of a language, without their audio."""
    return prompts(session=session, language=language, status=PromptStatus.PUBLISHED)


def drafts(*, session: Session, language: str) -> Sequence[VoicePrompt]:
    """The drafts of a language waiting to be published, without their audio."""
    return prompts(session=session, language=language, status=PromptStatus.DRAFT)


def published_digests(*, session: Session) -> dict[str, dict[str, str]]:
    """Language -> {file: sha256} of every published prompt (what the index keeps)."""
    query = select(VoicePrompt.language, VoicePrompt.file, VoicePrompt.sha256).where(
        VoicePrompt.status == PromptStatus.PUBLISHED
    )
    found: dict[str, dict[str, str]] = {}
    for language, file, digest in session.execute(query):
        found.setdefault(language, {})[file] = digest
    return found


Stamp = tuple[int, int, int]


def published_stamp(*, session: Session) -> Stamp:
    """(count, highest id, sum of ids) of the published prompts: it changes whenever what
    is published does (see the module's text), and costs no read of any audio."""
    query = select(
        func.count(VoicePrompt.id),
        func.coalesce(func.max(VoicePrompt.id), 0),
        func.coalesce(func.sum(VoicePrompt.id), 0),
    ).where(VoicePrompt.status == PromptStatus.PUBLISHED)
    count, highest, total = session.execute(query).one()
    return int(count), int(highest), int(total)


def any_published(*, session: Session) -> bool:
    """Tell whether any language has a published prompt at all."""
    query = select(VoicePrompt.id).where(VoicePrompt.status == PromptStatus.PUBLISHED).limit(1)
    return session.scalar(query) is not None


def audio(
    *, session: Session, language: str, file: str, status: str = PromptStatus.PUBLISHED
) -> tuple[bytes, str] | None:
    """(WAV bytes, sha256) of one prompt, or None."""
    query = select(VoicePrompt.audio, VoicePrompt.sha256).where(
        VoicePrompt.language == language, VoicePrompt.file == file, VoicePrompt.status == status
    )
    found = session.execute(query).first()
    return (bytes(found[0]), found[1]) if found is not None else None


def publish_drafts(
    *, session: Session, language: str, actor: str, now: datetime, ip_hash: str | None = None
) -> int:
    """Make every draft of `language` its published prompt (each replacing the published
    row of its file); audited. Return how many were published."""
    waiting = drafts(session=session, language=language)
    if not waiting:
        return 0
    files = [row.file for row in waiting]
    replaced = (
        VoicePrompt.language == language,
        VoicePrompt.status == PromptStatus.PUBLISHED,
        VoicePrompt.file.in_(files),
    )
    session.execute(update(VoicePrompt).where(*replaced).values(file=VoicePrompt.file + RETIRED))
    # Each draft is copied (in the database: no audio passes through here) into a new
    # published row, its id above every other, before the rows it replaces go.
    copied = [c for c in VoicePrompt.__table__.columns if c.name not in ("id", "status")]
    session.execute(
        insert(VoicePrompt).from_select(
            [c.name for c in copied] + ["status"],
            select(*copied, literal(str(PromptStatus.PUBLISHED))).where(
                VoicePrompt.language == language, VoicePrompt.status == PromptStatus.DRAFT
            ),
        )
    )
    retired = and_(
        VoicePrompt.status == PromptStatus.PUBLISHED,
        VoicePrompt.file.in_([file + RETIRED for file in files]),
    )
    session.execute(
        delete(VoicePrompt).where(
            VoicePrompt.language == language,
            or_(retired, VoicePrompt.status == PromptStatus.DRAFT),
        )
    )
    session.flush()
    audit(
        session=session,
        actor=actor,
        action="voice.publish",
        target=language,
        data={"prompts": len(files), "files": files[:50]},
        ip_hash=ip_hash,
        now=now,
    )
    return len(files)


def discard_drafts(
    *, session: Session, language: str, actor: str, now: datetime, ip_hash: str | None = None
) -> int:
    """Delete every draft of `language`; audited. Return how many were discarded."""
    statement = delete(VoicePrompt).where(
        VoicePrompt.language == language, VoicePrompt.status == PromptStatus.DRAFT
    )
    count = cast(CursorResult[Any], session.execute(statement)).rowcount
    session.flush()
    if count:
        audit(
            session=session,
            actor=actor,
            action="voice.discard",
            target=language,
            data={"prompts": int(count)},
            ip_hash=ip_hash,
            now=now,
        )
    return int(count or 0)


# -- coverage ------------------------------------------------------------------------------

PRESENT = "present"
STALE = "stale"
MISSING = "missing"
FALLBACK = "fallback:"


@dataclass(frozen=True, slots=True)
class Stored:
    """What is known of a published prompt without its audio."""

    text: str
    source: str
    sha256: str
    duration_ms: int


@dataclass(frozen=True, slots=True)
class Coverage:
    """How many of the prompts a language needs it has, and of which kind."""

    language: str
    needed: int
    present: int  # published, whatever its text (stale ones included)
    tts: int
    recorded: int
    stale: int  # published with a text other than the current one
    fallback: int  # missing here, played from the fallback language
    fallback_language: str | None = None

    @property
    def missing(self) -> int:
        return self.needed - self.present

    @property
    def unplayable(self) -> int:
        """Prompts a caller would not hear at all (missing here and in the fallback)."""
        return self.missing - self.fallback

    def line(self) -> str:
        """One line as `sauti voice lint` prints it."""
        text = (
            f"{self.language}: {self.present}/{self.needed} prompts ({self.tts} text-to-speech,"
            f" {self.recorded} recorded), {self.stale} stale, {self.missing} missing"
        )
        if self.fallback_language and self.missing:
            text += f" ({self.fallback} played in {self.fallback_language})"
        return text


def published_stored(*, session: Session) -> dict[str, dict[str, Stored]]:
    """Language -> file -> what is published of it, for every language in one query."""
    query = select(
        VoicePrompt.language,
        VoicePrompt.file,
        VoicePrompt.text,
        VoicePrompt.source,
        VoicePrompt.sha256,
        VoicePrompt.duration_ms,
    ).where(VoicePrompt.status == PromptStatus.PUBLISHED)
    found: dict[str, dict[str, Stored]] = {}
    for language, file, text, source, digest, duration in session.execute(query):
        found.setdefault(language, {})[file] = Stored(text, source, digest, duration)
    return found


def stored(*, session: Session, language: str) -> dict[str, Stored]:
    """File -> what is published of it, for one language."""
    return {
        row.file: Stored(row.text, row.source, row.sha256, row.duration_ms)
        for row in published(session=session, language=language)
    }


def status_of(
    prompt: PromptText,
    have: Mapping[str, Stored],
    fallback: Mapping[str, Stored] | None,
    fallback_language: str | None,
) -> str:
    """present | stale | missing | fallback:<lang> of one needed prompt."""
    found = have.get(prompt.file)
    if found is not None:
        return PRESENT if found.text == prompt.text else STALE
    if fallback is not None and fallback_language and prompt.file in fallback:
        return FALLBACK + fallback_language
    return MISSING


def coverage_of(
    language: str,
    needed: Mapping[str, PromptText],
    have: Mapping[str, Stored],
    fallback: Mapping[str, Stored] | None = None,
    fallback_language: str | None = None,
) -> Coverage:
    """Count what `have` holds of `needed` (and what the fallback stands in for)."""
    present = tts = recorded = stale = stand_in = 0
    for file, prompt in needed.items():
        found = have.get(file)
        if found is None:
            stand_in += bool(fallback and file in fallback)
            continue
        present += 1
        tts += found.source == PromptSource.TTS
        recorded += found.source == PromptSource.RECORDED
        stale += found.text != prompt.text
    return Coverage(
        language, len(needed), present, tts, recorded, stale, stand_in, fallback_language
    )


def coverage(
    *,
    session: Session,
    language: str,
    needed: Mapping[str, PromptText],
    fallback_language: str | None = None,
) -> Coverage:
    """The coverage of one language against the prompts it needs."""
    have = stored(session=session, language=language)
    other = stored(session=session, language=fallback_language) if fallback_language else None
    return coverage_of(language, needed, have, other, fallback_language)
