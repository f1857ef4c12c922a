"""Statistics: what the dashboard, the stats API and the public aggregate count.

Only structured columns are read (category, place, status and times), never free text, so
every figure here may be shown to any role. Test reports (from the simulator) are left out.

Grouping by ISO week and by month is done in Python over the few columns selected for the
date range, which behaves the same on SQLite and PostgreSQL; at national scale (150,000
cases a year) that is a few hundred thousand small tuples.

The public aggregate counts cases by (province, category, month). Suppression rule: every
count from 1 to 4 is published as null ("fewer than 5"), zeros are left out, and no totals
of any kind (per province, per category, per month or overall) are published, so a hidden
count cannot be worked out by subtracting shown counts from a total. Each cell is a fixed
(province, category, month), so asking for different month ranges reveals nothing new.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, Select, exists, func, select
from sqlalchemy.orm import Session

from storage.casequery import committees_under, scope_clause
from storage.inbox import overdue_assignments
from storage.models import Case, CaseAssignment, Category, Committee, Level, Location, Status
from storage.users import Scope

SUPPRESS_BELOW = 5
UNKNOWN_PROVINCE = ""


@dataclass(frozen=True, slots=True)
class StatsFilter:
    """Cases created in [start, end) that match every filter given (None matches all)."""

    start: datetime
    end: datetime
    category: str | None = None
    province: str | None = None
    committee: str | None = None
    scope: Scope | None = None  # the viewer's (storage.casequery.scope_clause)


@dataclass(frozen=True, slots=True)
class CommitteeStats:
    """One committee's inbox: open and overdue now; medians over cases created in range."""

    code: str
    name: str
    open: int
    overdue: int
    median_ack: timedelta | None
    median_close: timedelta | None


@dataclass(frozen=True, slots=True)
class Stats:
    """The dashboard's figures.

    `received`, the groupings and the medians cover cases created in the range; `open` and
    `overdue` are counted now, whatever the creation date, with the other filters applied.
    """

    received: int
    by_category: list[tuple[str, int]]
    by_province: list[tuple[str, int]]
    by_week: list[tuple[date, int]]
    open: int
    overdue: int
    median_ack: timedelta | None
    median_close: timedelta | None
    committees: list[CommitteeStats] = field(default_factory=list)
    by_channel: list[tuple[str, int]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class PublicCell:
    """One published count; `count` is None when it was suppressed (1 to 4 cases)."""

    province: str
    province_name: str
    category: str
    month: str
    count: int | None


class UnknownFilter(ValueError):
    """A filter names a province or committee that does not exist."""


def week_start(day: date) -> date:
    """Return the Monday of the ISO week `day` is in."""
    return day - timedelta(days=day.weekday())


def month_key(moment: datetime) -> str:
    return f"{moment.year:04d}-{moment.month:02d}"


def province_code(path: str | None) -> str:
    """The province code in a place path ("/cd/cd-nk/…" -> "cd-nk"), or "" above/without one."""
    parts = (path or "").strip("/").split("/")
    return parts[1] if len(parts) > 1 else UNKNOWN_PROVINCE


def median(values: Iterable[timedelta]) -> timedelta | None:
    seconds = [max(value.total_seconds(), 0.0) for value in values]
    return timedelta(seconds=statistics.median(seconds)) if seconds else None


def provinces(*, session: Session) -> dict[str, str]:
    """Map each province's code to its name, in name order."""
    query = (
        select(Location.code, Location.name)
        .where(Location.level == Level.PROVINCE)
        .order_by(Location.name)
    )
    return dict(session.execute(query).all())


def committees(*, session: Session) -> dict[str, str]:
    """Map each committee's code to its name, in name order."""
    query = select(Committee.code, Committee.name).order_by(Committee.name)
    return dict(session.execute(query).all())


def _province_clause(session: Session, code: str) -> ColumnElement[bool]:
    path = session.scalar(
        select(Location.path).where(Location.code == code, Location.level == Level.PROVINCE)
    )
    if path is None:
        raise UnknownFilter("province")
    below = select(Location.id).where(Location.path.startswith(path, autoescape=True))
    return Case.location_id.in_(below)


def _committee_clause(session: Session, code: str) -> ColumnElement[bool]:
    if session.scalar(select(Committee.id).where(Committee.code == code)) is None:
        raise UnknownFilter("committee")
    return exists().where(
        CaseAssignment.case_id == Case.id,
        CaseAssignment.active.is_(True),
        CaseAssignment.committee_id == Committee.id,
        Committee.code == code,
    )


def _clauses(session: Session, where: StatsFilter) -> list[ColumnElement[bool]]:
    """The filters other than the date range; UnknownFilter for a code that does not exist."""
    clauses: list[ColumnElement[bool]] = [Case.is_test.is_(False)]
    if where.category is not None:
        clauses.append(Case.category == where.category)
    if where.province is not None:
        clauses.append(_province_clause(session, where.province))
    if where.committee is not None:
        clauses.append(_committee_clause(session, where.committee))
    scope = scope_clause(where.scope)
    if scope is not None:
        clauses.append(scope)
    return clauses


def scope_committees(*, session: Session, scope: Scope | None) -> frozenset[int] | None:
    """The committees a scoped viewer's tables show (those of the scope, or those whose place
    is under the scope's place); None: every committee."""
    if scope is None or scope.everything:
        return None
    if scope.place_path is not None:
        return committees_under(session=session, path=scope.place_path)
    return scope.committee_ids


def _in_range(where: StatsFilter) -> list[ColumnElement[bool]]:
    return [Case.created_at >= where.start, Case.created_at < where.end]


def _weeks(start: datetime, end: datetime, created: Iterable[datetime]) -> list[tuple[date, int]]:
    counts = Counter(week_start(moment.date()) for moment in created)
    first, last = week_start(start.date()), week_start((end - timedelta(microseconds=1)).date())
    weeks = [first + timedelta(weeks=n) for n in range((last - first).days // 7 + 1)]
    return [(week, counts.get(week, 0)) for week in weeks]


def _ranked(counter: Counter[str]) -> list[tuple[str, int]]:
    return sorted(counter.items(), key=lambda item: (-item[1], item[0]))


def _rows_query(
    clauses: Sequence[ColumnElement[bool]],
) -> Select[str, str, datetime, datetime | None, datetime | None, str]:
    return (
        select(
            Case.category,
            Location.path,
            Case.created_at,
            Case.acknowledged_at,
            Case.closed_at,
            Case.channel,
        )
        .outerjoin(Location, Case.location_id == Location.id)
        .where(*clauses)
    )


def _open_ids(session: Session, clauses: Sequence[ColumnElement[bool]]) -> set[int]:
    query = select(Case.id).where(*clauses, Case.status != Status.CLOSED)
    return set(session.scalars(query))


def _overdue(session: Session, open_ids: set[int], now: datetime) -> dict[int, int]:
    """Map each overdue open case (as escalation defines it) to the committee it is with."""
    return {
        item.case_id: item.committee_id
        for item in overdue_assignments(session=session, now=now)
        if item.case_id in open_ids
    }


def weekly_by_category(*, session: Session, where: StatsFilter) -> list[tuple[date, str, int]]:
    """Count cases by (ISO week, category) over the range: every week and every category,
    zeros included, so the rows chart as they are; UnknownFilter as for the dashboard."""
    clauses = [*_clauses(session, where), *_in_range(where)]
    query = select(Case.created_at, Case.category).where(*clauses)
    counts = Counter(
        (week_start(created.date()), category) for created, category in session.execute(query)
    )
    weeks = [week for week, _ in _weeks(where.start, where.end, ())]
    return [
        (week, str(category), counts.get((week, category), 0))
        for week in weeks
        for category in Category
    ]


def count_received(*, session: Session, where: StatsFilter) -> int:
    """Count the cases created in the range that match the filters."""
    clauses = [*_clauses(session, where), *_in_range(where)]
    return session.scalar(select(func.count()).select_from(Case).where(*clauses)) or 0


def dashboard_stats(*, session: Session, where: StatsFilter, now: datetime) -> Stats:
    """Count the dashboard's figures; UnknownFilter when a filter names nothing."""
    clauses = _clauses(session, where)
    rows = session.execute(_rows_query([*clauses, *_in_range(where)])).all()
    open_ids = _open_ids(session, clauses)
    overdue = _overdue(session, open_ids, now)
    return Stats(
        received=len(rows),
        by_category=_ranked(Counter(str(row[0]) for row in rows)),
        by_province=_ranked(Counter(province_code(row[1]) for row in rows)),
        by_week=_weeks(where.start, where.end, (row[2] for row in rows)),
        open=len(open_ids),
        overdue=len(overdue),
        median_ack=median(row[3] - row[2] for row in rows if row[3] is not None),
        median_close=median(row[4] - row[2] for row in rows if row[4] is not None),
        committees=committee_stats(session=session, where=where, overdue=overdue),
        by_channel=_ranked(Counter(str(row[5]) for row in rows)),
    )


@dataclass(slots=True)
class _Inbox:
    open: int = 0
    overdue: int = 0
    ack: list[timedelta] = field(default_factory=list)
    close: list[timedelta] = field(default_factory=list)


_Held = tuple[int, int, str, datetime, datetime, datetime | None, datetime | None, datetime | None]


def _assignment_query(
    clauses: Sequence[ColumnElement[bool]],
) -> Select[int, int, str, datetime, datetime, datetime | None, datetime | None, datetime | None]:
    return (
        select(
            CaseAssignment.committee_id,
            Case.id,
            Case.status,
            Case.created_at,
            CaseAssignment.assigned_at,
            CaseAssignment.acknowledged_at,
            Case.acknowledged_at,
            Case.closed_at,
        )
        .join(Case, CaseAssignment.case_id == Case.id)
        .where(CaseAssignment.active.is_(True), *clauses)
    )


def _tally(inbox: _Inbox, row: _Held, where: StatsFilter, overdue_here: bool) -> None:
    _committee, _case, status, created, assigned, ack_here, ack_case, closed = row
    if status != Status.CLOSED:
        inbox.open += 1
        inbox.overdue += overdue_here
    if not where.start <= created < where.end:
        return
    acknowledged = ack_here or ack_case
    if acknowledged is not None:
        inbox.ack.append(acknowledged - assigned)
    if closed is not None:
        inbox.close.append(closed - assigned)


def committee_stats(
    *, session: Session, where: StatsFilter, overdue: dict[int, int]
) -> list[CommitteeStats]:
    """Each committee holding cases: open and overdue now, and its median times to
    acknowledge and to close, measured from when the case reached its inbox."""
    inboxes: dict[int, _Inbox] = defaultdict(_Inbox)
    shown = scope_committees(session=session, scope=where.scope)
    for row in session.execute(_assignment_query(_clauses(session, where))):
        committee_id, case_id = row[0], row[1]
        if shown is not None and committee_id not in shown:
            continue
        _tally(inboxes[committee_id], row, where, overdue.get(case_id) == committee_id)
    if not inboxes:
        return []
    names = session.execute(
        select(Committee.id, Committee.code, Committee.name).where(Committee.id.in_(inboxes))
    )
    found = [
        CommitteeStats(
            code=code,
            name=name,
            open=inboxes[committee_id].open,
            overdue=inboxes[committee_id].overdue,
            median_ack=median(inboxes[committee_id].ack),
            median_close=median(inboxes[committee_id].close),
        )
        for committee_id, code, name in names
    ]
    return sorted(found, key=lambda item: item.name)


def public_counts(
    *, session: Session, start: datetime, end: datetime
) -> Counter[tuple[str, str, str]]:
    """Count cases created in [start, end) by (province, category, month), unsuppressed:
    for suppressing the public figures, never to be published as they are."""
    query = (
        select(Location.path, Case.category, Case.created_at)
        .outerjoin(Location, Case.location_id == Location.id)
        .where(Case.is_test.is_(False), Case.created_at >= start, Case.created_at < end)
    )
    return Counter(
        (province_code(path), category, month_key(created))
        for path, category, created in session.execute(query)
    )


def public_cells(*, session: Session, start: datetime, end: datetime) -> list[PublicCell]:
    """Count cases created in [start, end) by (province, category, month), suppressed by the
    rule in this module's docstring; ordered by province name, month and category."""
    counts = public_counts(session=session, start=start, end=end)
    names = provinces(session=session)
    cells = [
        PublicCell(
            province=province,
            province_name=names.get(province, "Place not given"),
            category=category,
            month=month,
            count=count if count >= SUPPRESS_BELOW else None,
        )
        for (province, category, month), count in counts.items()
    ]
    return sorted(cells, key=lambda c: (c.province_name, c.province, c.month, c.category))


def first_report_at(*, session: Session) -> datetime | None:
    """When the first real report was received (test reports left out), or None."""
    return session.scalar(select(func.min(Case.created_at)).where(Case.is_test.is_(False)))
