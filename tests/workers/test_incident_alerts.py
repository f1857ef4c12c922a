"""Reports of one incident: one full alert for the first, then one short "another report
(N) on incident X" SMS per member for each later one; a critical one is alerted in full
again; the digest lists an incident's cases as one line and its counts add up."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from flows import gsm
from storage.casenumber import display
from storage.models import Case
from tests.workers.conftest import NOW, committee_yaml, outbox_rows
from workers.context import WorkerContext
from workers.digests import send_digests
from workers.routing import route_report

EN, FR = "+243810000011", "+243810000012"
BISIE = "cd-nk-walikale-bisie"
COMMITTEE = committee_yaml("walikale-local", "local", "cd-nk-walikale", [(EN, "en"), (FR, "fr")])


@pytest.fixture
def report(
    add_committees: Callable[[str], None], make_case: Callable[..., Case]
) -> Callable[..., Case]:
    """File and route a report of illegal tax at Bisie, `minutes` after NOW."""
    add_committees(COMMITTEE)

    def report(minutes: int = 0, **answers: str) -> Case:
        at = NOW + timedelta(minutes=minutes)
        case = make_case(at=at, place=answers.pop("place", BISIE), **answers)
        route_report(case.id, now=at)
        return case

    return report


def test_one_full_alert_then_short_ones_with_the_count(
    ctx: WorkerContext, report: Callable[..., Case]
) -> None:
    first, second, third = report(0), report(10), report(20)
    alerts = outbox_rows(ctx, kind="alert")
    assert [(a.to, a.row.case_id) for a in alerts] == [(EN, first.id), (FR, first.id)]
    short = outbox_rows(ctx, kind="incident_report")
    incident = display(first.number)
    assert [(s.to, s.row.case_id) for s in short] == [
        (EN, second.id),
        (FR, second.id),
        (EN, third.id),
        (FR, third.id),
    ]
    assert short[0].body == (
        f"Another report (2) on incident {incident}: Illegal tax at Bisie, Walikale. "
        f"Case {display(second.number)}."
    )
    assert short[2].body.startswith(f"Another report (3) on incident {incident}:")
    # The French member's, in French once the catalog has it, names the same numbers.
    assert incident in short[1].body
    assert short[1].body.endswith(f"{display(second.number)}.")
    assert all(gsm.segments(s.body) == 1 for s in short)
    assert {s.dedupe_key.split(":")[0] for s in short} == {"incident"}


def test_routing_again_queues_nothing(ctx: WorkerContext, report: Callable[..., Case]) -> None:
    report(0)
    second = report(10)
    assert route_report(second.id, now=NOW + timedelta(minutes=11)) is False
    assert len(outbox_rows(ctx, kind="incident_report")) == 2
    assert len(outbox_rows(ctx, kind="alert")) == 2


def test_a_critical_report_is_alerted_in_full(
    ctx: WorkerContext, report: Callable[..., Case]
) -> None:
    """Someone in danger now is never muted by the reports before."""
    report(0)
    danger = report(10, danger_now="yes")
    assert danger.severity == "critical"
    assert [a.row.case_id for a in outbox_rows(ctx, kind="alert") if a.to == EN][-1] == danger.id
    assert outbox_rows(ctx, kind="incident_report") == []


def test_another_category_or_site_is_alerted_in_full(
    ctx: WorkerContext, report: Callable[..., Case]
) -> None:
    report(0)
    report(10, category="child_labour")
    report(20, place="cd-nk-walikale-mpama")
    assert len(outbox_rows(ctx, kind="alert")) == 6
    assert outbox_rows(ctx, kind="incident_report") == []


def test_digest_counts_an_incident_once(ctx: WorkerContext, report: Callable[..., Case]) -> None:
    first = report(0)
    report(10)
    report(20)
    alone = report(30, category="child_labour")
    # 18:00 in Lubumbashi is 16:00 UTC, the day after NOW; every case is older than a day.
    assert send_digests(now=datetime(2026, 11, 26, 16, 0, tzinfo=UTC)) == 1
    english = next(row.body for row in outbox_rows(ctx, kind="digest") if row.to == EN)
    lines = english.splitlines()
    assert lines == [
        "Sauti 26/11, walikale-local committee: 2 new, 0 open, 0 overdue.",
        "NEW:",
        f"Incident {display(first.number)}: 3 reports, Illegal tax, Bisie",
        f"{display(alone.number)} MEDIUM Child labour, Bisie",
    ]
