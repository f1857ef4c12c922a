"""Dashboard figures and the public aggregate, counted on real cases in a real database."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from storage import stats
from storage.cases import acknowledge, close_case
from storage.committees import committee_by_code
from storage.models import Case
from storage.privacy import Crypto
from storage.routing import route_case
from storage.seed import load_demo_if_empty

MakeCase = Callable[..., Case]
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)  # a Thursday
RANGE = stats.StatsFilter(
    start=datetime(2026, 11, 1, tzinfo=UTC), end=datetime(2026, 11, 27, tzinfo=UTC)
)


@pytest.fixture
def demo(session: Session, crypto: Crypto) -> None:
    load_demo_if_empty(session=session, crypto=crypto)
    session.flush()


@pytest.fixture
def filed(session: Session, crypto: Crypto, make_case: MakeCase, demo: None) -> Callable[..., Case]:
    """File and route a case at `at`, as intake and the routing job would."""

    def file(category: str, place: str, at: datetime) -> Case:
        case = make_case(category=category, place=place, at=at)
        route_case(session=session, case_id=case.id, now=at)
        return case

    return file


def _ack(session: Session, case: Case, committee: str, at: datetime) -> None:
    found = committee_by_code(session=session, code=committee)
    assert found is not None
    acknowledge(session=session, case=case, actor="user:cora", committee_id=found.id, now=at)


@pytest.fixture
def seeded(session: Session, crypto: Crypto, filed: Callable[..., Case]) -> None:
    """A: closed; B: acknowledged; C and D: overdue (D before the range); E: new; F: a test."""
    a = filed("illegal_tax", "cd-nk-walikale-mpama", NOW - timedelta(days=10))
    _ack(session, a, "walikale-local", a.created_at + timedelta(hours=2))
    close_case(
        session=session,
        crypto=crypto,
        case=a,
        actor="user:cora",
        outcome="resolved",
        note=None,
        now=a.created_at + timedelta(days=2),
    )
    b = filed("illegal_tax", "cd-nk-walikale-bisie", NOW - timedelta(days=3))
    _ack(session, b, "walikale-local", b.created_at + timedelta(hours=4))
    filed("mineral_fraud", "cd-sk-uvira-lemera", NOW - timedelta(days=5))
    filed("child_labour", "cd-nk-walikale-omate", NOW - timedelta(days=60))
    filed("illegal_tax", "cd-nk-walikale-mpama", NOW - timedelta(hours=1))
    filed("illegal_tax", "cd-nk-walikale-mpama", NOW - timedelta(hours=2)).is_test = True
    session.flush()


def _stats(session: Session, **filters: str) -> stats.Stats:
    where = stats.StatsFilter(start=RANGE.start, end=RANGE.end, **filters)
    return stats.dashboard_stats(session=session, where=where, now=NOW)


def test_counts_group_cases_received_in_the_range(session: Session, seeded: None) -> None:
    figures = _stats(session)
    assert figures.received == 4
    assert figures.by_category == [("illegal_tax", 3), ("mineral_fraud", 1)]
    assert figures.by_province == [("cd-nk", 3), ("cd-sk", 1)]


def test_weeks_are_iso_weeks_with_empty_ones_shown(session: Session, seeded: None) -> None:
    weeks = _stats(session).by_week
    assert [day.isoformat() for day, _ in weeks] == [
        "2026-10-26",
        "2026-11-02",
        "2026-11-09",
        "2026-11-16",
        "2026-11-23",
    ]
    assert [count for _, count in weeks] == [0, 0, 0, 2, 2]


def test_open_and_overdue_are_counted_now_whatever_the_date(session: Session, seeded: None) -> None:
    figures = _stats(session)
    assert figures.open == 4
    assert figures.overdue == 2


def test_medians_of_acknowledging_and_closing(session: Session, seeded: None) -> None:
    figures = _stats(session)
    assert figures.median_ack == timedelta(hours=3)
    assert figures.median_close == timedelta(days=2)


def test_per_committee_rows(session: Session, seeded: None) -> None:
    rows = {row.code: row for row in _stats(session).committees}
    # An ITSCI level 1 case (violence) is copied up to the province and the nation at once.
    assert set(rows) == {"walikale-local", "uvira-local", "north-kivu-provincial", "cd-national"}
    walikale, uvira = rows["walikale-local"], rows["uvira-local"]
    # The overdue child-labour case counts where it is overdue: with the highest holder.
    assert (walikale.open, walikale.overdue) == (3, 0)
    assert rows["cd-national"].overdue == 1
    assert walikale.median_ack == timedelta(hours=3)
    assert walikale.median_close == timedelta(days=2)
    assert (uvira.open, uvira.overdue, uvira.median_ack, uvira.median_close) == (1, 1, None, None)


def test_filters_narrow_every_figure(session: Session, seeded: None) -> None:
    taxes = _stats(session, category="illegal_tax")
    assert (taxes.received, taxes.open, taxes.overdue) == (3, 2, 0)
    south = _stats(session, province="cd-sk")
    assert (south.received, south.open, south.overdue) == (1, 1, 1)
    assert south.by_province == [("cd-sk", 1)]
    uvira = _stats(session, committee="uvira-local")
    assert (uvira.received, uvira.open) == (1, 1)
    assert [row.code for row in uvira.committees] == ["uvira-local"]


@pytest.mark.parametrize("field", ["province", "committee"])
def test_unknown_codes_are_refused(session: Session, seeded: None, field: str) -> None:
    with pytest.raises(stats.UnknownFilter):
        _stats(session, **{field: "nowhere"})


def test_count_received_in_a_week(session: Session, seeded: None) -> None:
    monday = datetime(2026, 11, 23, tzinfo=UTC)
    week = stats.StatsFilter(start=monday, end=monday + timedelta(weeks=1))
    assert stats.count_received(session=session, where=week) == 2


def test_an_empty_range_has_zeros_and_no_medians(session: Session, demo: None) -> None:
    figures = _stats(session)
    assert (figures.received, figures.open, figures.overdue) == (0, 0, 0)
    assert figures.median_ack is None
    assert figures.committees == []
    assert all(count == 0 for _, count in figures.by_week)


def test_public_cells_suppress_counts_under_five(
    session: Session, filed: Callable[..., Case]
) -> None:
    for day in range(5):
        filed("illegal_tax", "cd-nk-walikale-mpama", NOW - timedelta(days=day))
    for day in range(3):
        filed("mineral_fraud", "cd-sk-uvira-lemera", NOW - timedelta(days=day))
    filed("illegal_tax", "cd-nk-walikale-mpama", datetime(2026, 10, 3, tzinfo=UTC))
    cells = stats.public_cells(
        session=session, start=datetime(2026, 1, 1, tzinfo=UTC), end=RANGE.end
    )
    shown = {(c.province, c.category, c.month): c.count for c in cells}
    assert shown == {
        ("cd-nk", "illegal_tax", "2026-10"): None,
        ("cd-nk", "illegal_tax", "2026-11"): 5,
        ("cd-sk", "mineral_fraud", "2026-11"): None,
    }
    assert {c.province_name for c in cells} == {"North Kivu", "South Kivu"}


def test_province_of_a_path() -> None:
    assert stats.province_code("/cd/cd-nk/cd-nk-walikale/") == "cd-nk"
    assert stats.province_code("/cd/") == stats.UNKNOWN_PROVINCE
    assert stats.province_code(None) == stats.UNKNOWN_PROVINCE


def test_weekly_counts_by_category_fill_every_cell(session: Session, seeded: None) -> None:
    rows = stats.weekly_by_category(session=session, where=RANGE)
    assert len(rows) == 5 * 8
    counted = {(week.isoformat(), category): n for week, category, n in rows if n}
    assert counted == {
        ("2026-11-16", "illegal_tax"): 1,
        ("2026-11-16", "mineral_fraud"): 1,
        ("2026-11-23", "illegal_tax"): 2,
    }
