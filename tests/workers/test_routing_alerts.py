"""Routing a report alerts every active focal point of each committee it reached, each in
their own language, once, and the alerts go out through the outbox."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from flows import gsm
from storage.models import Case, CaseAssignment, CaseEvent, NumberPrefs
from storage.settings import Settings
from tests.workers.conftest import NOW, committee_yaml, console_lines, outbox_rows
from workers.context import WorkerContext
from workers.routing import route_report
from workers.sweep import sweep

EN_MEMBER, FR_MEMBER, PROVINCIAL = "+243810000011", "+243810000012", "+243810000013"
COMMITTEES = committee_yaml(
    "walikale-local", "local", "cd-nk-walikale", [(EN_MEMBER, "en"), (FR_MEMBER, "fr")]
) + committee_yaml("nk-provincial", "provincial", "cd-nk", [(PROVINCIAL, "fr")])


@pytest.fixture(autouse=True)
def committees(add_committees: Callable[[str], None]) -> None:
    add_committees(COMMITTEES)


def _ids(ctx: WorkerContext, number: str) -> dict[str, int]:
    """Member id by phone, committee id by code."""
    from storage.models import Committee, CommitteeMember

    with ctx.sessions() as session:
        found = {m.phone: m.id for m in session.scalars(select(CommitteeMember))}
        found |= {c.code: c.id for c in session.scalars(select(Committee))}
    return found


def test_alert_rows_for_each_member_in_their_language(
    ctx: WorkerContext, make_case: Callable[..., Case]
) -> None:
    case = make_case()
    assert route_report(case.id, now=NOW) is True
    alerts = outbox_rows(ctx, kind="alert")
    ids = _ids(ctx, case.number)
    assert [(a.to, a.language, a.status) for a in alerts] == [
        (EN_MEMBER, "en", "queued"),
        (FR_MEMBER, "fr", "queued"),
    ]
    local = ids["walikale-local"]
    assert [a.dedupe_key for a in alerts] == [
        f"alert:{case.id}:{ids[EN_MEMBER]}:{local}",
        f"alert:{case.id}:{ids[FR_MEMBER]}:{local}",
    ]
    english, french = alerts[0].body, alerts[1].body
    display = f"{case.number[:3]}-{case.number[3:6]}-{case.number[6:]}"
    assert english.startswith(f"Sauti case {display} (MEDIUM): Illegal tax, Mpama, Walikale.")
    assert '"Soldiers take 2000 francs from every digger at the barrier"' in english
    assert english.endswith(f"Reply ACK {case.number} or HELP.")
    assert french.startswith(f"Sauti dossier {display} (MOYENNE) : Taxe illégale, Mpama, Walikale")
    assert french.endswith(f"Répondez VU {case.number} ou AIDE.")
    assert all(gsm.segments(a.body) <= 2 for a in alerts)


def test_a_high_case_alerts_the_committee_above_too(
    ctx: WorkerContext, make_case: Callable[..., Case]
) -> None:
    case = make_case(category="accident")
    route_report(case.id, now=NOW)
    assert [a.to for a in outbox_rows(ctx, kind="alert")] == [EN_MEMBER, FR_MEMBER, PROVINCIAL]


def test_routing_twice_assigns_and_alerts_once(
    ctx: WorkerContext,
    make_case: Callable[..., Case],
    run_jobs: Callable[[], None],
    settings: Settings,
) -> None:
    case = make_case()
    assert route_report(case.id, now=NOW) is True
    assert route_report(case.id, now=NOW + timedelta(seconds=1)) is False
    run_jobs()
    run_jobs()
    with ctx.sessions() as session:
        assignments = session.scalar(select(func.count()).select_from(CaseAssignment))
        routed = session.scalar(
            select(func.count()).where(CaseEvent.case_id == case.id, CaseEvent.kind == "routed")
        )
    assert (assignments, routed) == (1, 1)
    assert len(outbox_rows(ctx, kind="alert")) == 2
    sent = console_lines(settings.console_outbox)
    assert sorted(line["to"] for line in sent) == [EN_MEMBER, FR_MEMBER]
    assert all(row.status == "delivered" for row in outbox_rows(ctx))


def test_the_job_enqueued_at_intake_routes_and_sends(
    ctx: WorkerContext,
    make_case: Callable[..., Case],
    run_jobs: Callable[[], None],
    settings: Settings,
) -> None:
    from workers import queues

    case = make_case()
    queues.enqueue(queues.ROUTING, route_report, case.id, connection=ctx.redis)
    run_jobs()
    with ctx.sessions() as session:
        stored = session.get(Case, case.id)
        assert stored is not None
        assert stored.status == "routed"
    lines = console_lines(settings.console_outbox)
    assert len(lines) == 2
    assert all(set(line) == {"to", "body", "channel", "at"} for line in lines)
    assert all(case.number in row.body for row in outbox_rows(ctx, kind="alert"))


def test_a_member_who_sent_stop_gets_nothing(
    ctx: WorkerContext,
    make_case: Callable[..., Case],
    run_jobs: Callable[[], None],
    settings: Settings,
) -> None:
    with ctx.sessions.begin() as session:
        session.add(
            NumberPrefs(
                pseudonym=ctx.crypto.pseudonym(FR_MEMBER),
                opted_out_at=NOW,
                created_at=NOW,
                updated_at=NOW,
            )
        )
    case = make_case()
    route_report(case.id, now=NOW)
    run_jobs()
    assert [(a.to, a.status) for a in outbox_rows(ctx, kind="alert")] == [
        (EN_MEMBER, "delivered"),
        (None, "cancelled"),
    ]
    assert [line["to"] for line in console_lines(settings.console_outbox)] == [EN_MEMBER]


def test_inactive_members_are_not_alerted(
    ctx: WorkerContext, make_case: Callable[..., Case], add_committees: Callable[[str], None]
) -> None:
    add_committees(committee_yaml("walikale-local", "local", "cd-nk-walikale", [(FR_MEMBER, "fr")]))
    route_report(make_case().id, now=NOW)
    assert [a.to for a in outbox_rows(ctx, kind="alert")] == [FR_MEMBER]


def test_a_case_in_triage_alerts_nobody(ctx: WorkerContext, make_case: Callable[..., Case]) -> None:
    case = make_case(place="bi-kayanza-kabarore-kivuvu")
    assert route_report(case.id, now=NOW) is True
    assert outbox_rows(ctx) == []


def test_the_sweep_routes_a_report_whose_job_was_lost(
    ctx: WorkerContext,
    make_case: Callable[..., Case],
    run_jobs: Callable[[], None],
    settings: Settings,
) -> None:
    case = make_case()
    assert sweep(now=NOW + timedelta(seconds=5))["unrouted"] == 0  # too young: its job is queued
    assert sweep(now=NOW + timedelta(minutes=1))["unrouted"] == 1
    run_jobs()
    assert len(console_lines(settings.console_outbox)) == 2
    with ctx.sessions() as session:
        stored = session.get(Case, case.id)
        assert stored is not None
        assert stored.routed_at is not None
