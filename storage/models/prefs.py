"""Per-number preferences, keyed by pseudonym only."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from storage.db import Base, UtcDateTime


class NumberPrefs(Base):
    """What a phone number chose, known only by its pseudonym.

    Lifecycle: created on the first choice (a language, or STOP); `language` changes from
    the main menu; `opted_out_at` is set by STOP and cleared by START. The STOP list is the
    set of rows with `opted_out_at` set.
    """

    __tablename__ = "number_prefs"

    pseudonym: Mapped[str] = mapped_column(String(64), primary_key=True)
    language: Mapped[str | None] = mapped_column(String(8))
    opted_out_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
