"""What a reporter is told about time: when the committee answers, and by when it must.

At submit time the case is not routed yet (routing runs in a job): the committee that
will answer it is found the way routing will find it (`storage.routing.plan_routing`,
deterministic from the place, category, severity and level), and its acknowledgement
deadline for the case's severity is the promise. A case with no committee (no known place,
or none covering it) is promised the default deadline of its severity: the admins' triage
works to the same clock.

The status check says, while a case waits for its acknowledgement, the date it is due by
in the answering committee's timezone, or, once it was passed up for being late, the
committee it was passed up to. An appealed case waits in the same way for the committee
the appeal went to, due by that committee's deadline counted from the appeal.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from storage.assignments import active_assignments
from storage.committees import DEFAULT_ACK_DEADLINES, ack_deadline
from storage.models import AssignmentReason, Case, CaseAssignment, Committee, Status
from storage.routing import plan_routing

__all__ = [
    "DAYS",
    "HOURS",
    "Due",
    "answer_within",
    "answering_committee",
    "due",
    "due_text",
    "status_timeline",
    "within_values",
]

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
DAYS, HOURS = "days", "hours"
WAITING = frozenset({Status.RECEIVED, Status.ROUTED, Status.APPEALED})


def answering_committee(*, session: Session, case: Case) -> Committee | None:
    """The committee routing gives the case to answer (None: the admins' triage)."""
    if case.location is None:
        return None
    plan = plan_routing(
        session=session,
        location=case.location,
        category=case.category,
        severity=case.severity,
        itsci_level=case.itsci_level,
    )
    return plan[0][0] if plan else None


def answer_within(*, session: Session, case: Case) -> timedelta:
    """How long the committee that will answer `case` has to acknowledge it."""
    committee = answering_committee(session=session, case=case)
    if committee is None:
        return timedelta(seconds=DEFAULT_ACK_DEADLINES[case.severity])
    return ack_deadline(committee, case.severity)


def within_values(within: timedelta) -> dict[str, str]:
    """The values a screen says a delay with: whole days, or whole hours under a day
    (rounded up: "within 2 days" for 36 hours), and `within` naming which."""
    if within >= DAY:
        return {"within": DAYS, DAYS: str(math.ceil(within / DAY))}
    return {"within": HOURS, HOURS: str(max(1, math.ceil(within / HOUR)))}


@dataclass(frozen=True, slots=True)
class Due:
    """Where a waiting case stands: due by `at` (aware, in `timezone`), or passed up."""

    at: datetime | None
    passed_up_to: str | None


def _answering(assignments: list[CaseAssignment]) -> CaseAssignment | None:
    own = [a for a in assignments if a.reason != AssignmentReason.COPIED_UP]
    waiting = [a for a in own if a.escalated_at is None]
    return max(waiting or own, key=lambda a: (a.assigned_at, a.id), default=None)


def due(*, session: Session, case: Case) -> Due | None:
    """Where `case` stands while it waits for its acknowledgement (after an appeal: for its
    acknowledgement since); None once acknowledged, closed or in triage."""
    if case.status not in WAITING or case.triaged_at is not None:
        return None
    assignments = active_assignments(session=session, case_id=case.id)
    answering = _answering(assignments)
    if answering is not None and answering.reason == AssignmentReason.ESCALATED:
        return Due(None, answering.committee.name)
    if answering is not None:
        committee, since = answering.committee, answering.assigned_at
    else:
        found = answering_committee(session=session, case=case)
        if found is None:
            return None
        committee, since = found, case.created_at
    at = (since + ack_deadline(committee, case.severity)).astimezone(ZoneInfo(committee.timezone))
    return Due(at, None)


def due_text(at: datetime) -> str:
    """A due date as the reporter reads it: day/month and the 24-hour time, "05/12 14:00"
    (every language of the line writes the day before the month)."""
    return at.strftime("%d/%m %H:%M")


def status_timeline(*, session: Session, case: Case) -> Mapping[str, str]:
    """The status check's values: `due` (a due date) or `passed_up` (a committee's name)."""
    found = due(session=session, case=case)
    if found is None:
        return {}
    if found.passed_up_to is not None:
        return {"passed_up": found.passed_up_to}
    return {} if found.at is None else {"due": due_text(found.at)}
