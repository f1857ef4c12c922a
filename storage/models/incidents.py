"""Incidents (reports of one event, grouped) and signals (a rise, or a report that is a
signal by itself, raised to a provincial committee)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.db import Base, UtcDateTime, one_of
from storage.models.cases import Case
from storage.models.committees import Committee
from storage.models.places import Location


class LinkState(StrEnum):
    """How a case belongs to its incident: linked by the system as possibly related, or
    confirmed by a person (a focal point's LINK, a console user)."""

    SUGGESTED = "suggested"
    CONFIRMED = "confirmed"


class Incident(Base):
    """One event many people may report: the cases of one category at one site (or one
    territory, when no site was given) linked together.

    Lifecycle: opened by its first case, whose number (`number`) names the incident in
    alerts, digests and on the console for good; later cases join as SUGGESTED, a person
    may CONFIRM or unlink them; nothing is merged, and every case keeps its own number,
    status and reporter news. `last_report_at` is when its latest case was received (the
    grouping window counts from it). An incident with no case left is kept, empty, for the
    audit.
    """

    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_category_location_id", "category", "location_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    category: Mapped[str] = mapped_column(String(32))
    location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"))
    number: Mapped[str] = mapped_column(String(10), unique=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_report_at: Mapped[datetime] = mapped_column(UtcDateTime)

    location: Mapped[Location | None] = relationship()


class IncidentCase(Base):
    """A case grouped in an incident, how (`state`: a `LinkState`), by whom and when.

    One row per case at most: a case is in one incident or none. Unlinking deletes the row
    (the case's `unlinked` event keeps the history)."""

    __tablename__ = "incident_cases"
    __table_args__ = (one_of("state", LinkState),)

    case_id: Mapped[int] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    state: Mapped[str] = mapped_column(String(16))
    linked_by: Mapped[str] = mapped_column(String(64))
    linked_at: Mapped[datetime] = mapped_column(UtcDateTime)

    case: Mapped[Case] = relationship()
    incident: Mapped[Incident] = relationship()


class CaseDuplicate(Base):
    """A case closed as a duplicate of another (`original_id`): its reporter gets the
    original's news (messages and closing) from then on."""

    __tablename__ = "case_duplicates"

    case_id: Mapped[int] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    original_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    marked_by: Mapped[str] = mapped_column(String(64))
    marked_at: Mapped[datetime] = mapped_column(UtcDateTime)

    case: Mapped[Case] = relationship(foreign_keys=[case_id])
    original: Mapped[Case] = relationship(foreign_keys=[original_id])


class SignalRule(StrEnum):
    """Why a signal was raised: a day's count above its own history (EARS-C2 style), or a
    report that is a signal by itself (any sexual violence, any critical violence)."""

    THRESHOLD = "threshold"
    ABSOLUTE = "absolute"


class SignalStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    CLOSED = "closed"


class Signal(Base):
    """A warning raised to the provincial committee of a territory, once per `key`.

    Lifecycle: OPEN > ACKNOWLEDGED > CLOSED, each with who and when, like a case. `key`
    makes it once: `threshold:{territory}:{category}:{day}` or `absolute:{case}`. For a
    threshold signal `count` is the day's count and `baseline_mean`, `baseline_sd` and
    `threshold` the figures it was compared with; `note_enc` is the closing note
    (encrypted, as free text is).
    """

    __tablename__ = "signals"
    __table_args__ = (
        one_of("rule", SignalRule),
        one_of("status", SignalStatus),
        Index("ix_signals_status_raised_at", "status", "raised_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(96), unique=True)
    rule: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(32))
    territory_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"), index=True)
    committee_id: Mapped[int | None] = mapped_column(ForeignKey("committees.id"), index=True)
    day: Mapped[date] = mapped_column(Date)
    count: Mapped[int] = mapped_column(Integer)
    baseline_mean: Mapped[float | None] = mapped_column(Float)
    baseline_sd: Mapped[float | None] = mapped_column(Float)
    threshold: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), default=SignalStatus.OPEN)
    raised_at: Mapped[datetime] = mapped_column(UtcDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    closed_by: Mapped[str | None] = mapped_column(String(64))
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    note_enc: Mapped[bytes | None] = mapped_column(LargeBinary)

    territory: Mapped[Location | None] = relationship()
    committee: Mapped[Committee | None] = relationship()
    cases: Mapped[list[SignalCase]] = relationship(
        back_populates="signal", order_by="SignalCase.case_id", passive_deletes=True
    )


class SignalCase(Base):
    """A case behind a signal."""

    __tablename__ = "signal_cases"
    __table_args__ = (UniqueConstraint("signal_id", "case_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    signal_id: Mapped[int] = mapped_column(ForeignKey("signals.id", ondelete="CASCADE"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)

    signal: Mapped[Signal] = relationship(back_populates="cases")
    case: Mapped[Case] = relationship()
