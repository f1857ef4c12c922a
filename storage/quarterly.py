"""A committee's quarterly report: its performance, the recurring categories and sites, and
the actions it took.

An internal committee document for signed-in users and the committee itself, so counts are
not suppressed (as on the console's dashboard). It is built only from structured columns:
categories, place names from the imported places (never the place a reporter typed),
times, statuses and action dates. No reporter's words, no action's words, no phone number,
no pseudonym.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage import performance
from storage.models import Case, CaseAction, CaseAssignment, Committee, Location
from storage.performance import Quarter, Raw
from storage.stats import UnknownFilter

TREND_QUARTERS = 4


@dataclass(frozen=True, slots=True)
class ActionLine:
    """One action due in the quarter: its case, number, status and dates, never its words."""

    case_number: str
    n: int
    status: str
    due_on: date
    done_at: datetime | None


@dataclass(frozen=True, slots=True)
class QuarterlyReport:
    committee_code: str
    committee_name: str
    quarter: Quarter
    generated_at: datetime
    figures: Raw
    trend: list[tuple[Quarter, Raw]]  # the last TREND_QUARTERS quarters, this one last
    categories: list[tuple[str, int]]  # most frequent first
    sites: list[tuple[str, int]]  # place names, most frequent first
    actions: list[ActionLine]


def _ranked(counter: Counter[str]) -> list[tuple[str, int]]:
    return sorted(counter.items(), key=lambda item: (-item[1], item[0]))


def _cases(session: Session, committee_id: int, quarter: Quarter) -> list[tuple[str, str | None]]:
    """(category, place name) of each case created in the quarter that is in the inbox."""
    query = (
        select(Case.category, Location.name)
        .join(CaseAssignment, CaseAssignment.case_id == Case.id)
        .outerjoin(Location, Case.location_id == Location.id)
        .where(
            CaseAssignment.committee_id == committee_id,
            CaseAssignment.active.is_(True),
            Case.is_test.is_(False),
            Case.created_at >= quarter.start,
            Case.created_at < quarter.end,
        )
    )
    return [(str(category), name) for category, name in session.execute(query)]


def _actions(session: Session, committee_id: int, quarter: Quarter) -> list[ActionLine]:
    query = (
        select(Case.number, CaseAction.n, CaseAction.status, CaseAction.due_on, CaseAction.done_at)
        .join(Case, CaseAction.case_id == Case.id)
        .where(
            CaseAction.committee_id == committee_id,
            Case.is_test.is_(False),
            CaseAction.due_on >= quarter.start.date(),
            CaseAction.due_on < quarter.end.date(),
        )
        .order_by(CaseAction.due_on, Case.number, CaseAction.n)
    )
    return [ActionLine(*row) for row in session.execute(query)]


def quarterly_report(
    *, session: Session, committee: str, quarter: Quarter, now: datetime
) -> QuarterlyReport:
    """The report of `committee` (a code) for `quarter`; UnknownFilter for an unknown code."""
    found = session.execute(
        select(Committee.id, Committee.name).where(Committee.code == committee)
    ).first()
    if found is None:
        raise UnknownFilter("committee")
    committee_id, name = found
    first = quarter.shift(1 - TREND_QUARTERS)
    rows = performance.committee_by_quarter(
        session=session, committee=committee, first=first, last=quarter, now=now
    )
    cases = _cases(session, committee_id, quarter)
    return QuarterlyReport(
        committee_code=committee,
        committee_name=name,
        quarter=quarter,
        generated_at=now,
        figures=rows[quarter],
        trend=sorted(rows.items()),
        categories=_ranked(Counter(category for category, _ in cases)),
        sites=_ranked(Counter(place or "Place not given" for _, place in cases)),
        actions=_actions(session, committee_id, quarter),
    )
