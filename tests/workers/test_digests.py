"""Daily digests: at the committee's local time, once a day, overdue cases first, then new
since the last digest, then the other open ones, within three SMS segments."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from flows import gsm
from storage import cases
from storage.casenumber import display
from storage.inbox import committees_due_for_digest
from storage.models import Case, Category
from storage.settings import Settings
from tests.workers.conftest import committee_yaml, console_lines, outbox_rows
from workers.context import WorkerContext
from workers.digests import send_digests
from workers.routing import route_report

EN, FR = "+243810000011", "+243810000012"
# 18:00 in Lubumbashi is 16:00 UTC.
COMMITTEE = committee_yaml(
    "walikale-local",
    "local",
    "cd-nk-walikale",
    [(EN, "en"), (FR, "fr")],
    deadlines="critical: 2h",
)


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def report(
    add_committees: Callable[[str], None], make_case: Callable[..., Case]
) -> Callable[..., Case]:
    add_committees(COMMITTEE)

    def report(at: datetime, **answers: str) -> Case:
        case = make_case(at=at, **answers)
        route_report(case.id, now=at)
        return case

    return report


def test_digest_at_local_time_overdue_then_new_then_open(
    ctx: WorkerContext,
    report: Callable[..., Case],
    run_jobs: Callable[[], None],
    settings: Settings,
) -> None:
    older = report(utc(25, 10), category="child_labour")
    overdue = report(utc(26, 9), danger_now="yes", category="violence")
    new = report(utc(26, 13), place="cd-nk-walikale-bisie")
    closed = report(utc(26, 14))
    with ctx.sessions.begin() as session:
        stored = session.get(Case, closed.id)
        assert stored is not None
        cases.close_case(
            session=session,
            crypto=ctx.crypto,
            case=stored,
            actor="member:1",
            outcome="resolved",
            note=None,
            now=utc(26, 15),
        )

    assert send_digests(now=utc(26, 15, 59)) == 0
    assert send_digests(now=utc(26, 16, 0)) == 1
    english, french = (row.body for row in outbox_rows(ctx, kind="digest"))
    assert english.splitlines() == [
        "Sauti 26/11, walikale-local committee: 1 new, 1 open, 1 overdue.",
        "OVERDUE:",
        f"{display(overdue.number)} CRITICAL Violence, Mpama",
        "NEW:",
        f"{display(new.number)} MEDIUM Illegal tax, Bisie",
        "OPEN:",
        f"{display(older.number)} MEDIUM Child labour, Mpama",
    ]
    assert french.splitlines()[1:4] == [
        "EN RETARD :",
        f"{display(overdue.number)} CRITIQUE Violence, Mpama",
        "NOUVEAUX :",
    ]
    assert display(closed.number) not in english
    run_jobs()
    sent = console_lines(settings.console_outbox)
    assert sorted(line["to"] for line in sent if line["body"].startswith("Sauti 26/11")) == [EN, FR]


def test_one_digest_a_day_however_often_it_is_checked(
    ctx: WorkerContext, report: Callable[..., Case]
) -> None:
    report(utc(26, 9))
    assert send_digests(now=utc(26, 16, 0)) == 1
    assert send_digests(now=utc(26, 16, 1)) == 0  # the next minute's check
    assert send_digests(now=utc(26, 21, 59)) == 0  # still the 26th in Lubumbashi
    assert len(outbox_rows(ctx, kind="digest")) == 2
    assert send_digests(now=utc(27, 16, 0)) == 1  # the next day
    assert len(outbox_rows(ctx, kind="digest")) == 4


def test_two_schedulers_checking_together_send_one_digest(
    ctx: WorkerContext, report: Callable[..., Case]
) -> None:
    from workers import digests

    report(utc(26, 9))
    at = utc(26, 16, 0)
    with ctx.sessions() as session:
        [committee_id] = committees_due_for_digest(session=session, now=at)
    # Both found the committee due before either recorded its digest.
    assert digests._digest_one(ctx, committee_id, at) is True
    assert digests._digest_one(ctx, committee_id, at) is False
    assert len(outbox_rows(ctx, kind="digest")) == 2


def test_new_means_since_the_last_digest(ctx: WorkerContext, report: Callable[..., Case]) -> None:
    first = report(utc(26, 13))
    send_digests(now=utc(26, 16))
    second = report(utc(27, 9), place="cd-nk-walikale-bisie")
    send_digests(now=utc(27, 16))
    latest = [row.body for row in outbox_rows(ctx, kind="digest", language="en")][-1]
    lines = latest.splitlines()
    assert lines[1:] == [
        "NEW:",
        f"{display(second.number)} MEDIUM Illegal tax, Bisie",
        "OPEN:",
        f"{display(first.number)} MEDIUM Illegal tax, Mpama",
    ]


def test_no_open_case_no_sms(ctx: WorkerContext, add_committees: Callable[[str], None]) -> None:
    add_committees(COMMITTEE)
    assert send_digests(now=utc(26, 16)) == 1
    assert outbox_rows(ctx) == []
    assert send_digests(now=utc(26, 17)) == 0


def test_a_long_digest_fits_three_segments(ctx: WorkerContext, report: Callable[..., Case]) -> None:
    # 24 cases standing alone: each category at each of three sites.
    sites = ("cd-nk-walikale-mpama", "cd-nk-walikale-bisie", "cd-nk-walikale-omate")
    for hour in range(24):
        report(utc(25, hour), place=sites[hour % 3], category=list(Category)[hour // 3])
    send_digests(now=utc(26, 16))
    for row in outbox_rows(ctx, kind="digest"):
        assert gsm.segments(row.body) <= 3
        shown = sum(1 for line in row.body.splitlines() if line[:3].isdigit())
        assert row.body.splitlines()[-1] in (
            f"+{24 - shown} more, reply LIST",
            f"+{24 - shown} autres, répondez LISTE",
        )
