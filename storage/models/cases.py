"""Reports (cases) and the events that record every change to them."""

from __future__ import annotations

from datetime import date, datetime
from enum import IntEnum, StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.db import Base, UtcDateTime, one_of
from storage.models.places import Location

if TYPE_CHECKING:
    from storage.models.incidents import CaseDuplicate


class Category(StrEnum):
    OHS_HAZARD = "ohs_hazard"
    ACCIDENT = "accident"
    VIOLENCE = "violence"
    ILLEGAL_TAX = "illegal_tax"
    CHILD_LABOUR = "child_labour"
    SEXUAL_VIOLENCE = "sexual_violence"
    MINERAL_FRAUD = "mineral_fraud"
    OTHER = "other"


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class Status(StrEnum):
    RECEIVED = "received"
    ROUTED = "routed"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    CLOSED = "closed"
    # Reopened by the reporter's "not solved" and passed to the committee above, until a
    # committee acknowledges it again (then ACKNOWLEDGED, IN_PROGRESS, CLOSED as before).
    APPEALED = "appealed"


class Outcome(StrEnum):
    RESOLVED = "resolved"
    PERSISTENT = "persistent"
    UNFOUNDED = "unfounded"
    DUPLICATE = "duplicate"


class ItsciLevel(IntEnum):
    """The ITSCI incident level of a case: 1 is the gravest (see storage/levels.py)."""

    ONE = 1
    TWO = 2
    THREE = 3


class Satisfaction(StrEnum):
    """The reporter's answer to a closing: solved, or not (which appeals the case)."""

    SOLVED = "solved"
    NOT_SOLVED = "not_solved"


class Occurred(StrEnum):
    TODAY = "today"
    WEEK = "week"
    MONTH = "month"
    EARLIER = "earlier"


class Channel(StrEnum):
    """How a report came in; the reporter's news goes back by WhatsApp for a WhatsApp one."""

    USSD = "ussd"
    SMS = "sms"
    WEB = "web"
    WHATSAPP = "whatsapp"
    VOICE = "voice"


class EventKind(StrEnum):
    RECEIVED = "received"
    ROUTING_REQUESTED = "routing_requested"
    ROUTED = "routed"
    COPIED_UP = "copied_up"
    TRIAGED = "triaged"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    NOTE = "note"
    MESSAGE = "message"
    INFO_ADDED = "info_added"
    ESCALATED = "escalated"
    REASSIGNED = "reassigned"
    CLOSED = "closed"
    CONTACT_ERASED = "contact_erased"
    SOLVED = "solved"
    APPEALED = "appealed"
    ACTION_ADDED = "action_added"
    ACTION_DONE = "action_done"
    ACTION_VERIFIED = "action_verified"
    ACTION_MISSED = "action_missed"
    LEVEL_CHANGED = "level_changed"
    PURGED = "purged"
    # Grouping into incidents: data {"incident": id, "state": "suggested"|"confirmed",
    # "with": case number} / {"incident": id}.
    LINKED = "linked"
    UNLINKED = "unlinked"


class Case(Base):
    """One report, from the moment it is received until it is closed.

    Lifecycle: RECEIVED > ROUTED > ACKNOWLEDGED > IN_PROGRESS > CLOSED (with an outcome).
    Within 30 days of a closing the reporter may answer it once: "solved" sets
    `satisfaction` (a `solved` event); "not solved" reopens the case as APPEALED with the
    committee above (an `appealed` event), and it goes on from ACKNOWLEDGED again.
    Escalation is an event, not a status. Every change adds a CaseEvent.
    A case no committee covers is routed to the admins' triage inbox: ROUTED with
    `triaged_at` set and no assignment, until someone reassigns it to a committee.
    Free text (place, description) and the reporter's contact number are stored only as
    ciphertext; the contact exists only while the reporter wants SMS updates.
    """

    __tablename__ = "cases"
    __table_args__ = (
        one_of("severity", Severity),
        one_of("status", Status),
        one_of("outcome", Outcome),
        one_of("occurred", Occurred),
        one_of("channel", Channel),
        one_of("satisfaction", Satisfaction),
        CheckConstraint("itsci_level IN (1, 2, 3)", name="itsci_level"),
        Index("ix_cases_status_created_at", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(10), unique=True)
    # Identifies the hop that submitted the report (a hash, never the input itself), so a
    # provider's retry or a duplicated request finds the case already filed.
    submission_key: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    category: Mapped[str] = mapped_column(String(32))
    hazard: Mapped[str | None] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(16))
    # The ITSCI incident level, derived with the severity when the case is filed (a user
    # may change it, audited); level 1 is copied up to the provincial and national levels.
    itsci_level: Mapped[int] = mapped_column(
        Integer, default=ItsciLevel.THREE, server_default=text("3")
    )
    status: Mapped[str] = mapped_column(String(16), default=Status.RECEIVED)
    outcome: Mapped[str | None] = mapped_column(String(16))
    location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"), index=True)
    place_text_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    occurred: Mapped[str] = mapped_column(String(16))
    # The days "when it happened" covers, fixed at submission in the reporters' zone, so
    # that "today" stays that day (storage/cases.py occurred_dates); no start: "earlier".
    occurred_from: Mapped[date | None] = mapped_column(Date, default=None)
    occurred_to: Mapped[date | None] = mapped_column(Date, default=None)
    danger_now: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    description_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    channel: Mapped[str] = mapped_column(String(8))
    language: Mapped[str] = mapped_column(String(8))
    pseudonym: Mapped[str] = mapped_column(String(64), index=True)
    consent_updates: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    contact_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    is_test: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    flow_version: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    routing_requested_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    routed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    triaged_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The reporter's answer to the latest closing and when it came (an answer older than
    # `closed_at`, or none, means that closing is still waiting for one).
    satisfaction: Mapped[str | None] = mapped_column(String(16), default=None)
    satisfaction_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)

    location: Mapped[Location | None] = relationship()
    # Set when the case was closed as a duplicate of another (storage.models.incidents).
    duplicate: Mapped[CaseDuplicate | None] = relationship(
        "CaseDuplicate", foreign_keys="CaseDuplicate.case_id", uselist=False, viewonly=True
    )
    events: Mapped[list[CaseEvent]] = relationship(
        back_populates="case", order_by="CaseEvent.id", passive_deletes=True
    )


class CaseEvent(Base):
    """One thing that happened to a case: who (`actor`), when (`at`) and what (`kind`).

    Append-only, but for `notified_at`. `actor` is "reporter", "system", "member:<id>" or
    "user:<name>". `body_enc` holds encrypted free text (a note, a message, added
    information); `data` holds structured, non-personal detail (channel, committee id, old
    and new status, whether added information came from the phone that reported).
    `notified_at` is set once the committees were told of the event (added information).
    """

    __tablename__ = "case_events"
    __table_args__ = (
        Index("ix_case_events_case_id_kind", "case_id", "kind"),
        Index("ix_case_events_kind_notified_at", "kind", "notified_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(64))
    body_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The hop that added this information (a hash, naming no one): unique, so that the same
    # hop arriving twice, even at the same instant in two processes, adds it once.
    submission_key: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    notified_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)

    case: Mapped[Case] = relationship(back_populates="events")
