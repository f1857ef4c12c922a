"""Signals: a rise in one territory's reports of one category, or a report that is a signal
by itself, raised once to the provincial committee and followed up like a case.

The threshold rule is EARS-C2 style (CDC's Early Aberration Reporting System): a day's
count is compared with the mean and the standard deviation of the `baseline_days` days
(7) that end `gap_days` days (2) before it, so the first days of a rise, still reaching
the committee's phones, do not hide it by raising their own baseline. Missing days count
0. The standard deviation is the sample one (n - 1), as EARS computes it.

A signal when `count > mean + sd_factor × sd` and `count >= min_count` (3). The strict
"above" keeps a count equal to the threshold quiet. With a flat baseline the standard
deviation is 0 and the threshold is the baseline itself: on an all-zero history, 3 reports
in a day raise a signal and 1 or 2 never do (the minimum count, not the zero threshold,
decides); on a flat 2 a day the threshold is 2.0, so 3 reports raise a signal and 2 do not.

Counting: a case counts for the territory of its site, or for its own place when that is a
territory; a case filed against a province or country, or typed text only, counts for no
territory, and test cases never count. A day is a calendar day in the timezone of the
committee the signal goes to (the nearest provincial committee covering the territory that
takes the category, else the country's national committee), UTC when there is none: a
committee's "today" is its own, as its digests are.

The absolute rule (SAUTI_SPIKE_ABSOLUTE, by default any `sexual_violence` report and any
critical `violence` report) makes one report a signal by itself, keyed by its case.

Each signal is raised once: its `key` is unique, and a run that loses the race to insert
it (two workers, or a rerun) inserts nothing. Lifecycle: OPEN > ACKNOWLEDGED > CLOSED, each
change by an actor ("user:<name>", "member:<id>") with its time; the closing note is free
text and stored encrypted, like a case note.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import CursorResult, Select, func, or_, select, update
from sqlalchemy import case as sql_case
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased, selectinload

from storage.assignments import covering_committees, is_national_for
from storage.casequery import signal_scope_clause
from storage.cases import InvalidAction
from storage.db import expire_loaded
from storage.models import (
    Case,
    Category,
    Committee,
    CommitteeLevel,
    Level,
    Location,
    Signal,
    SignalCase,
    SignalRule,
    SignalStatus,
)
from storage.privacy import Crypto
from storage.settings import Settings, spike_absolute_rules
from storage.users import Scope

__all__ = [
    "SignalFilter",
    "SpikeRule",
    "Verdict",
    "acknowledge_signal",
    "baseline_days",
    "check_case",
    "check_since",
    "check_threshold",
    "close_signal",
    "closing_note",
    "closing_notes_due",
    "committee_for",
    "count_signals",
    "daily_counts",
    "erase_closing_notes",
    "get_signal",
    "is_absolute",
    "list_signals",
    "local_day",
    "open_signals",
    "raise_absolute",
    "rule_in_words",
    "territory_of",
    "usual_range",
    "verdict",
]

DAY = timedelta(days=1)
MAX_NOTE = 2000
# Open first, then acknowledged, closed last.
_STATUS_ORDER = {SignalStatus.OPEN: 0, SignalStatus.ACKNOWLEDGED: 1, SignalStatus.CLOSED: 2}


@dataclass(frozen=True, slots=True)
class SpikeRule:
    """The figures of the threshold and absolute rules (SAUTI_SPIKE_* settings)."""

    baseline_days: int = 7
    gap_days: int = 2
    sd_factor: float = 3.0
    min_count: int = 3
    absolute: frozenset[tuple[str, str | None]] = frozenset(
        {("sexual_violence", None), ("violence", "critical")}
    )

    @classmethod
    def from_settings(cls, settings: Settings) -> SpikeRule:
        return cls(
            baseline_days=settings.sauti_spike_baseline_days,
            gap_days=settings.sauti_spike_gap_days,
            sd_factor=settings.sauti_spike_sd,
            min_count=settings.sauti_spike_min_count,
            absolute=spike_absolute_rules(settings.sauti_spike_absolute),
        )


@dataclass(frozen=True, slots=True)
class Verdict:
    """A day's count against its baseline: `raised` when the rule says it is a signal."""

    count: int
    mean: float
    sd: float
    threshold: float
    raised: bool


def baseline_days(day: date, rule: SpikeRule) -> list[date]:
    """The days `day` is compared with, oldest first: `baseline_days` days ending
    `gap_days` days before it (for day t with 7 and 2: t-9 … t-3)."""
    last = day - timedelta(days=rule.gap_days + 1)
    return [last - timedelta(days=back) for back in reversed(range(rule.baseline_days))]


def verdict(*, counts: Mapping[date, int], day: date, rule: SpikeRule) -> Verdict:
    """Apply the threshold rule to `day`'s count; a day missing from `counts` counted 0."""
    history = [counts.get(past, 0) for past in baseline_days(day, rule)]
    mean = statistics.fmean(history)
    sd = statistics.stdev(history)
    threshold = mean + rule.sd_factor * sd
    count = counts.get(day, 0)
    return Verdict(count, mean, sd, threshold, count > threshold and count >= rule.min_count)


def usual_range(mean: float, sd: float) -> tuple[int, int]:
    """The usual daily count as whole reports, mean ± one standard deviation ("0-1")."""
    return max(0, math.floor(mean - sd)), max(0, math.ceil(mean + sd))


def is_absolute(case: Case, rule: SpikeRule) -> bool:
    """Tell whether `case` is a signal by itself under the absolute rule."""
    return (case.category, None) in rule.absolute or (
        case.category,
        case.severity,
    ) in rule.absolute


def territory_of(location: Location | None) -> Location | None:
    """The territory a case filed at `location` counts for: its site's, or its own."""
    if location is None:
        return None
    if location.level == Level.TERRITORY:
        return location
    if location.level == Level.SITE and location.parent is not None:
        return location.parent
    return None


def committee_for(*, session: Session, location: Location, category: str) -> Committee | None:
    """The committee a signal at `location` goes to: the nearest active provincial committee
    covering it that takes `category`, else the country's national committee, else None."""
    chain = covering_committees(session=session, location=location)
    provincial = (c for c in chain if c.level == CommitteeLevel.PROVINCIAL and c.takes(category))
    national = (c for c in chain if is_national_for(c, location))
    return next(provincial, None) or next(national, None)


def _zone(committee: Committee | None) -> tzinfo:
    if committee is None:
        return UTC
    try:
        return ZoneInfo(committee.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def local_day(moment: datetime, committee: Committee | None) -> date:
    """The calendar day of `moment` in the committee's timezone (UTC without one)."""
    return moment.astimezone(_zone(committee)).date()


def _day_start(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, time(), zone).astimezone(UTC)


def _counted_cases(
    session: Session, territory_id: int, category: str, start: datetime, end: datetime
) -> list[tuple[int, datetime]]:
    """(id, received at) of the non-test cases of `category` filed at the territory or one
    of its sites between `start` and `end`, oldest first."""
    query = (
        select(Case.id, Case.created_at)
        .join(Location, Case.location_id == Location.id)
        .where(
            or_(Location.id == territory_id, Location.parent_id == territory_id),
            Case.category == category,
            Case.is_test.is_(False),
            Case.created_at >= start,
            Case.created_at < end,
        )
        .order_by(Case.created_at, Case.id)
    )
    return [(case_id, created_at) for case_id, created_at in session.execute(query)]


def daily_counts(
    *,
    session: Session,
    territory_id: int,
    category: str,
    days: Iterable[date],
    committee: Committee | None,
) -> dict[date, int]:
    """Count the territory's reports of `category` on each of `days` (committee's days)."""
    wanted = sorted(set(days))
    if not wanted:
        return {}
    zone = _zone(committee)
    start, end = _day_start(wanted[0], zone), _day_start(wanted[-1] + DAY, zone)
    rows = _counted_cases(session, territory_id, category, start, end)
    found = Counter(local_day(created_at, committee) for _, created_at in rows)
    return {day: found.get(day, 0) for day in wanted}


def _insert(session: Session, signal: Signal, case_ids: Iterable[int]) -> Signal | None:
    """Insert `signal` with its cases; None when its key is there already."""
    if session.scalar(select(Signal.id).where(Signal.key == signal.key)) is not None:
        return None
    try:
        with session.begin_nested():
            session.add(signal)
            session.flush()
            session.add_all(SignalCase(signal_id=signal.id, case_id=cid) for cid in case_ids)
            session.flush()
    except IntegrityError:
        return None
    return signal


def _gather(session: Session, signal: Signal, territory_id: int, start: datetime) -> None:
    """Add the day's later reports to a threshold signal raised already; its count follows."""
    rows = _counted_cases(session, territory_id, signal.category, start, start + DAY)
    known = set(
        session.scalars(select(SignalCase.case_id).where(SignalCase.signal_id == signal.id))
    )
    missing = [case_id for case_id, _ in rows if case_id not in known]
    if not missing:
        return
    try:
        with session.begin_nested():
            session.add_all(SignalCase(signal_id=signal.id, case_id=cid) for cid in missing)
            session.flush()
    except IntegrityError:
        return  # another run gathered them at the same time
    signal.count = len(known) + len(missing)
    session.flush()


def check_threshold(
    *,
    session: Session,
    territory: Location,
    category: str,
    day: date,
    rule: SpikeRule,
    now: datetime,
) -> Signal | None:
    """Raise the territory's threshold signal for `category` on `day` when the rule says so
    and none was raised yet; return it, or None.

    When it was raised already, the day's reports received since join it (and its count
    follows them) and None is returned: the committee was told once.
    """
    key = f"threshold:{territory.id}:{category}:{day.isoformat()}"
    committee = committee_for(session=session, location=territory, category=category)
    start = _day_start(day, _zone(committee))
    existing = session.scalar(select(Signal).where(Signal.key == key))
    if existing is not None:
        _gather(session, existing, territory.id, start)
        return None
    days = [*baseline_days(day, rule), day]
    counts = daily_counts(
        session=session,
        territory_id=territory.id,
        category=category,
        days=days,
        committee=committee,
    )
    found = verdict(counts=counts, day=day, rule=rule)
    if not found.raised:
        return None
    case_ids = [
        cid for cid, _ in _counted_cases(session, territory.id, category, start, start + DAY)
    ]
    signal = Signal(
        key=key,
        rule=SignalRule.THRESHOLD,
        category=category,
        territory_id=territory.id,
        committee_id=None if committee is None else committee.id,
        day=day,
        count=found.count,
        baseline_mean=found.mean,
        baseline_sd=found.sd,
        threshold=found.threshold,
        status=SignalStatus.OPEN,
        raised_at=now,
    )
    return _insert(session, signal, case_ids)


def raise_absolute(*, session: Session, case: Case, now: datetime) -> Signal | None:
    """Raise the signal a report is by itself (the caller checked `is_absolute`); None when
    it was raised already."""
    territory = territory_of(case.location)
    committee = None
    if case.location is not None:
        committee = committee_for(session=session, location=case.location, category=case.category)
    signal = Signal(
        key=f"absolute:{case.id}",
        rule=SignalRule.ABSOLUTE,
        category=case.category,
        territory_id=None if territory is None else territory.id,
        committee_id=None if committee is None else committee.id,
        day=local_day(case.created_at, committee),
        count=1,
        status=SignalStatus.OPEN,
        raised_at=now,
    )
    return _insert(session, signal, [case.id])


def check_case(*, session: Session, case_id: int, rule: SpikeRule, now: datetime) -> list[Signal]:
    """Check one report for the absolute rule and for its territory's threshold rule on the
    day it was received; return the signals raised by this call (none when a test case)."""
    case = session.get(Case, case_id)
    if case is None or case.is_test:
        return []
    raised = []
    if is_absolute(case, rule):
        raised.append(raise_absolute(session=session, case=case, now=now))
    territory = territory_of(case.location)
    if territory is not None:
        committee = committee_for(session=session, location=territory, category=case.category)
        day = local_day(case.created_at, committee)
        raised.append(
            check_threshold(
                session=session,
                territory=territory,
                category=case.category,
                day=day,
                rule=rule,
                now=now,
            )
        )
    return [signal for signal in raised if signal is not None]


def check_since(
    *, session: Session, since: datetime, rule: SpikeRule, now: datetime
) -> list[Signal]:
    """Check again every report received since `since` (the sweep): each absolute report,
    and each territory, category and day they fall on once; return the signals raised."""
    query = (
        select(Case)
        .where(Case.created_at >= since, Case.is_test.is_(False))
        .options(selectinload(Case.location))
        .order_by(Case.created_at, Case.id)
    )
    raised: list[Signal | None] = []
    seen: set[tuple[int, str, date]] = set()
    for case in list(session.scalars(query)):
        if is_absolute(case, rule):
            raised.append(raise_absolute(session=session, case=case, now=now))
        territory = territory_of(case.location)
        if territory is None:
            continue
        committee = committee_for(session=session, location=territory, category=case.category)
        group = (territory.id, case.category, local_day(case.created_at, committee))
        if group in seen:
            continue
        seen.add(group)
        raised.append(
            check_threshold(
                session=session,
                territory=territory,
                category=case.category,
                day=group[2],
                rule=rule,
                now=now,
            )
        )
    return [signal for signal in raised if signal is not None]


def get_signal(*, session: Session, signal_id: int, scope: Scope | None = None) -> Signal | None:
    """Return a signal with its territory, committee and cases loaded (None also when it is
    outside `scope`)."""
    in_scope = signal_scope_clause(scope)
    query = (
        select(Signal)
        .where(Signal.id == signal_id, *([] if in_scope is None else [in_scope]))
        .options(
            selectinload(Signal.territory),
            selectinload(Signal.committee),
            selectinload(Signal.cases).selectinload(SignalCase.case),
        )
    )
    return session.scalar(query)


@dataclass(frozen=True, slots=True)
class SignalFilter:
    """What a signal list keeps (None: any). `province` is a province's code: the signals
    of the territories under it (a signal with no territory is in no province)."""

    status: str | None = None
    category: str | None = None
    province: str | None = None
    scope: Scope | None = None  # the viewer's (storage.casequery.signal_scope_clause)


def _filtered(query: Select[Any], where: SignalFilter) -> Select[Any]:
    scope = signal_scope_clause(where.scope)
    if scope is not None:
        query = query.where(scope)
    if where.status is not None:
        query = query.where(Signal.status == where.status)
    if where.category is not None:
        query = query.where(Signal.category == where.category)
    if where.province is not None:
        province = aliased(Location)
        query = (
            query.join(Location, Signal.territory_id == Location.id)
            .join(province, Location.parent_id == province.id)
            .where(province.code == where.province)
        )
    return query


def list_signals(
    *,
    session: Session,
    where: SignalFilter = SignalFilter(),
    limit: int = 50,
    offset: int = 0,
) -> list[Signal]:
    """Return signals, open first, then acknowledged, then closed, newest first in each."""
    query = _filtered(select(Signal), where).options(
        selectinload(Signal.territory), selectinload(Signal.committee)
    )
    order = sql_case(_STATUS_ORDER, value=Signal.status, else_=3)
    query = query.order_by(order, Signal.raised_at.desc(), Signal.id.desc())
    return list(session.scalars(query.limit(limit).offset(offset)))


def count_signals(*, session: Session, where: SignalFilter = SignalFilter()) -> int:
    """Count the signals `list_signals` would list, all pages."""
    query = _filtered(select(func.count(Signal.id)), where)
    return int(session.scalar(query) or 0)


# A category as a sentence says it, where its code read as words would not do.
_CATEGORY_WORDS: dict[str, str] = {Category.OHS_HAZARD: "site hazard (OHS)"}


def rule_in_words(signal: Signal) -> str:
    """The rule that raised a signal, for people: "7 reports in a day, above the usual 0-1
    (threshold 2.4)", or "a sexual violence report: a signal by itself"."""
    category = _CATEGORY_WORDS.get(signal.category, signal.category.replace("_", " "))
    if signal.rule == SignalRule.ABSOLUTE or signal.threshold is None:
        return f"a {category} report: a signal by itself"
    low, high = usual_range(signal.baseline_mean or 0.0, signal.baseline_sd or 0.0)
    usual = str(low) if low == high else f"{low}\u2013{high}"
    reports = "report" if signal.count == 1 else "reports"
    return (
        f"{signal.count} {category} {reports} in a day, above the usual {usual} "
        f"(threshold {signal.threshold:.1f})"
    )


def open_signals(*, session: Session, limit: int = 20, scope: Scope | None = None) -> list[Signal]:
    """Return the signals nobody has closed yet (open, then acknowledged), newest first in
    each, with their territory and committee loaded: what a dashboard shows (of `scope`)."""
    in_scope = signal_scope_clause(scope)
    query = (
        select(Signal)
        .where(Signal.status != SignalStatus.CLOSED, *([] if in_scope is None else [in_scope]))
        .options(selectinload(Signal.territory), selectinload(Signal.committee))
        .order_by(
            sql_case(_STATUS_ORDER, value=Signal.status, else_=3),
            Signal.raised_at.desc(),
            Signal.id.desc(),
        )
        .limit(limit)
    )
    return list(session.scalars(query))


def acknowledge_signal(*, session: Session, signal: Signal, actor: str, now: datetime) -> bool:
    """Acknowledge an open signal; False when it was acknowledged or closed already."""
    if signal.status != SignalStatus.OPEN:
        return False
    signal.status = SignalStatus.ACKNOWLEDGED
    signal.acknowledged_by, signal.acknowledged_at = actor, now
    session.flush()
    return True


def close_signal(
    *, session: Session, crypto: Crypto, signal: Signal, actor: str, note: str, now: datetime
) -> bool:
    """Close a signal with a note (what was done; stored encrypted); False if closed already.

    Closing an open signal acknowledges it too, by the same actor. An empty or overlong
    note is refused with `InvalidAction`.
    """
    note = note.strip()
    if not note:
        raise InvalidAction("note", "empty")
    if len(note) > MAX_NOTE:
        raise InvalidAction("note", f"longer than {MAX_NOTE} characters")
    if signal.status == SignalStatus.CLOSED:
        return False
    if signal.acknowledged_at is None:
        signal.acknowledged_by, signal.acknowledged_at = actor, now
    signal.status, signal.closed_by, signal.closed_at = SignalStatus.CLOSED, actor, now
    signal.note_enc = crypto.encrypt(note)
    session.flush()
    return True


def _notes_due(before: datetime) -> tuple[Any, ...]:
    return (Signal.closed_at < before, Signal.note_enc.is_not(None))


def closing_notes_due(*, session: Session, before: datetime) -> int:
    """Count the closing notes of signals closed before `before` (retention's dry run)."""
    return int(session.scalar(select(func.count(Signal.id)).where(*_notes_due(before))) or 0)


def erase_closing_notes(*, session: Session, before: datetime) -> int:
    """Erase the closing notes of signals closed before `before`, as retention erases a
    closed case's notes; return how many. The signal and who closed it stay."""
    statement = (
        update(Signal)
        .where(*_notes_due(before))
        .values(note_enc=None)
        .execution_options(synchronize_session=False)
    )
    count = cast(CursorResult[Any], session.execute(statement)).rowcount
    expire_loaded(session, Signal)
    return count


def closing_note(*, crypto: Crypto, signal: Signal) -> str | None:
    """Return the signal's closing note in clear (for roles that read free text)."""
    return None if signal.note_enc is None else crypto.decrypt(signal.note_enc)


def signals_of_cases(*, session: Session, case_ids: Sequence[int]) -> dict[int, list[int]]:
    """The ids of the signals each case is behind (oldest first), for the cases export."""
    found: dict[int, list[int]] = {}
    for start in range(0, len(case_ids), 500):
        chunk = case_ids[start : start + 500]
        rows = session.execute(
            select(SignalCase.case_id, SignalCase.signal_id)
            .where(SignalCase.case_id.in_(chunk))
            .order_by(SignalCase.signal_id)
        )
        for case_id, signal_id in rows:
            found.setdefault(case_id, []).append(signal_id)
    return found
