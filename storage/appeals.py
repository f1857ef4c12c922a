"""The reporter's say on a closing: "solved", or "not solved", which appeals the case.

Within `ANSWER_DAYS` of a closing, the number that made the report may answer it once
(by SMS, or in the status check by USSD, SMS or voice). "Solved" sets the case's
`satisfaction` and writes a `solved` event. "Not solved" reopens the case as APPEALED and
passes it to the nearest committee above the highest one that held it (the national
committee at the top stays in charge, its clock started again), with an `appealed` event;
the committees below are marked as passed up, as an escalation marks them. A case that
was in triage goes back to the admins' triage inbox. A second "not solved" after the
next closing climbs once more, so the second appeal of a local case reaches the national
committee.

A case closed as a duplicate of another waits for no answer until the original is closed:
its reporter is sent the original's closing and answers that (`answered_closing`).

Each answer is claimed with a conditional UPDATE on the closing it answers, so a repeated
or concurrent answer to the same closing changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy.orm import Session

from storage.assignments import active_assignments, assign, height, next_above
from storage.cases import REPORTER, add_event
from storage.db import expire_loaded
from storage.models import (
    AssignmentReason,
    Case,
    CaseAssignment,
    CaseDuplicate,
    CaseEvent,
    Committee,
    EventKind,
    Satisfaction,
    Status,
)

ANSWER_DAYS = 30
ANSWER_WINDOW = timedelta(days=ANSWER_DAYS)
# Closed cases of one number looked at for a waiting closing (a number has few).
AWAITING_CANDIDATES = 20


@dataclass(frozen=True, slots=True)
class Answered:
    """An answer taken: the case, what the reporter said, and for an appeal the committee
    it went to (None when it went back to triage)."""

    case: Case
    satisfaction: str
    committee: Committee | None = None


def _waiting() -> Any:
    """SQL: the case's latest closing has no answer yet."""
    return or_(Case.satisfaction_at.is_(None), Case.satisfaction_at < Case.closed_at)


def answered_closing(case: Case) -> datetime | None:
    """When the closing the reporter may answer took place, or None when there is none.

    A case's own closing, but for a case closed as a duplicate of another: its reporter
    answers the original's outcome, from the original's closing on (they are sent it), and
    not before: "not solved" while the original is still being worked would appeal a case
    nobody works on. "Not solved" then appeals the duplicate itself, which names the
    original, to the committee above.
    """
    if case.status != Status.CLOSED or case.closed_at is None:
        return None
    duplicate = case.duplicate
    if duplicate is None:
        return case.closed_at
    original = duplicate.original
    if original.status != Status.CLOSED or original.closed_at is None:
        return None
    return max(case.closed_at, original.closed_at)


def awaits_answer(case: Case, now: datetime) -> bool:
    """Tell whether the latest closing of `case` still takes the reporter's answer."""
    closed = answered_closing(case)
    if closed is None or now - closed > ANSWER_WINDOW:
        return False
    return case.satisfaction_at is None or case.satisfaction_at < closed


def may_answer(case: Case, *, pseudonym: str, now: datetime) -> bool:
    """Tell whether the number with `pseudonym` may answer the closing of `case` now: only
    the number that made the report, within the window, once."""
    return pseudonym == case.pseudonym and awaits_answer(case, now)


def awaiting_for(*, session: Session, pseudonym: str, now: datetime) -> Case | None:
    """Return the case of this number closed most recently within the window whose closing
    still waits for an answer (`awaits_answer`), or None."""
    since = now - ANSWER_WINDOW
    query = (
        select(Case)
        .where(
            Case.pseudonym == pseudonym,
            Case.status == Status.CLOSED,
            or_(Case.closed_at >= since, Case.id.in_(select(CaseDuplicate.case_id))),
            _waiting(),
        )
        .order_by(Case.closed_at.desc(), Case.id.desc())
        .limit(AWAITING_CANDIDATES)
    )
    waiting = [case for case in session.scalars(query) if awaits_answer(case, now)]
    return max(waiting, key=lambda case: (answered_closing(case), case.id), default=None)


def ever_closed_for(*, session: Session, pseudonym: str) -> Case | None:
    """Return the case of this number answered or closed most recently, or None: whether
    an answer that no closing waits for came from someone who once had one."""
    query = (
        select(Case)
        .where(
            Case.pseudonym == pseudonym,
            or_(Case.closed_at.is_not(None), Case.satisfaction_at.is_not(None)),
        )
        .order_by(Case.updated_at.desc(), Case.id.desc())
        .limit(1)
    )
    return session.scalar(query)


def _claim(session: Session, case: Case, answer: str, now: datetime) -> bool:
    claim = (
        update(Case)
        .where(
            Case.id == case.id,
            Case.status == Status.CLOSED,
            Case.closed_at == case.closed_at,
            _waiting(),
        )
        .values(satisfaction=answer, satisfaction_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if cast(CursorResult[Any], session.execute(claim)).rowcount != 1:
        return False
    expire_loaded(session, Case)
    return True


def _closing_event(session: Session, case_id: int) -> int | None:
    query = (
        select(CaseEvent.id)
        .where(CaseEvent.case_id == case_id, CaseEvent.kind == EventKind.CLOSED)
        .order_by(CaseEvent.id.desc())
        .limit(1)
    )
    return session.scalar(query)


def answer_closing(
    *, session: Session, case: Case, pseudonym: str, answer: str, channel: str, now: datetime
) -> Answered | None:
    """Take the reporter's answer to the latest closing of `case`.

    Return None, changing nothing, when `pseudonym` is not the reporter's, the window has
    passed, or this closing was answered already (also by a concurrent request).
    """
    if answer not in set(Satisfaction) or not may_answer(case, pseudonym=pseudonym, now=now):
        return None
    if not _claim(session, case, answer, now):
        return None
    session.refresh(case)
    data: dict[str, Any] = {"channel": channel, "closing": _closing_event(session, case.id)}
    if answer == Satisfaction.SOLVED:
        add_event(
            session=session,
            case_id=case.id,
            kind=EventKind.SOLVED,
            at=now,
            actor=REPORTER,
            data=data,
        )
        session.flush()
        return Answered(case, answer)
    committee = _appeal(session, case, now, data)
    return Answered(case, answer, committee)


def _target(session: Session, case: Case) -> tuple[CaseAssignment | None, Committee | None]:
    """The highest assignment of the case, and the committee the appeal goes to."""
    held = active_assignments(session=session, case_id=case.id)
    top = max(held, key=lambda assignment: height(assignment.committee), default=None)
    if top is None:
        return None, None
    above = next_above(session=session, committee=top.committee, category=case.category)
    return top, above or top.committee


def _hand_over(session: Session, case: Case, target: Committee, now: datetime) -> None:
    """Put the case with `target` on a fresh clock; mark every other assignment passed up."""
    for assignment in active_assignments(session=session, case_id=case.id):
        if assignment.committee_id != target.id and assignment.escalated_at is None:
            assignment.escalated_at = now
    reason = AssignmentReason.APPEALED
    if not assign(session=session, case_id=case.id, committee_id=target.id, reason=reason, now=now):
        # Already in its inbox (the top committee): the appeal restarts its clock there.
        session.execute(
            update(CaseAssignment)
            .where(CaseAssignment.case_id == case.id, CaseAssignment.committee_id == target.id)
            .values(
                reason=reason,
                assigned_at=now,
                acknowledged_at=None,
                escalated_at=None,
                active=True,
            )
            .execution_options(synchronize_session=False)
        )
        expire_loaded(session, CaseAssignment)


def _appeal(session: Session, case: Case, now: datetime, data: dict[str, Any]) -> Committee | None:
    top, target = _target(session, case)
    if target is None:
        case.triaged_at = now
    else:
        _hand_over(session, case, target, now)
    case.status, case.outcome, case.closed_at, case.updated_at = Status.APPEALED, None, None, now
    data |= {
        "from": None if top is None else top.committee.code,
        "to": None if target is None else target.code,
    }
    add_event(
        session=session,
        case_id=case.id,
        kind=EventKind.APPEALED,
        at=now,
        actor=REPORTER,
        data=data,
    )
    session.flush()
    return target
