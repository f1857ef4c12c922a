"""Stakeholder committees, their focal points, their case inboxes and their digests."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.db import Base, UtcDateTime, one_of
from storage.models.cases import Case
from storage.models.outbox import MessageChannel
from storage.models.places import Location


class CommitteeLevel(StrEnum):
    LOCAL = "local"
    PROVINCIAL = "provincial"
    NATIONAL = "national"


# Higher is further up: escalation and copy-up go to a higher rank.
LEVEL_RANK: dict[str, int] = {
    CommitteeLevel.LOCAL: 0,
    CommitteeLevel.PROVINCIAL: 1,
    CommitteeLevel.NATIONAL: 2,
}


class AssignmentReason(StrEnum):
    ROUTED = "routed"
    COPIED_UP = "copied_up"
    ESCALATED = "escalated"
    REASSIGNED = "reassigned"
    NATIONAL_FALLBACK = "national_fallback"
    APPEALED = "appealed"


class Committee(Base):
    """A stakeholder committee that acts on the cases filed in the place it covers.

    Lifecycle: created by an import; later imports update it by `code`; deactivated (never
    deleted: assignments keep pointing at it) when it stops taking cases. It covers its
    location and everything below (a prefix match on `Location.path`). `categories` is a
    list of category codes, or None for all. `ack_deadlines`, `action_deadlines` and
    `close_deadlines` map a severity to seconds: how long the committee has to acknowledge
    a case, to take a first action on it and to close it (a severity missing from a map
    takes the default of storage.committees). `digest_at` is "HH:MM" in the committee's `timezone`.
    """

    __tablename__ = "committees"
    __table_args__ = (one_of("level", CommitteeLevel),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    level: Mapped[str] = mapped_column(String(16))
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), index=True)
    categories: Mapped[list[str] | None] = mapped_column(JSON)
    language: Mapped[str] = mapped_column(String(8))
    timezone: Mapped[str] = mapped_column(String(64))
    ack_deadlines: Mapped[dict[str, int]] = mapped_column(JSON)
    action_deadlines: Mapped[dict[str, int]] = mapped_column(
        JSON, default=dict, server_default=text("'{}'")
    )
    close_deadlines: Mapped[dict[str, int]] = mapped_column(
        JSON, default=dict, server_default=text("'{}'")
    )
    digest_at: Mapped[str] = mapped_column(String(5))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)

    location: Mapped[Location] = relationship()
    members: Mapped[list[CommitteeMember]] = relationship(
        back_populates="committee", order_by="CommitteeMember.id"
    )

    def takes(self, category: str) -> bool:
        """Tell whether the committee takes cases of `category`."""
        return self.categories is None or category in self.categories


class CommitteeMember(Base):
    """A focal point: an official who receives alerts and answers by SMS for a committee.

    Lifecycle: created by an import; updated by phone on re-import; deactivated when a
    re-import no longer lists them (kept, since case events name them). Officials' numbers
    are stored in E.164; inbound SMS find the member by `phone_pseudonym` only. `channel`
    is how their alerts and digests are meant to reach them: SMS, or WhatsApp (the sender
    falls back to SMS when WhatsApp cannot be used, and the outbox row says why).
    """

    __tablename__ = "committee_members"
    __table_args__ = (
        UniqueConstraint("committee_id", "phone"),
        one_of("channel", MessageChannel),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    committee_id: Mapped[int] = mapped_column(ForeignKey("committees.id"))
    name: Mapped[str] = mapped_column(String(128))
    phone: Mapped[str] = mapped_column(String(16))
    phone_pseudonym: Mapped[str] = mapped_column(String(64), index=True)
    language: Mapped[str] = mapped_column(String(8))
    channel: Mapped[str] = mapped_column(
        String(16), default=MessageChannel.SMS, server_default=MessageChannel.SMS.value
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)

    committee: Mapped[Committee] = relationship(back_populates="members")


class CaseAssignment(Base):
    """A case in a committee's inbox: durable, one row per (case, committee).

    Lifecycle: created active by routing, copy-up, escalation or reassignment;
    `acknowledged_at` is set when the committee acknowledges; `escalated_at` when the case
    was passed up from it (the deadline sweep then ignores it); `active` is cleared when
    the case is reassigned elsewhere. The unique constraint makes assigning idempotent.
    """

    __tablename__ = "case_assignments"
    __table_args__ = (
        UniqueConstraint("case_id", "committee_id"),
        one_of("reason", AssignmentReason),
        Index("ix_case_assignments_committee_id_active", "committee_id", "active"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    committee_id: Mapped[int] = mapped_column(ForeignKey("committees.id"))
    reason: Mapped[str] = mapped_column(String(32))
    assigned_at: Mapped[datetime] = mapped_column(UtcDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    escalated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())

    case: Mapped[Case] = relationship()
    committee: Mapped[Committee] = relationship()


class DigestRun(Base):
    """The record that a committee's daily digest went out for one local date.

    Lifecycle: inserted once, never changed; the unique (committee, local date) pair is what
    keeps several schedulers or a restart from sending a second digest the same day.
    """

    __tablename__ = "digest_runs"
    __table_args__ = (UniqueConstraint("committee_id", "local_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    committee_id: Mapped[int] = mapped_column(ForeignKey("committees.id"))
    local_date: Mapped[date] = mapped_column(Date)
    sent_at: Mapped[datetime] = mapped_column(UtcDateTime)
