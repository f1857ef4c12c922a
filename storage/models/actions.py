"""What a committee promised to do on a case: an action with an owner and a due date."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Date, ForeignKey, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.db import Base, UtcDateTime, one_of
from storage.models.cases import Case
from storage.models.committees import Committee


class ActionStatus(StrEnum):
    PLANNED = "planned"
    DONE = "done"
    VERIFIED = "verified"
    MISSED = "missed"


# Not done yet: a case closed as resolved with one of these must say why.
OPEN_ACTION = frozenset({ActionStatus.PLANNED, ActionStatus.MISSED})


class CaseAction(Base):
    """One action a committee takes on a case: what (encrypted), who owns it, when it is due.

    Lifecycle: PLANNED > DONE > VERIFIED; PLANNED > MISSED once its due date (a date in the
    committee's timezone) has passed undone, and a missed action may still be DONE late.
    `n` numbers the actions of one case from 1, as focal points type it (`DONE <case> 2`).
    Every person is an actor string ("member:<id>", "user:<name>", "system") with the time
    of their change; `reminded_at` is when the committee was reminded the day before, so
    that it is reminded once. Whoever marked it done cannot verify it, nor can its owner.
    """

    __tablename__ = "case_actions"
    __table_args__ = (
        UniqueConstraint("case_id", "n"),
        one_of("status", ActionStatus),
        Index("ix_case_actions_status_due_on", "status", "due_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    committee_id: Mapped[int] = mapped_column(ForeignKey("committees.id"), index=True)
    n: Mapped[int] = mapped_column(Integer)
    what_enc: Mapped[bytes] = mapped_column(LargeBinary)
    owner: Mapped[str] = mapped_column(String(64))
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default=ActionStatus.PLANNED)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    missed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    done_by: Mapped[str | None] = mapped_column(String(64))
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    verified_by: Mapped[str | None] = mapped_column(String(64))
    verified_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    case: Mapped[Case] = relationship()
    committee: Mapped[Committee] = relationship()
