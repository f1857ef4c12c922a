"""What reporters said of their cases' closings: solved, not solved, or no answer.

Counted per closing, not per case: a case appealed and closed again is two closings, each
with its own answer (storage/appeals.py), matched by the `closing` its `solved` or
`appealed` event names. A closing is counted in the month (or any range) it was made in;
one still inside its answer window counts as "no answer" until the reporter answers.
Only structured columns are read; test reports are left out, as in storage/stats.py.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Case, CaseEvent, EventKind, Location, Satisfaction

_ANSWER_OF_KIND = {
    EventKind.SOLVED: Satisfaction.SOLVED,
    EventKind.APPEALED: Satisfaction.NOT_SOLVED,
}


@dataclass(frozen=True, slots=True)
class Closing:
    """One closing: its case, when, the place path of the case, and the reporter's answer."""

    case_id: int
    closed_at: datetime
    path: str | None
    answer: str | None
    committee_id: int | None = None  # the committee that closed it (None: not recorded)


@dataclass(frozen=True, slots=True)
class SatisfactionMonth:
    """The closings of one month ("2026-12") by the reporter's answer."""

    month: str
    solved: int
    not_solved: int
    no_answer: int


def _answers(session: Session, case_ids: set[int]) -> dict[int, str]:
    """Map each answered closing's event id to its answer."""
    if not case_ids:
        return {}
    query = select(CaseEvent.kind, CaseEvent.data).where(
        CaseEvent.case_id.in_(case_ids), CaseEvent.kind.in_(tuple(_ANSWER_OF_KIND))
    )
    found: dict[int, str] = {}
    for kind, data in session.execute(query):
        closing = data.get("closing") if isinstance(data, dict) else None
        if isinstance(closing, int):
            found.setdefault(closing, _ANSWER_OF_KIND[EventKind(kind)])
    return found


def closings(*, session: Session, start: datetime, end: datetime) -> list[Closing]:
    """Every closing made in [start, end), oldest first, with the reporter's answer (None:
    no answer yet, or never). For figures per place, period or committee on top."""
    query = (
        select(CaseEvent.id, CaseEvent.case_id, CaseEvent.at, CaseEvent.data, Location.path)
        .join(Case, CaseEvent.case_id == Case.id)
        .outerjoin(Location, Case.location_id == Location.id)
        .where(
            CaseEvent.kind == EventKind.CLOSED,
            CaseEvent.at >= start,
            CaseEvent.at < end,
            Case.is_test.is_(False),
        )
        .order_by(CaseEvent.at, CaseEvent.id)
    )
    rows = session.execute(query).all()
    answers = _answers(session, {row.case_id for row in rows})
    return [
        Closing(row.case_id, row.at, row.path, answers.get(row.id), _closer(row.data))
        for row in rows
    ]


def _closer(data: object) -> int | None:
    found = data.get("committee_id") if isinstance(data, dict) else None
    return found if isinstance(found, int) else None


def satisfaction_by_month(
    *, session: Session, start: datetime, end: datetime
) -> list[SatisfactionMonth]:
    """Closings made in [start, end) per month: solved, not solved, no answer."""
    tally: dict[str, Counter[str | None]] = {}
    for closing in closings(session=session, start=start, end=end):
        month = f"{closing.closed_at.year:04d}-{closing.closed_at.month:02d}"
        tally.setdefault(month, Counter())[closing.answer] += 1
    return [
        SatisfactionMonth(
            month,
            solved=counts[Satisfaction.SOLVED],
            not_solved=counts[Satisfaction.NOT_SOLVED],
            no_answer=counts[None],
        )
        for month, counts in sorted(tally.items())
    ]
