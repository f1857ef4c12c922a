"""Routing: which committees' inboxes a new case goes to.

1. The active committee with the deepest place containing the case's place that takes its
   category (climbing past committees that do not take it).
2. A `critical` or `high` case is also copied to the nearest committee above that one; a
   case of ITSCI level 1 (storage/levels.py) to every level above it, up to the national
   committee (each the nearest above that takes the category, else the national one).
3. No committee takes it: the national committee of the case's country, whatever it takes.
4. None at all, or a case with no known place (only typed text): the admins' triage inbox.
   The reporter's country is not stored, so a placeless case cannot be sent to a national
   committee; an intake that knows the country can file the case against the country's
   location, and it is then routed to that country's national committee.

Routing a case twice assigns it once: the first run claims the case with a conditional
UPDATE of `routed_at`, and the unique (case, committee) constraint backs that up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from storage.assignments import (
    active_assignments,
    assign,
    covering_committees,
    height,
    is_national_for,
    next_above,
)
from storage.cases import SYSTEM, add_event
from storage.models import (
    AssignmentReason,
    Case,
    Committee,
    EventKind,
    ItsciLevel,
    Location,
    Severity,
    Status,
)

COPY_UP_SEVERITIES = frozenset({Severity.CRITICAL, Severity.HIGH})
_EVENT_FOR_REASON = {
    AssignmentReason.ROUTED: EventKind.ROUTED,
    AssignmentReason.NATIONAL_FALLBACK: EventKind.ROUTED,
    AssignmentReason.COPIED_UP: EventKind.COPIED_UP,
}


@dataclass(frozen=True, slots=True)
class Assigned:
    """A committee whose inbox holds the case, and why."""

    committee_id: int
    committee_code: str
    reason: str


@dataclass(frozen=True, slots=True)
class RoutingResult:
    """What routing did to a case.

    `changed` is True only for the run that routed it. `assignments` are the case's
    active assignments after the call, also when an earlier run made them, so a retried
    job can queue its (de-duplicated) alerts again.
    """

    case_id: int
    changed: bool
    triaged: bool
    assignments: tuple[Assigned, ...]


def plan_routing(
    *,
    session: Session,
    location: Location,
    category: str,
    severity: str,
    itsci_level: int = ItsciLevel.THREE,
) -> list[tuple[Committee, AssignmentReason]]:
    """Return the committees a case filed at `location` goes to, and why; empty for triage.

    The first is the committee that answers the case (the national one when none takes it).
    """
    chain = covering_committees(session=session, location=location)
    primary = next((committee for committee in chain if committee.takes(category)), None)
    if primary is None:
        national = next((c for c in chain if is_national_for(c, location)), None)
        return [] if national is None else [(national, AssignmentReason.NATIONAL_FALLBACK)]
    targets = [(primary, AssignmentReason.ROUTED)]
    if severity in COPY_UP_SEVERITIES or itsci_level == ItsciLevel.ONE:
        targets += _copies_up(session, primary, category, every_level=itsci_level == ItsciLevel.ONE)
    return targets


def _copies_up(
    session: Session, committee: Committee, category: str, *, every_level: bool
) -> list[tuple[Committee, AssignmentReason]]:
    """The committees above `committee` a case is copied to: the nearest, or every one.

    Each step climbs to a higher level, so the climb ends at the national committee.
    """
    copies: list[tuple[Committee, AssignmentReason]] = []
    above = next_above(session=session, committee=committee, category=category)
    while above is not None:
        copies.append((above, AssignmentReason.COPIED_UP))
        if not every_level:
            break
        above = next_above(session=session, committee=above, category=category)
    return copies


def _claim(session: Session, case_id: int, now: datetime) -> bool:
    statement = (
        update(Case)
        .where(Case.id == case_id, Case.routed_at.is_(None))
        .values(routed_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return cast(CursorResult[Any], session.execute(statement)).rowcount == 1


def _result(session: Session, case: Case, *, changed: bool) -> RoutingResult:
    assignments = tuple(
        Assigned(a.committee_id, a.committee.code, a.reason)
        for a in active_assignments(session=session, case_id=case.id)
    )
    return RoutingResult(case.id, changed, case.triaged_at is not None, assignments)


def _triage(session: Session, case: Case, now: datetime) -> None:
    case.triaged_at = now
    reason = "no_place" if case.location_id is None else "no_committee"
    add_event(
        session=session,
        case_id=case.id,
        kind=EventKind.TRIAGED,
        at=now,
        actor=SYSTEM,
        data={"reason": reason},
    )


def _assign_all(
    session: Session, case: Case, targets: list[tuple[Committee, AssignmentReason]], now: datetime
) -> None:
    for committee, reason in targets:
        if assign(
            session=session, case_id=case.id, committee_id=committee.id, reason=reason, now=now
        ):
            data = {"committee": committee.code, "committee_id": committee.id, "reason": reason}
            add_event(
                session=session,
                case_id=case.id,
                kind=_EVENT_FOR_REASON[reason],
                at=now,
                actor=SYSTEM,
                data=data,
            )


def route_case(*, session: Session, case_id: int, now: datetime) -> RoutingResult:
    """Put a case in the inboxes of the committees that cover its place and category.

    Sets the case ROUTED (when it was RECEIVED) with `routed_at`, and writes one event per
    step (`routed`, `copied_up`, or `triaged`). Idempotent: a second run, or a run racing
    another, changes nothing and reports the assignments already made.
    """
    case = session.get(Case, case_id)
    if case is None:
        return RoutingResult(case_id, changed=False, triaged=False, assignments=())
    if not _claim(session, case_id, now):
        session.refresh(case)
        return _result(session, case, changed=False)
    targets = []
    if case.location is not None:
        targets = plan_routing(
            session=session,
            location=case.location,
            category=case.category,
            severity=case.severity,
            itsci_level=case.itsci_level,
        )
    _assign_all(session, case, targets, now)
    if not targets:
        _triage(session, case, now)
    # The claim's UPDATE leaves the loaded object as it was; set the same values on it.
    case.routed_at, case.updated_at = now, now
    if case.status == Status.RECEIVED:
        case.status = Status.ROUTED
    session.flush()
    return _result(session, case, changed=True)


def set_level(
    *,
    session: Session,
    case: Case,
    level: int,
    actor: str,
    reason_enc: bytes,
    now: datetime,
) -> bool:
    """Change a case's ITSCI level; False when it already had it.

    A `level_changed` event keeps the old and new level and the reason (encrypted: it is
    free text). A routed, open case raised to level 1 is copied at once to every level above
    its highest committee, as routing does for a level 1 case.
    """
    if level not in set(ItsciLevel):
        raise ValueError(f"no ITSCI level {level!r}")
    if case.itsci_level == level:
        return False
    data = {"from": case.itsci_level, "to": level}
    case.itsci_level, case.updated_at = level, now
    add_event(
        session=session,
        case_id=case.id,
        kind=EventKind.LEVEL_CHANGED,
        at=now,
        actor=actor,
        body_enc=reason_enc,
        data=data,
    )
    assignments = active_assignments(session=session, case_id=case.id)
    if level == ItsciLevel.ONE and case.status != Status.CLOSED and assignments:
        top = max(assignments, key=lambda assignment: height(assignment.committee))
        _assign_all(
            session, case, _copies_up(session, top.committee, case.category, every_level=True), now
        )
    session.flush()
    return True


def triage_cases(*, session: Session, limit: int = 100) -> list[Case]:
    """Return the open cases in the admins' triage inbox, oldest first."""
    query = (
        select(Case)
        .where(Case.triaged_at.is_not(None), Case.status != Status.CLOSED)
        .order_by(Case.triaged_at, Case.id)
        .limit(limit)
    )
    return list(session.scalars(query))
