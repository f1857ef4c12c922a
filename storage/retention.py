"""Retention: a closed case loses its personal content some time after it was closed.

What goes: the description, the typed place, the reporter's contact, the reporter's
pseudonym (replaced by a random value that links to no number), the text of every event
(notes, messages, added information, closing notes), and the number and text of every SMS
about the case. What stays: category, hazard, severity, status, outcome, place, dates,
channel, language and the event history without its text, so every statistic comes out
the same after a purge as before. The closing note of a signal closed as long ago goes
too (storage.signals.erase_closing_notes), counted with the event texts. Each purged
case gets a `purged` event. The case's spoken answers (`storage.recordings`) go with its
description; recordings no case took (an abandoned call) go once their draft could no
longer be submitted.

Work goes in batches, one transaction each, and each batch writes one audit entry with its
counts. Two runs at once share the work: on PostgreSQL a batch locks its cases and skips
those another run holds; on SQLite writers take turns.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, case, exists, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from storage import recordings, signals
from storage.db import expire_loaded
from storage.models import (
    Case,
    CaseEvent,
    EventKind,
    MessageKind,
    OutboxMessage,
    OutboxStatus,
    RecipientKind,
    Status,
)
from storage.privacy import Crypto
from storage.users import audit

MIN_RETENTION_DAYS = 30
BATCH = 500
ACTOR = "system:retention"
ACTION = "retention.purge"
# Case events name machine actors "system"; the audit log says which part of the system.
EVENT_ACTOR = "system"
ERASED_NOTE = "erased by retention"
_UNSENT = (OutboxStatus.QUEUED, OutboxStatus.SENDING)
# Answers to a person's own SMS (kind reply) belong to no case, so no case's closing erases
# them; one may be the summary of a report being written. Their number and text go this
# many days after they were queued, once they are sent or given up.
ANSWER_DAYS = 30


@dataclass(slots=True)
class Purged:
    """How much was (or, in a dry run, would be) erased."""

    cases: int = 0
    event_texts: int = 0
    messages: int = 0

    def __iadd__(self, other: Purged) -> Purged:
        self.cases += other.cases
        self.event_texts += other.event_texts
        self.messages += other.messages
        return self

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def cutoff(*, now: datetime, days: int) -> datetime:
    """Return the closing time before which a case is purged; refuse a too short period."""
    if days < MIN_RETENTION_DAYS:
        raise ValueError(f"the retention period is at least {MIN_RETENTION_DAYS} days")
    return now - timedelta(days=days)


def _due(before: datetime) -> Any:
    purged = exists().where(CaseEvent.case_id == Case.id, CaseEvent.kind == EventKind.PURGED)
    return (Case.status == Status.CLOSED) & (Case.closed_at < before) & ~purged


def due_counts(*, session: Session, before: datetime, now: datetime | None = None) -> Purged:
    """Count what a purge of the cases closed before `before` would erase (a dry run); with
    `now`, the answers it would erase too."""
    due_ids = select(Case.id).where(_due(before))
    texts = select(func.count(CaseEvent.id)).where(
        CaseEvent.case_id.in_(due_ids), CaseEvent.body_enc.is_not(None)
    )
    messages = select(func.count(OutboxMessage.id)).where(OutboxMessage.case_id.in_(due_ids))
    answers = 0
    if now is not None:
        old = _old_answers(now - timedelta(days=ANSWER_DAYS))
        answers = session.scalar(select(func.count(OutboxMessage.id)).where(*old)) or 0
    return Purged(
        cases=session.scalar(select(func.count()).select_from(due_ids.subquery())) or 0,
        event_texts=(session.scalar(texts) or 0)
        + signals.closing_notes_due(session=session, before=before),
        messages=(session.scalar(messages) or 0) + answers,
    )


def _old_answers(before: datetime) -> tuple[Any, ...]:
    return (
        OutboxMessage.kind == MessageKind.REPLY,
        OutboxMessage.created_at < before,
        OutboxMessage.status.not_in(_UNSENT),
        OutboxMessage.last_error.is_distinct_from(ERASED_NOTE),
    )


def erase_old_answers(*, session: Session, crypto: Crypto, now: datetime) -> int:
    """Drop the number and text of answers queued more than ANSWER_DAYS ago and done with."""
    before = now - timedelta(days=ANSWER_DAYS)
    statement = (
        update(OutboxMessage)
        .where(*_old_answers(before))
        .values(to_enc=None, body_enc=crypto.encrypt(""), last_error=ERASED_NOTE, updated_at=now)
    )
    count = _rowcount(session, statement)
    expire_loaded(session, OutboxMessage)
    return count


def _claim(session: Session, before: datetime, limit: int) -> tuple[int, list[int]]:
    """Lock up to `limit` due cases; return how many were found and which are still due.

    A run that purged some of them and committed after this query began is seen by the
    second query, which starts once the locks are held: nothing is purged twice.
    """
    query = (
        select(Case.id)
        .where(_due(before))
        .order_by(Case.id)
        .limit(limit)
        .with_for_update(of=Case, skip_locked=True)
    )
    found = list(session.scalars(query))
    if not found:
        return 0, []
    done = select(CaseEvent.case_id).where(
        CaseEvent.case_id.in_(found), CaseEvent.kind == EventKind.PURGED
    )
    already = set(session.scalars(done))
    return len(found), [case_id for case_id in found if case_id not in already]


def _rowcount(session: Session, statement: Any) -> int:
    options = statement.execution_options(synchronize_session=False)
    return cast(CursorResult[Any], session.execute(options)).rowcount


def _erase_cases(session: Session, ids: list[int], days: int, now: datetime) -> None:
    for row in session.scalars(select(Case).where(Case.id.in_(ids))):
        row.description_enc = row.place_text_enc = row.contact_enc = None
        row.submission_key = None
        # The shape of a pseudonym, so code that checks shapes still accepts the row.
        row.pseudonym = secrets.token_hex(32)
        session.add(
            CaseEvent(
                case_id=row.id,
                at=now,
                kind=EventKind.PURGED,
                actor=EVENT_ACTOR,
                body_enc=None,
                data={"retention_days": days},
            )
        )
    session.flush()


def _erase_event_texts(session: Session, ids: list[int]) -> int:
    """Drop the events' texts, and the keys of the hops that added information (hashes of
    the reporter's pseudonym with their session: kept, they would tie the case to it)."""
    session.execute(
        update(CaseEvent)
        .where(CaseEvent.case_id.in_(ids), CaseEvent.submission_key.is_not(None))
        .values(submission_key=None)
        .execution_options(synchronize_session=False)
    )
    statement = (
        update(CaseEvent)
        .where(CaseEvent.case_id.in_(ids), CaseEvent.body_enc.is_not(None))
        .values(body_enc=None)
    )
    return _rowcount(session, statement)


def _erase_messages(session: Session, crypto: Crypto, ids: list[int], now: datetime) -> int:
    """Drop the number and text of every SMS about the cases; cancel any still unsent."""
    case_pseudonym = select(Case.pseudonym).where(Case.id == OutboxMessage.case_id)
    reporter = OutboxMessage.recipient_kind == RecipientKind.REPORTER
    unsent = OutboxMessage.status.in_(_UNSENT)
    statement = (
        update(OutboxMessage)
        .where(OutboxMessage.case_id.in_(ids))
        .values(
            to_enc=None,
            # The column needs a value: an empty text reads as empty everywhere.
            body_enc=crypto.encrypt(""),
            to_pseudonym=case(
                (reporter, case_pseudonym.scalar_subquery()), else_=OutboxMessage.to_pseudonym
            ),
            status=case((unsent, OutboxStatus.CANCELLED), else_=OutboxMessage.status),
            last_error=case((unsent, ERASED_NOTE), else_=OutboxMessage.last_error),
            updated_at=now,
        )
    )
    count = _rowcount(session, statement)
    expire_loaded(session, OutboxMessage)
    return count


def purge_batch(
    *, session: Session, crypto: Crypto, before: datetime, days: int, now: datetime, limit: int
) -> tuple[int, Purged]:
    """Purge up to `limit` cases closed before `before`, with one audit entry for the batch.

    Return how many due cases the batch found (0: nothing left that another run does not
    hold) and what it erased.
    """
    found, ids = _claim(session, before, limit)
    if not ids:
        return found, Purged()
    _erase_cases(session, ids, days, now)
    done = Purged(
        cases=len(ids),
        event_texts=_erase_event_texts(session, ids),
        messages=_erase_messages(session, crypto, ids, now),
    )
    expire_loaded(session, CaseEvent)
    data: dict[str, Any] = {**done.as_dict(), "retention_days": days}
    spoken = recordings.erase_for_cases(session=session, case_ids=ids, now=now)
    if spoken:
        data["recordings"] = spoken
    audit(session=session, actor=ACTOR, action=ACTION, now=now, data=data)
    return found, done


def purge_expired(
    *,
    sessions: sessionmaker[Session],
    crypto: Crypto,
    days: int,
    now: datetime,
    batch: int = BATCH,
    unlinked_before: datetime | None = None,
) -> Purged:
    """Purge every case closed more than `days` days before `now`, one batch per transaction;
    with `unlinked_before`, erase the recordings no case took made `recordings.UNLINKED_GRACE`
    before it (drafts renew on every hop).

    Safe to stop at any point and to run again: a purged case is never purged twice.
    """
    before = cutoff(now=now, days=days)
    total = Purged()
    while True:
        with sessions.begin() as session:
            found, done = purge_batch(
                session=session, crypto=crypto, before=before, days=days, now=now, limit=batch
            )
        total += done
        if found < batch:
            break
    with sessions.begin() as session:
        total.messages += erase_old_answers(session=session, crypto=crypto, now=now)
        total.event_texts += signals.erase_closing_notes(session=session, before=before)
        if unlinked_before is not None:
            recordings.erase_unlinked(session=session, before=unlinked_before, now=now)
    return total
