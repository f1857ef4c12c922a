"""The mechanism's performance by quarter: the figures the public page, the dashboard and
the quarterly report show, per province or per committee.

Each figure is a function of (session, quarter, province or committee, now) over the cases
created in that quarter (test reports left out), reading only structured columns (times,
places, severities, statuses, committees): no reporter's word, phone number or pseudonym.

- received: cases created in the quarter.
- acknowledged on time: of those cases whose acknowledgement deadline has passed or that
  were acknowledged, the ones acknowledged by the deadline. For a province the deadline is
  that of the committee the case was first given to (the time it reached that inbox plus
  the committee's deadline for the case's severity); for a committee it is its own, from
  when the case reached it.
- median days to acknowledge and to close: from creation (province) or from arrival in the
  committee's inbox (committee), over the cases acknowledged or closed so far.
- actions done on time: of the committees' actions due in the quarter (by due date) whose
  date has passed or that are done, the ones marked done by their due date in the
  committee's own calendar; a province counts the actions on its cases, a committee its own.
- solved and appeals: the closings made in the quarter that the reporter answered
  (storage.satisfaction), the share they called solved, and the number they called not
  solved, each of which reopened its case as an appeal to the level above.

`Raw` keeps the counts behind each share; `publish` (below) is the only way they reach the
public, suppressed by the rules in its docstring.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from storage.actions import local_date
from storage.committees import ack_deadline
from storage.models import (
    ActionStatus,
    Case,
    CaseAction,
    CaseAssignment,
    Committee,
    Level,
    Location,
    Satisfaction,
)
from storage.satisfaction import Closing, closings
from storage.stats import SUPPRESS_BELOW, UnknownFilter, province_code, provinces
from storage.stats import public_counts as stats_counts

_QUARTER = re.compile(r"(\d{4})-?[Qq]([1-4])")
DAY = timedelta(days=1)


class BadQuarter(ValueError):
    """A quarter that cannot be read (it is written like 2026Q4)."""


@dataclass(frozen=True, slots=True, order=True)
class Quarter:
    """A calendar quarter in UTC: 2026Q4 is October to December 2026."""

    year: int
    number: int

    @classmethod
    def parse(cls, text: str) -> Quarter:
        found = _QUARTER.fullmatch(text.strip())
        if found is None or not 2000 <= int(found.group(1)) <= 2999:
            raise BadQuarter("A quarter is written like 2026Q4 (a year from 2000, then Q1 to Q4).")
        return cls(int(found.group(1)), int(found.group(2)))

    @classmethod
    def of(cls, moment: datetime) -> Quarter:
        return cls(moment.year, (moment.month - 1) // 3 + 1)

    @property
    def start(self) -> datetime:
        return datetime(self.year, 3 * self.number - 2, 1, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        return self.shift(1).start

    def shift(self, quarters: int) -> Quarter:
        index = self.year * 4 + self.number - 1 + quarters
        return Quarter(index // 4, index % 4 + 1)

    def months(self) -> list[str]:
        return [f"{self.year:04d}-{3 * self.number - 2 + n:02d}" for n in range(3)]

    def __str__(self) -> str:
        return f"{self.year}Q{self.number}"


def quarters_between(first: Quarter, last: Quarter) -> list[Quarter]:
    """Every quarter from `first` to `last`, both included, oldest first."""
    found: list[Quarter] = []
    quarter = first
    while quarter <= last:
        found.append(quarter)
        quarter = quarter.shift(1)
    return found


@dataclass(slots=True)
class Raw:
    """The counts and durations behind one row of figures (one quarter, one place)."""

    received: int = 0
    ack_due: int = 0  # cases whose acknowledgement was due (deadline passed, or acknowledged)
    ack_on_time: int = 0
    ack: list[timedelta] = field(default_factory=list)
    close: list[timedelta] = field(default_factory=list)
    actions_due: int = 0  # actions due in the quarter: the date passed, or done already
    actions_on_time: int = 0
    actions: Counter[str] = field(default_factory=Counter)  # every action due, by status
    answered: int = 0  # closings made in the quarter that the reporter answered
    solved: int = 0  # of those, "solved"
    appeals: int = 0  # of those, "not solved": each reopened the case as an appeal

    @property
    def median_ack_days(self) -> float | None:
        return median_days(self.ack)

    @property
    def median_close_days(self) -> float | None:
        return median_days(self.close)

    @property
    def ack_on_time_share(self) -> float | None:
        return self.ack_on_time / self.ack_due if self.ack_due else None

    @property
    def solved_share(self) -> float | None:
        return self.solved / self.answered if self.answered else None

    @property
    def actions_on_time_share(self) -> float | None:
        return self.actions_on_time / self.actions_due if self.actions_due else None


def median_days(values: Sequence[timedelta]) -> float | None:
    """The median of `values` in days (negative ones counted as zero), or None for none."""
    if not values:
        return None
    return statistics.median(max(value.total_seconds(), 0.0) for value in values) / 86400


# -- reading the cases ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Held:
    """One case as one inbox saw it: when it arrived, its deadline there, the answers."""

    case_id: int
    province: str
    created: datetime
    arrived: datetime
    due: datetime
    acknowledged: datetime | None
    closed: datetime | None


def _province_path(session: Session, code: str) -> str:
    path = session.scalar(
        select(Location.path).where(Location.code == code, Location.level == Level.PROVINCE)
    )
    if path is None:
        raise UnknownFilter("province")
    return path


def _committee_id(session: Session, code: str) -> int:
    found = session.scalar(select(Committee.id).where(Committee.code == code))
    if found is None:
        raise UnknownFilter("committee")
    return found


def _case_clauses(start: datetime, end: datetime) -> list[ColumnElement[bool]]:
    return [Case.is_test.is_(False), Case.created_at >= start, Case.created_at < end]


def _received(
    session: Session, start: datetime, end: datetime, path: str | None
) -> dict[int, tuple[str, datetime, datetime | None, datetime | None]]:
    """Every case created in [start, end) (under `path` when given): its province and times."""
    query = (
        select(Case.id, Location.path, Case.created_at, Case.acknowledged_at, Case.closed_at)
        .outerjoin(Location, Case.location_id == Location.id)
        .where(*_case_clauses(start, end))
    )
    if path is not None:
        query = query.where(Location.path.startswith(path, autoescape=True))
    return {
        case_id: (province_code(path), created, acknowledged, closed)
        for case_id, path, created, acknowledged, closed in session.execute(query)
    }


def _first_inboxes(
    session: Session, start: datetime, end: datetime, case_ids: Iterable[int]
) -> dict[int, datetime]:
    """Each case's acknowledgement deadline at the first committee it was given to."""
    wanted = set(case_ids)
    query = (
        select(CaseAssignment, Committee, Case.severity)
        .join(Case, CaseAssignment.case_id == Case.id)
        .join(Committee, CaseAssignment.committee_id == Committee.id)
        .where(*_case_clauses(start, end))
        .order_by(CaseAssignment.case_id, CaseAssignment.assigned_at, CaseAssignment.id)
    )
    due: dict[int, datetime] = {}
    for assignment, committee, severity in session.execute(query):
        if assignment.case_id in wanted and assignment.case_id not in due:
            due[assignment.case_id] = assignment.assigned_at + ack_deadline(committee, severity)
    return due


def _tally(raw: Raw, held: _Held, now: datetime) -> None:
    if held.acknowledged is not None:
        raw.ack.append(held.acknowledged - held.arrived)
        raw.ack_due += 1
        raw.ack_on_time += held.acknowledged <= held.due
    elif held.due <= now:
        raw.ack_due += 1
    if held.closed is not None:
        raw.close.append(held.closed - held.arrived)


def _quarter_of_day(day: date) -> Quarter:
    return Quarter(day.year, (day.month - 1) // 3 + 1)


def _count_actions(
    rows: dict[Any, Raw],
    session: Session,
    first: Quarter,
    last: Quarter,
    now: datetime,
    key: Callable[[str | None, Quarter], Any],
    *clauses: ColumnElement[bool],
) -> None:
    """Add the actions due from `first` to `last` (by their due date) to `rows`: done on
    time when marked done on or before the due date in the committee's calendar."""
    query = (
        select(CaseAction, Committee, Location.path)
        .join(Case, CaseAction.case_id == Case.id)
        .join(Committee, CaseAction.committee_id == Committee.id)
        .outerjoin(Location, Case.location_id == Location.id)
        .where(
            Case.is_test.is_(False),
            CaseAction.due_on >= first.start.date(),
            CaseAction.due_on < last.end.date(),
            *clauses,
        )
    )
    for action, committee, path in session.execute(query):
        done = action.done_at is not None and action.status in (
            ActionStatus.DONE,
            ActionStatus.VERIFIED,
        )
        if not done and local_date(committee, now) <= action.due_on:
            continue  # still time to do it
        raw = rows[key(path, _quarter_of_day(action.due_on))]
        raw.actions_due += 1
        raw.actions[action.status] += 1
        if done and action.done_at is not None:
            raw.actions_on_time += local_date(committee, action.done_at) <= action.due_on


def _count_answers(
    rows: dict[Any, Raw],
    session: Session,
    start: datetime,
    end: datetime,
    key: Callable[[str | None, Quarter], Any],
    keep: Callable[[Closing], bool],
) -> None:
    """Add the closings made in [start, end) that the reporter answered, by the quarter of
    the closing: solved, or not solved (an appeal)."""
    for closing in closings(session=session, start=start, end=end):
        if closing.answer is None or not keep(closing):
            continue
        raw = rows[key(closing.path, Quarter.of(closing.closed_at))]
        raw.answered += 1
        raw.solved += closing.answer == Satisfaction.SOLVED
        raw.appeals += closing.answer == Satisfaction.NOT_SOLVED


def _by_province(
    session: Session, start: datetime, end: datetime, now: datetime, path: str | None
) -> dict[tuple[str, Quarter], Raw]:
    cases = _received(session, start, end, path)
    deadlines = _first_inboxes(session, start, end, cases)
    rows: dict[tuple[str, Quarter], Raw] = defaultdict(Raw)
    for case_id, (province, created, acknowledged, closed) in cases.items():
        raw = rows[(province, Quarter.of(created))]
        raw.received += 1
        due = deadlines.get(case_id)
        if due is None:  # never given to a committee (in triage): no deadline to meet
            if closed is not None:
                raw.close.append(closed - created)
            continue
        _tally(raw, _Held(case_id, province, created, created, due, acknowledged, closed), now)
    first, last = Quarter.of(start), Quarter.of(end - timedelta(microseconds=1))
    clauses = [] if path is None else [Location.path.startswith(path, autoescape=True)]
    _count_actions(rows, session, first, last, now, lambda at, q: (province_code(at), q), *clauses)
    _count_answers(
        rows,
        session,
        start,
        end,
        lambda at, q: (province_code(at), q),
        lambda closing: path is None or (closing.path or "").startswith(path),
    )
    return rows


def province_figures(*, session: Session, quarter: Quarter, province: str, now: datetime) -> Raw:
    """The figures of one province ("" for cases with no known province) in one quarter;
    UnknownFilter for a province code that does not exist."""
    path = None if province == "" else _province_path(session, province)
    rows = _by_province(session, quarter.start, quarter.end, now, path)
    return rows.get((province, quarter), Raw())


def provinces_by_quarter(
    *, session: Session, first: Quarter, last: Quarter, now: datetime
) -> dict[tuple[str, Quarter], Raw]:
    """The figures of every province that received cases, for each quarter from `first` to
    `last`; keys are (province code, quarter), "" for cases with no known province."""
    return dict(_by_province(session, first.start, last.end, now, None))


def committee_figures(*, session: Session, quarter: Quarter, committee: str, now: datetime) -> Raw:
    """The figures of one committee in one quarter, over the cases created in the quarter
    that are in its inbox; UnknownFilter for a code that does not exist."""
    return committee_by_quarter(
        session=session, committee=committee, first=quarter, last=quarter, now=now
    ).get(quarter, Raw())


def committee_by_quarter(
    *, session: Session, committee: str, first: Quarter, last: Quarter, now: datetime
) -> dict[Quarter, Raw]:
    """`committee_figures` for each quarter from `first` to `last` (every one present)."""
    committee_id = _committee_id(session, committee)
    query = (
        select(CaseAssignment, Case, Committee)
        .join(Case, CaseAssignment.case_id == Case.id)
        .join(Committee, CaseAssignment.committee_id == Committee.id)
        .where(
            CaseAssignment.committee_id == committee_id,
            CaseAssignment.active.is_(True),
            *_case_clauses(first.start, last.end),
        )
    )
    rows = {quarter: Raw() for quarter in quarters_between(first, last)}
    for assignment, case, holder in session.execute(query):
        raw = rows[Quarter.of(case.created_at)]
        raw.received += 1
        due = assignment.assigned_at + ack_deadline(holder, case.severity)
        acknowledged = assignment.acknowledged_at or case.acknowledged_at
        held = _Held(
            case.id, "", case.created_at, assignment.assigned_at, due, acknowledged, case.closed_at
        )
        _tally(raw, held, now)
    _count_actions(
        rows, session, first, last, now, lambda _at, q: q, CaseAction.committee_id == committee_id
    )
    inbox = set(
        session.scalars(
            select(CaseAssignment.case_id).where(
                CaseAssignment.committee_id == committee_id, CaseAssignment.active.is_(True)
            )
        )
    )

    def closed_here(closing: Closing) -> bool:
        """A committee answers for its own closings (an older closing that recorded no
        committee counts for every committee holding the case)."""
        if closing.committee_id is not None:
            return closing.committee_id == committee_id
        return closing.case_id in inbox

    _count_answers(rows, session, first.start, last.end, lambda _at, q: q, closed_here)
    return rows


# -- publishing ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PublicRow:
    """One province's published figures for one quarter; None where nothing can be shown.

    `suppressed` names the figures hidden to protect reporters (the others that are None
    had nothing to measure: no case acknowledged yet, say).
    """

    province: str
    province_name: str
    quarter: str
    received: int | None
    ack_on_time_pct: int | None
    median_ack_days: float | None
    median_close_days: float | None
    actions_on_time_pct: int | None
    solved_pct: int | None
    appeals: int | None
    suppressed: tuple[str, ...]


def publish_count(value: int) -> int | None:
    """A count as published: hidden (None) from 1 to SUPPRESS_BELOW - 1."""
    return None if 0 < value < SUPPRESS_BELOW else value


def publish_share(part: int, whole: int) -> int | None:
    """A share as a whole percentage, only over at least SUPPRESS_BELOW cases and only when
    neither the cases it counts nor the rest are a small count: "80% of 6" tells whoever
    knows the 6 that one case is missing, so a share may never stand in for a hidden count."""
    if whole < SUPPRESS_BELOW:
        return None
    if publish_count(part) is None or publish_count(whole - part) is None:
        return None
    return round(100 * part / whole)


def publish_median(values: Sequence[timedelta]) -> float | None:
    """A median in days with one decimal, only over at least SUPPRESS_BELOW cases."""
    found = median_days(values) if len(values) >= SUPPRESS_BELOW else None
    return None if found is None else round(found, 1)


def total_is_safe(hidden: Sequence[int]) -> bool:
    """Whether a total may be published beside its parts when `hidden` are the parts shown
    as "<5" (each 1 to 4).

    Subtracting the shown parts from the total gives the sum S of the k hidden ones; a
    reader then knows each lies in [max(1, S - 4(k-1)), min(4, S - (k-1))]. The total is
    safe only when that is still all of 1 to 4 for every hidden part: no hidden part at
    all, or k + 3 <= S <= 4k - 3 (so never a single one).
    """
    k, total = len(hidden), sum(hidden)
    return k == 0 or k + 3 <= total <= 4 * k - 3


def publish(
    rows: dict[tuple[str, Quarter], Raw],
    parts: Mapping[tuple[str, Quarter], Sequence[int]],
    names: dict[str, str],
) -> list[PublicRow]:
    """The public rows, suppressed.

    - every count from 1 to 4 is hidden, and so is a count that is the total of other
      published counts (`parts`: the province's counts by category and month in that
      quarter on the same page) when it would narrow down a hidden one (`total_is_safe`);
    - a median is shown over at least 5 cases; a share over at least 5 cases, and only
      when neither its part nor the rest is a count from 1 to 4 (`publish_share`);
    - no total over provinces or quarters is published at all.
    """
    published: list[PublicRow] = []
    for (province, quarter), raw in rows.items():
        hidden: list[str] = []
        received = publish_count(raw.received)
        small = [n for n in parts.get((province, quarter), ()) if publish_count(n) is None]
        if received is not None and not total_is_safe(small):
            received = None
        share = publish_share(raw.ack_on_time, raw.ack_due)
        ack = publish_median(raw.ack)
        close = publish_median(raw.close)
        actions = publish_share(raw.actions_on_time, raw.actions_due)
        solved = publish_share(raw.solved, raw.answered)
        appeals = publish_count(raw.appeals)
        for name, shown, measured in (
            ("received", received, raw.received),
            ("ack_on_time_pct", share, raw.ack_due),
            ("median_ack_days", ack, len(raw.ack)),
            ("median_close_days", close, len(raw.close)),
            ("actions_on_time_pct", actions, raw.actions_due),
            ("solved_pct", solved, raw.answered),
            ("appeals", appeals, raw.appeals),
        ):
            if shown is None and measured:
                hidden.append(name)
        published.append(
            PublicRow(
                province=province,
                province_name=names.get(province, "Place not given"),
                quarter=str(quarter),
                received=received,
                ack_on_time_pct=share,
                median_ack_days=ack,
                median_close_days=close,
                actions_on_time_pct=actions,
                solved_pct=solved,
                appeals=appeals,
                suppressed=tuple(hidden),
            )
        )
    return sorted(published, key=lambda row: (row.province_name, row.province, row.quarter))


def public_rows(
    *, session: Session, first: Quarter, last: Quarter, now: datetime
) -> list[PublicRow]:
    """Every province's published figures for each quarter from `first` to `last` that it
    received cases in. Whole quarters are always counted, whatever months a reader asked
    for, so each row is fixed and asking for other ranges reveals nothing new."""
    rows = provinces_by_quarter(session=session, first=first, last=last, now=now)
    counts = stats_counts(session=session, start=first.start, end=last.end)
    parts: dict[tuple[str, Quarter], list[int]] = defaultdict(list)
    for (province, _category, month), count in counts.items():
        year, number = month.split("-")
        parts[(province, Quarter(int(year), (int(number) - 1) // 3 + 1))].append(count)
    return publish(rows, parts, provinces(session=session))
