"""Spoken answers of the voice line: a caller's recording, kept encrypted like descriptions."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Index, Integer, LargeBinary, String, false
from sqlalchemy.orm import Mapped, mapped_column

from storage.db import Base, UtcDateTime, one_of
from storage.models.outbox import Provider


class RecordingStatus(StrEnum):
    """PENDING: known by its provider URL, not fetched yet. STORED: the audio is here,
    encrypted. FAILED: it could not be fetched. ERASED: retention took the audio and the
    URL away (the row stays, naming nothing, so the erasure can be counted)."""

    PENDING = "pending"
    STORED = "stored"
    FAILED = "failed"
    ERASED = "erased"


class CallRecording(Base):
    """One spoken answer to a free-text question, known to the flows as
    ``[spoken answer <ref>]``.

    Lifecycle: `storage.recordings.accept` inserts it PENDING when the provider says a
    recording ended (its URL encrypted); the fetch job downloads it, stores it encrypted
    (STORED) and asks the provider to delete its copy (`provider_deleted`, or
    `provider_note` saying why it could not). It is linked to a case (`case_id`) when its
    owner files a report (or adds information), by any channel, whose text holds its ref;
    retention erases it with the case's description, or, never linked (an abandoned call),
    `storage.recordings.UNLINKED_GRACE` after its draft could have expired. `dedupe_key`
    is a keyed hash of the provider and its id (or URL), so the same webhook twice inserts
    one row; `next_attempt_at` is the fetch job's lease and its next try. `last_error`
    and `provider_note` are short codes, never a URL.

    `owner` is the caller's pseudonym (the keyed HMAC `Case.pseudonym` holds, never a
    number), kept only while the recording is linked to no case: a report or information
    links it only when it comes from that pseudonym, on any channel. Linking and erasing
    drop it.
    """

    __tablename__ = "call_recordings"
    __table_args__ = (
        one_of("status", RecordingStatus),
        one_of("provider", Provider),
        Index("ix_call_recordings_status_created_at", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(16), unique=True)
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), index=True
    )
    owner: Mapped[str | None] = mapped_column(String(64))
    provider: Mapped[str] = mapped_column(String(16))
    provider_id: Mapped[str | None] = mapped_column(String(64))
    dedupe_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    url_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(8), default=RecordingStatus.PENDING)
    audio_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    content_type: Mapped[str | None] = mapped_column(String(32))
    duration_seconds: Mapped[int | None] = mapped_column(Integer)
    size_bytes: Mapped[int | None] = mapped_column(Integer)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(String(64))
    provider_deleted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    provider_deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    provider_note: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    stored_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    erased_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
