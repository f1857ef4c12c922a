"""What committees have to do: overdue cases for the escalation sweep, daily digests, and
the LIST of open cases a focal point can ask for."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case as sql_case
from sqlalchemy import exists, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from storage.assignments import height
from storage.committees import ack_deadline
from storage.models import (
    Case,
    CaseAssignment,
    CaseEvent,
    Committee,
    CommitteeMember,
    DigestRun,
    EventKind,
    Severity,
    Status,
)

_SEVERITY_ORDER = {severity: rank for rank, severity in enumerate(Severity)}


@dataclass(frozen=True, slots=True)
class OverdueAssignment:
    """A case nobody acknowledged in time, in the inbox of the committee it is with (for an
    appealed case: nobody acknowledged since the appeal)."""

    assignment_id: int
    case_id: int
    committee_id: int
    severity: str
    due_at: datetime


@dataclass(frozen=True, slots=True)
class CaseLine:
    """What one line of a digest or a LIST reply shows; `place` is the place's own name."""

    number: str
    category: str
    severity: str
    place: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class DigestItems:
    """A committee's open cases in three disjoint groups, most urgent first in each.

    `overdue`: unacknowledged past the committee's deadline; `new`: assigned since the last
    digest and not overdue; `open`: the rest. `informed` are those of them, in any group,
    to which information was added since the last digest.
    """

    new: list[CaseLine]
    open: list[CaseLine]
    overdue: list[CaseLine]
    informed: list[CaseLine] = field(default_factory=list)


def _severity_rank() -> Any:
    return sql_case(_SEVERITY_ORDER, value=Case.severity, else_=len(_SEVERITY_ORDER))


def _line(case: Case) -> CaseLine:
    place = None if case.location is None else case.location.name
    return CaseLine(case.number, case.category, case.severity, place, case.created_at)


def _due_at(assignment: CaseAssignment, case: Case, committee: Committee) -> datetime:
    return assignment.assigned_at + ack_deadline(committee, case.severity)


def awaits_acknowledgement(case: Case) -> bool:
    """Tell whether the deadline sweep watches `case`: open, and acknowledged by nobody yet
    or, once appealed, by nobody since the appeal (APPEALED until a committee acknowledges
    it again; its first acknowledgement is kept in `acknowledged_at`)."""
    if case.status == Status.CLOSED:
        return False
    return case.acknowledged_at is None or case.status == Status.APPEALED


def _awaits_acknowledgement() -> Any:
    """SQL: `awaits_acknowledgement`."""
    return or_(Case.acknowledged_at.is_(None), Case.status == Status.APPEALED)


def _unacknowledged(assignment: CaseAssignment, case: Case) -> bool:
    return assignment.acknowledged_at is None and awaits_acknowledgement(case)


def overdue_assignments(*, session: Session, now: datetime) -> list[OverdueAssignment]:
    """Return the cases to escalate: one entry per case, soonest due first.

    An assignment is overdue when it is active, neither it nor its case was acknowledged
    (an appealed case: not since the appeal), it was not escalated already, the case is
    open, and the committee's deadline for the case's severity has passed since it was
    assigned (for the committee an appeal went to: since the appeal). Only the highest
    committee holding the case counts: a local committee's missed deadline does not
    escalate a case that was copied up to its provincial committee, whose own deadline is
    still running.
    """
    query = (
        select(CaseAssignment, Case, Committee)
        .join(Case, CaseAssignment.case_id == Case.id)
        .join(Committee, CaseAssignment.committee_id == Committee.id)
        .where(
            CaseAssignment.active.is_(True),
            CaseAssignment.acknowledged_at.is_(None),
            CaseAssignment.escalated_at.is_(None),
            _awaits_acknowledgement(),
            Case.status != Status.CLOSED,
        )
    )
    top: dict[int, tuple[CaseAssignment, Case, Committee]] = {}
    for assignment, case, committee in session.execute(query):
        known = top.get(case.id)
        if known is None or height(committee) > height(known[2]):
            top[case.id] = (assignment, case, committee)
    overdue = [
        OverdueAssignment(assignment.id, case.id, committee.id, case.severity, due_at)
        for assignment, case, committee in top.values()
        if (due_at := _due_at(assignment, case, committee)) <= now
    ]
    return sorted(overdue, key=lambda item: (item.due_at, item.case_id))


def _inbox_query(committee_id: int) -> Any:
    return (
        select(Case, CaseAssignment)
        .join(CaseAssignment, CaseAssignment.case_id == Case.id)
        .options(joinedload(Case.location))
        .where(
            CaseAssignment.committee_id == committee_id,
            CaseAssignment.active.is_(True),
            Case.status != Status.CLOSED,
        )
        .order_by(_severity_rank(), Case.created_at, Case.id)
    )


def digest_items(
    *, session: Session, committee_id: int, since: datetime, now: datetime
) -> DigestItems:
    """Return a committee's open cases for its digest: overdue, new since `since`, open."""
    committee = session.get(Committee, committee_id)
    items = DigestItems(new=[], open=[], overdue=[])
    if committee is None:
        return items
    lines: dict[int, CaseLine] = {}
    for case, assignment in session.execute(_inbox_query(committee_id)):
        line = lines[case.id] = _line(case)
        if _unacknowledged(assignment, case) and _due_at(assignment, case, committee) <= now:
            items.overdue.append(line)
        elif assignment.assigned_at >= since:
            items.new.append(line)
        else:
            items.open.append(line)
    informed = _informed_since(session, list(lines), since)
    items.informed.extend(line for case_id, line in lines.items() if case_id in informed)
    return items


def _informed_since(session: Session, case_ids: list[int], since: datetime) -> set[int]:
    """Which of these cases had information added at or after `since`."""
    if not case_ids:
        return set()
    query = select(CaseEvent.case_id).where(
        CaseEvent.kind == EventKind.INFO_ADDED,
        CaseEvent.at >= since,
        CaseEvent.case_id.in_(case_ids),
    )
    return set(session.scalars(query.distinct()))


def open_cases_for_member(
    *, session: Session, member: CommitteeMember, limit: int
) -> list[CaseLine]:
    """Return the open cases in the member's committee inbox, most urgent and oldest first."""
    query = _inbox_query(member.committee_id).limit(limit)
    return [_line(case) for case, _assignment in session.execute(query)]


def digest_local_date(*, committee: Committee, now: datetime) -> date:
    """Return the committee's local date at `now`: the day a digest sent now counts for."""
    return now.astimezone(ZoneInfo(committee.timezone)).date()


def _digest_due(committee: Committee, now: datetime) -> bool:
    local = now.astimezone(ZoneInfo(committee.timezone))
    return local.strftime("%H:%M") >= committee.digest_at


def committees_due_for_digest(*, session: Session, now: datetime) -> list[int]:
    """Return ids of active committees whose local digest time has come today and whose
    digest for today (local date) has not been recorded yet."""
    committees = session.scalars(select(Committee).where(Committee.active.is_(True)))
    due = {c.id: digest_local_date(committee=c, now=now) for c in committees if _digest_due(c, now)}
    if not due:
        return []
    sent_query = select(DigestRun.committee_id, DigestRun.local_date).where(
        DigestRun.committee_id.in_(due), DigestRun.local_date.in_(set(due.values()))
    )
    sent = set(session.execute(sent_query))
    return sorted(
        committee_id for committee_id, day in due.items() if (committee_id, day) not in sent
    )


def mark_digest_sent(
    *, session: Session, committee_id: int, local_date: date, now: datetime
) -> bool:
    """Record today's digest for a committee; False when it was recorded already.

    Call it in the same transaction that queues the digest SMS, before queueing: the unique
    (committee, local date) constraint lets exactly one scheduler win.
    """
    recorded = exists().where(
        DigestRun.committee_id == committee_id, DigestRun.local_date == local_date
    )
    if session.scalar(select(recorded)):
        return False
    try:
        with session.begin_nested():
            session.add(DigestRun(committee_id=committee_id, local_date=local_date, sent_at=now))
    except IntegrityError:
        return False
    return True


def last_digest_at(*, session: Session, committee_id: int) -> datetime | None:
    """Return when the committee's previous digest was recorded, or None if never."""
    query = select(DigestRun.sent_at).where(DigestRun.committee_id == committee_id)
    return session.scalar(query.order_by(DigestRun.sent_at.desc()).limit(1))
