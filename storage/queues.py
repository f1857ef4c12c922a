"""Work queues: each open case's deadline for its current stage, and which ones are overdue.

A case's deadline is its answering committee's (the newest committee that holds it of its
own, not as a copy, and has not passed it up) for the stage the case is at, counted from
when the case reached that committee's inbox (for an appeal: from the appeal):

- acknowledge: not acknowledged yet (an appealed case: not since the appeal), by the
  committee's acknowledgement deadline for the case's severity;
- first action: acknowledged and no action recorded, by its first-action deadline;
- close: acknowledged with actions, by its closing deadline.

A closed case, or one in the admins' triage (no committee holds it), has no deadline.
Deadlines are worked out in Python from a few columns, since each committee sets its own
per severity: the queue of a province is a few hundred open cases, a national one some
thousands, a handful of small tuples each.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from storage.committees import ack_deadline, action_deadline, close_deadline
from storage.models import AssignmentReason, Case, CaseAction, CaseAssignment, Committee, Status


class Stage(StrEnum):
    """What the committee owes the case next."""

    ACKNOWLEDGE = "acknowledge"
    FIRST_ACTION = "first action"
    CLOSE = "close"


@dataclass(frozen=True, slots=True)
class Deadline:
    """When the answering committee owes the case its next `stage`."""

    at: datetime
    stage: Stage
    committee: str  # the committee's name


_Row = tuple[int, str, str, datetime | None, int, str, datetime, datetime | None]


def _rows(session: Session, conditions: Sequence[ColumnElement[bool]]) -> list[_Row]:
    query = (
        select(
            Case.id,
            Case.severity,
            Case.status,
            Case.acknowledged_at,
            CaseAssignment.committee_id,
            CaseAssignment.reason,
            CaseAssignment.assigned_at,
            CaseAssignment.escalated_at,
        )
        .join(CaseAssignment, CaseAssignment.case_id == Case.id)
        .where(
            *conditions,
            Case.status != Status.CLOSED,
            CaseAssignment.active.is_(True),
            CaseAssignment.reason != AssignmentReason.COPIED_UP,
        )
    )
    return [tuple(row) for row in session.execute(query)]  # type: ignore[misc]


def _answering(rows: Iterable[_Row]) -> dict[int, _Row]:
    """Per case, the assignment that answers: not passed up, newest (as `timelines` does)."""
    best: dict[int, _Row] = {}
    for row in rows:
        current = best.get(row[0])
        key = (row[7] is None, row[6])
        if current is None or key > (current[7] is None, current[6]):
            best[row[0]] = row
    return best


def _with_actions(session: Session, case_ids: Sequence[int]) -> set[int]:
    if not case_ids:
        return set()
    query = select(CaseAction.case_id).where(CaseAction.case_id.in_(case_ids)).distinct()
    return set(session.scalars(query))


def _deadline(row: _Row, committee: Committee, acted: bool) -> Deadline:
    _id, severity, status, acknowledged, _committee, _reason, since, _up = row
    if acknowledged is None or status == Status.APPEALED:
        stage, within = Stage.ACKNOWLEDGE, ack_deadline(committee, severity)
    elif not acted:
        stage, within = Stage.FIRST_ACTION, action_deadline(committee, severity)
    else:
        stage, within = Stage.CLOSE, close_deadline(committee, severity)
    return Deadline(at=since + within, stage=stage, committee=committee.name)


def deadlines(
    *, session: Session, conditions: Sequence[ColumnElement[bool]]
) -> dict[int, Deadline]:
    """The deadline of every open case matching `conditions`, by case id."""
    answering = _answering(_rows(session, conditions))
    if not answering:
        return {}
    ids = list(answering)
    acted = _with_actions(session, ids)
    committee_ids = {row[4] for row in answering.values()}
    committees = {
        c.id: c for c in session.scalars(select(Committee).where(Committee.id.in_(committee_ids)))
    }
    return {
        case_id: _deadline(row, committees[row[4]], case_id in acted)
        for case_id, row in answering.items()
    }


def overdue_ids(
    *, session: Session, conditions: Sequence[ColumnElement[bool]], now: datetime
) -> frozenset[int]:
    """The open cases matching `conditions` whose deadline has passed at `now`."""
    found = deadlines(session=session, conditions=conditions)
    return frozenset(case_id for case_id, due in found.items() if due.at <= now)


def by_deadline(ids: Iterable[int], found: dict[int, Deadline], descending: bool) -> list[int]:
    """Case ids soonest deadline first (or last), cases without one after every other;
    ties in the order of the case id, so pages never overlap."""
    with_due = sorted((i for i in ids if i in found), key=lambda i: (found[i].at, i))
    without = sorted(i for i in ids if i not in found)
    if descending:
        with_due.reverse()
    return with_due + without


def overdue_by(due: Deadline, now: datetime) -> timedelta | None:
    """How long past its deadline the case is (None: not overdue)."""
    late = now - due.at
    return late if late >= timedelta(0) else None
