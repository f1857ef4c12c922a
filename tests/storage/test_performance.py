"""The mechanism's performance by quarter: figures on known cases, and their suppression."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from storage import performance
from storage.actions import add_action, mark_done
from storage.appeals import answer_closing
from storage.cases import acknowledge, close_case
from storage.committees import ack_deadline, committee_by_code
from storage.models import Case
from storage.performance import Quarter, Raw
from storage.privacy import Crypto
from storage.routing import route_case
from storage.seed import load_demo_if_empty
from storage.stats import SUPPRESS_BELOW, UnknownFilter

MakeCase = Callable[..., Case]
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
Q3, Q4 = Quarter(2026, 3), Quarter(2026, 4)
AUGUST = datetime(2026, 8, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def filed(session: Session, crypto: Crypto, make_case: MakeCase) -> Callable[..., Case]:
    load_demo_if_empty(session=session, crypto=crypto)
    session.flush()

    def file(category: str, place: str, at: datetime) -> Case:
        case = make_case(category=category, place=place, at=at)
        route_case(session=session, case_id=case.id, now=at)
        return case

    return file


def _ack(session: Session, case: Case, at: datetime) -> None:
    committee = committee_by_code(session=session, code="walikale-local")
    assert committee is not None
    acknowledge(session=session, case=case, actor="user:cora", committee_id=committee.id, now=at)


def _deadline(session: Session, case: Case) -> timedelta:
    committee = committee_by_code(session=session, code="walikale-local")
    assert committee is not None
    return ack_deadline(committee, case.severity)


@pytest.fixture
def quarter(session: Session, crypto: Crypto, filed: Callable[..., Case]) -> list[Case]:
    """North Kivu in 2026Q3: six cases acknowledged after 1 to 6 hours, one acknowledged a
    day late, five of them closed after 10 days; South Kivu: two cases; 2026Q4: one more
    in North Kivu, and a test report that counts nowhere."""
    cases = [
        filed("illegal_tax", "cd-nk-walikale-mpama", AUGUST + timedelta(days=n)) for n in range(7)
    ]
    for hours, case in enumerate(cases[:6], start=1):
        _ack(session, case, case.created_at + timedelta(hours=hours))
    late = cases[6]
    _ack(session, late, late.created_at + _deadline(session, late) + timedelta(days=1))
    for case in cases[:5]:
        close_case(
            session=session,
            crypto=crypto,
            case=case,
            actor="user:cora",
            outcome="resolved",
            note=None,
            now=case.created_at + timedelta(days=10),
        )
    for n in range(2):
        filed("mineral_fraud", "cd-sk-uvira-lemera", AUGUST + timedelta(days=n))
    filed("illegal_tax", "cd-nk-walikale-mpama", datetime(2026, 10, 5, tzinfo=UTC))
    filed("illegal_tax", "cd-nk-walikale-mpama", AUGUST).is_test = True
    session.flush()
    return cases


def test_quarters_are_read_and_counted() -> None:
    assert Quarter.parse("2026Q4") == Quarter.parse("2026-q4") == Q4
    assert (Q4.start, Q4.end) == (
        datetime(2026, 10, 1, tzinfo=UTC),
        datetime(2027, 1, 1, tzinfo=UTC),
    )
    assert Q4.shift(1) == Quarter(2027, 1)
    assert Quarter(2027, 1).shift(-1) == Q4
    assert Quarter.of(datetime(2026, 9, 30, 23, 59, tzinfo=UTC)) == Q3
    assert Q3.months() == ["2026-07", "2026-08", "2026-09"]
    assert [str(q) for q in performance.quarters_between(Q3, Quarter(2027, 1))] == [
        "2026Q3",
        "2026Q4",
        "2027Q1",
    ]
    for bad in ("2026Q5", "2026", "Q4", "1999Q1", "2026Q4 drop"):
        with pytest.raises(performance.BadQuarter):
            Quarter.parse(bad)


def test_province_figures_of_a_quarter(session: Session, quarter: list[Case]) -> None:
    north = performance.province_figures(session=session, quarter=Q3, province="cd-nk", now=NOW)
    assert north.received == 7
    assert (north.ack_on_time, north.ack_due) == (6, 7)
    assert north.median_ack_days == pytest.approx(4 / 24)
    assert north.median_close_days == pytest.approx(10)
    south = performance.province_figures(session=session, quarter=Q3, province="cd-sk", now=NOW)
    assert south.received == 2
    # Their deadline has passed unacknowledged: late, counted as due.
    assert (south.ack_on_time, south.ack_due, south.ack) == (0, 2, [])
    later = performance.province_figures(session=session, quarter=Q4, province="cd-nk", now=NOW)
    assert later.received == 1
    with pytest.raises(UnknownFilter):
        performance.province_figures(session=session, quarter=Q3, province="nowhere", now=NOW)


def test_a_deadline_still_running_is_not_counted_yet(session: Session, quarter: list[Case]) -> None:
    october = datetime(2026, 10, 5, tzinfo=UTC)
    soon = performance.province_figures(session=session, quarter=Q4, province="cd-nk", now=october)
    assert (soon.received, soon.ack_due) == (1, 0)
    assert soon.ack_on_time_share is None


def test_committee_figures_measure_from_its_inbox(session: Session, quarter: list[Case]) -> None:
    rows = performance.committee_by_quarter(
        session=session, committee="walikale-local", first=Q3, last=Q4, now=NOW
    )
    assert list(rows) == [Q3, Q4]
    assert rows[Q3].received == 7
    assert (rows[Q3].ack_on_time, rows[Q3].ack_due) == (6, 7)
    assert rows[Q3].median_close_days == pytest.approx(10)
    assert rows[Q4].received == 1
    one = performance.committee_figures(
        session=session, quarter=Q3, committee="uvira-local", now=NOW
    )
    assert one.received == 2
    with pytest.raises(UnknownFilter):
        performance.committee_figures(session=session, quarter=Q3, committee="nobody", now=NOW)


def test_public_rows_are_suppressed(session: Session, quarter: list[Case]) -> None:
    rows = {
        (row.province, row.quarter): row
        for row in performance.public_rows(session=session, first=Q3, last=Q4, now=NOW)
    }
    north = rows[("cd-nk", "2026Q3")]
    assert north.received == 7
    assert north.ack_on_time_pct is None  # 6 of 7: the one late case would show
    assert north.median_ack_days == pytest.approx(0.2)
    assert north.median_close_days == 10.0
    assert north.suppressed == ("ack_on_time_pct",)
    assert north.province_name == "North Kivu"
    south = rows[("cd-sk", "2026Q3")]
    assert (south.received, south.ack_on_time_pct, south.median_ack_days) == (None, None, None)
    assert south.suppressed == ("received", "ack_on_time_pct")
    assert rows[("cd-nk", "2026Q4")].received is None


def test_a_quarter_total_that_would_give_a_hidden_cell_away_is_hidden(
    session: Session, quarter: list[Case], filed: Callable[..., Case]
) -> None:
    """Seven illegal taxes (shown) and one mineral fraud (hidden, <5) in North Kivu: a
    total of 8 would tell the 1."""
    filed("mineral_fraud", "cd-nk-walikale-mpama", datetime(2026, 9, 3, tzinfo=UTC))
    session.flush()
    rows = performance.public_rows(session=session, first=Q3, last=Q3, now=NOW)
    north = next(row for row in rows if row.province == "cd-nk")
    assert north.received is None
    assert "received" in north.suppressed


def test_actions_done_on_time(session: Session, crypto: Crypto, quarter: list[Case]) -> None:
    """Actions due in 2026Q3: three done in time, one done late, one missed; one due in
    2026Q4 and not due yet is not counted."""
    committee = committee_by_code(session=session, code="walikale-local")
    assert committee is not None
    case = quarter[6]
    made = [
        add_action(
            session=session,
            crypto=crypto,
            case=case,
            committee=committee,
            owner="member:1",
            actor="member:1",
            what="Visit the site",
            days=5,
            now=AUGUST + timedelta(days=n),
        )
        for n in range(5)
    ]
    for action in made[:3]:
        mark_done(session=session, action=action, actor="member:1", now=AUGUST + timedelta(days=2))
    mark_done(session=session, action=made[3], actor="member:1", now=AUGUST + timedelta(days=20))
    add_action(
        session=session,
        crypto=crypto,
        case=case,
        committee=committee,
        owner="member:1",
        actor="member:1",
        what="Report back",
        days=30,
        now=NOW,
    )
    session.flush()
    north = performance.province_figures(session=session, quarter=Q3, province="cd-nk", now=NOW)
    assert (north.actions_on_time, north.actions_due) == (3, 5)
    assert north.actions == {"done": 4, "planned": 1}
    mine = performance.committee_figures(
        session=session, quarter=Q3, committee="walikale-local", now=NOW
    )
    assert (mine.actions_on_time, mine.actions_due) == (3, 5)
    later = performance.committee_figures(
        session=session, quarter=Q4, committee="walikale-local", now=NOW
    )
    assert later.actions_due == 0
    row = next(
        r
        for r in performance.public_rows(session=session, first=Q3, last=Q3, now=NOW)
        if r.province == "cd-nk"
    )
    assert row.actions_on_time_pct is None  # 3 of 5: the 2 others would show
    assert "actions_on_time_pct" in row.suppressed


def test_solved_and_appeals(session: Session, quarter: list[Case]) -> None:
    """Of the five closings of 2026Q3, four answered solved and one not solved (an appeal)."""
    for n, case in enumerate(quarter[:5]):
        assert case.closed_at is not None
        answered = answer_closing(
            session=session,
            case=case,
            pseudonym=case.pseudonym,
            answer="not_solved" if n == 0 else "solved",
            channel="sms",
            now=case.closed_at + timedelta(hours=1),
        )
        assert answered is not None
    session.flush()
    north = performance.province_figures(session=session, quarter=Q3, province="cd-nk", now=NOW)
    assert (north.answered, north.solved, north.appeals) == (5, 4, 1)
    assert north.solved_share == pytest.approx(0.8)
    mine = performance.committee_figures(
        session=session, quarter=Q3, committee="walikale-local", now=NOW
    )
    assert (mine.answered, mine.solved, mine.appeals) == (5, 4, 1)
    row = next(
        r
        for r in performance.public_rows(session=session, first=Q3, last=Q3, now=NOW)
        if r.province == "cd-nk"
    )
    assert (row.solved_pct, row.appeals) == (None, None)  # 4 of 5; one appeal
    assert {"solved_pct", "appeals"} <= set(row.suppressed)


# -- suppression, by property ---------------------------------------------------------------

SMALL = range(1, SUPPRESS_BELOW)


def _feasible(hidden: int, total: int) -> list[set[int]]:
    """What a reader can tell of each of `hidden` parts, each 1 to 4, summing to `total`."""
    seen: list[set[int]] = [set() for _ in range(hidden)]
    for combo in itertools.product(SMALL, repeat=hidden):
        if sum(combo) == total:
            for index, value in enumerate(combo):
                seen[index].add(value)
    return seen


_cells = st.lists(st.integers(0, 9), min_size=1, max_size=5)


@st.composite
def _rows(draw: st.DrawFn) -> tuple[dict[tuple[str, Quarter], Raw], dict[Any, list[int]]]:
    rows: dict[tuple[str, Quarter], Raw] = {}
    parts: dict[tuple[str, Quarter], list[int]] = {}
    for key in itertools.product(("cd-nk", "cd-sk"), (Q3, Q4)):
        cells = draw(_cells)
        received = sum(cells)
        if not received:
            continue
        due = draw(st.integers(0, received))
        on_time = draw(st.integers(0, due))
        acked = draw(st.integers(0, due))
        closed = draw(st.integers(0, received))
        actions_due = draw(st.integers(0, 12))
        answered = draw(st.integers(0, 12))
        solved = draw(st.integers(0, answered))
        rows[key] = Raw(
            answered=answered,
            solved=solved,
            appeals=answered - solved,
            actions_due=actions_due,
            actions_on_time=draw(st.integers(0, actions_due)),
            received=received,
            ack_due=due,
            ack_on_time=on_time,
            ack=[timedelta(hours=n + 1) for n in range(acked)],
            close=[timedelta(days=n + 1) for n in range(closed)],
        )
        parts[key] = cells
    return rows, parts


@settings(max_examples=400, deadline=None)
@given(_rows())
def test_no_published_figure_lets_a_hidden_count_be_worked_out(
    data: tuple[dict[tuple[str, Quarter], Raw], dict[tuple[str, Quarter], list[int]]],
) -> None:
    rows, parts = data
    published = performance.publish(rows, parts, {"cd-nk": "North Kivu"})
    assert len(published) == len(rows)
    for row in published:
        key = (row.province, Quarter.parse(row.quarter))
        raw, cells = rows[key], parts[key]
        # No count from 1 to 4.
        assert row.received is None or row.received not in SMALL
        # The total, less the parts shown beside it, says nothing of a hidden part.
        hidden = [n for n in cells if n in SMALL]
        if row.received is not None and hidden:
            shown = sum(n for n in cells if n not in SMALL)
            for values in _feasible(len(hidden), row.received - shown):
                assert values == set(SMALL)
        if row.received is None and raw.received not in SMALL:
            assert "received" in row.suppressed
        # A share never over fewer than 5, and never standing in for a small count.
        if row.ack_on_time_pct is not None:
            assert raw.ack_due >= SUPPRESS_BELOW
            assert raw.ack_on_time not in SMALL
            assert raw.ack_due - raw.ack_on_time not in SMALL
        if row.actions_on_time_pct is not None:
            assert raw.actions_due >= SUPPRESS_BELOW
            assert raw.actions_on_time not in SMALL
            assert raw.actions_due - raw.actions_on_time not in SMALL
        if row.solved_pct is not None:
            assert raw.answered >= SUPPRESS_BELOW
            assert raw.solved not in SMALL
            assert raw.answered - raw.solved not in SMALL
        assert row.appeals is None or row.appeals not in SMALL
        # A median never over fewer than 5.
        if row.median_ack_days is not None:
            assert len(raw.ack) >= SUPPRESS_BELOW
        if row.median_close_days is not None:
            assert len(raw.close) >= SUPPRESS_BELOW


@given(st.lists(st.integers(1, 4), max_size=5))
def test_a_total_is_safe_exactly_when_no_hidden_part_can_be_narrowed(hidden: list[int]) -> None:
    safe = all(values == set(SMALL) for values in _feasible(len(hidden), sum(hidden)))
    assert performance.total_is_safe(hidden) == safe
