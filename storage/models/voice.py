"""The audio prompts of the voice line, per language."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Float, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.db import Base, UtcDateTime, one_of


class PromptSource(StrEnum):
    """Text-to-speech (a starter, to be replaced) or a person's recording."""

    TTS = "tts"
    RECORDED = "recorded"


class PromptStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"


class VoicePrompt(Base):
    """One audio file of a language: what it says (`text`) and the WAV itself.

    Lifecycle: a recording uploaded from the console is a DRAFT until the language's drafts
    are published, when it replaces the PUBLISHED row of the same file; a text-to-speech
    build writes PUBLISHED rows directly, never over a recorded one. At most one row per
    (language, file, status). `text` is the text the audio says, so a prompt whose text
    has changed since (a new translation) can be told apart as stale.
    """

    __tablename__ = "voice_prompts"
    __table_args__ = (
        one_of("source", PromptSource),
        one_of("status", PromptStatus),
        UniqueConstraint("language", "file", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    language: Mapped[str] = mapped_column(String(8))
    file: Mapped[str] = mapped_column(String(40))
    message_id: Mapped[str] = mapped_column(Text)
    context: Mapped[str] = mapped_column(String(12))
    part: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(12))
    status: Mapped[str] = mapped_column(String(12))
    audio: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    duration_ms: Mapped[int] = mapped_column(Integer)
    loudness_lufs: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
