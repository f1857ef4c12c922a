"""Escalation with deadlines of seconds: a case nobody acknowledges climbs local >
provincial > national, each committee alerted when it gets the case, and so does an
appeal the committee above never acknowledges; the sweep is given the time instead of
waiting for it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select

from storage import cases
from storage.appeals import answer_closing
from storage.models import Case, CaseAssignment, CaseEvent, Committee
from tests.workers.conftest import NOW, committee_yaml, outbox_rows
from workers.context import WorkerContext
from workers.routing import route_report
from workers.sweep import sweep

LOCAL, PROVINCIAL, NATIONAL = "+243810000011", "+243810000013", "+243810000014"
COMMITTEES = (
    committee_yaml(
        "walikale-local",
        "local",
        "cd-nk-walikale",
        [(LOCAL, "fr")],
        deadlines="critical: 10s, high: 20s, medium: 30s, low: 40s",
    )
    + committee_yaml(
        "nk-provincial", "provincial", "cd-nk", [(PROVINCIAL, "fr")], deadlines="medium: 60s"
    )
    + committee_yaml("cd-national", "national", "cd", [(NATIONAL, "en")], deadlines="medium: 90s")
)


@pytest.fixture
def case(
    ctx: WorkerContext, add_committees: Callable[[str], None], make_case: Callable[..., Case]
) -> Case:
    add_committees(COMMITTEES)
    made = make_case()  # illegal tax: medium, no copy-up
    route_report(made.id, now=NOW)
    return made


def after(seconds: int) -> dict[str, int]:
    return sweep(now=NOW + timedelta(seconds=seconds))


def holders(ctx: WorkerContext, case: Case) -> list[tuple[str, bool]]:
    """(committee code, escalated away) of each assignment, oldest first."""
    with ctx.sessions() as session:
        rows = session.execute(
            select(Committee.code, CaseAssignment.escalated_at)
            .join(CaseAssignment, CaseAssignment.committee_id == Committee.id)
            .where(CaseAssignment.case_id == case.id)
            .order_by(CaseAssignment.id)
        )
        return [(code, escalated is not None) for code, escalated in rows]


def escalations(ctx: WorkerContext, case: Case) -> list[dict[str, object]]:
    with ctx.sessions() as session:
        query = select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.kind == "escalated")
        return [event.data for event in session.scalars(query.order_by(CaseEvent.id))]


def test_an_unacknowledged_case_climbs_to_the_national_committee(
    ctx: WorkerContext, case: Case
) -> None:
    assert after(29)["escalated"] == 0
    assert after(30)["escalated"] == 1
    assert holders(ctx, case) == [("walikale-local", True), ("nk-provincial", False)]
    [alert] = outbox_rows(ctx, kind="escalation")
    assert alert.to == PROVINCIAL
    assert alert.body.startswith(f"Sauti dossier {case.number[:3]}-")
    assert "transmis à vous, non vu plus bas" in alert.body

    assert after(30 + 59)["escalated"] == 0  # the provincial committee's own minute
    assert after(30 + 60)["escalated"] == 1
    assert holders(ctx, case)[-1] == ("cd-national", False)
    assert [a.to for a in outbox_rows(ctx, kind="escalation")] == [PROVINCIAL, NATIONAL]
    assert escalations(ctx, case) == [
        {"reason": "overdue", "from": "walikale-local", "to": "nk-provincial"},
        {"reason": "overdue", "from": "nk-provincial", "to": "cd-national"},
    ]


def test_at_the_top_the_miss_is_noted_once(ctx: WorkerContext, case: Case) -> None:
    after(30)
    after(90)
    assert after(90 + 90)["escalated"] == 1
    assert after(90 + 91)["escalated"] == 0
    assert escalations(ctx, case)[-1] == {"reason": "overdue", "from": "cd-national", "to": None}
    assert len(outbox_rows(ctx, kind="escalation")) == 2


def test_a_sweep_run_twice_escalates_once(ctx: WorkerContext, case: Case) -> None:
    assert after(31)["escalated"] == 1
    assert after(31)["escalated"] == 0
    assert len(escalations(ctx, case)) == 1
    assert len(outbox_rows(ctx, kind="escalation")) == 1


def test_an_acknowledged_case_stays(ctx: WorkerContext, case: Case) -> None:
    with ctx.sessions.begin() as session:
        stored = session.get(Case, case.id)
        assert stored is not None
        cases.acknowledge(
            session=session,
            case=stored,
            actor="member:1",
            committee_id=None,
            now=NOW + timedelta(seconds=5),
        )
    assert after(3600)["escalated"] == 0
    assert escalations(ctx, case) == []


def _appeal(ctx: WorkerContext, case: Case, seconds: int) -> None:
    """Walikale's committee acknowledges and closes the case; its reporter answers "not
    solved" `seconds` after NOW, which takes it to the provincial committee."""
    with ctx.sessions.begin() as session:
        stored = session.get(Case, case.id)
        assert stored is not None
        local = session.scalar(select(Committee).where(Committee.code == "walikale-local"))
        assert local is not None
        at = NOW + timedelta(seconds=5)
        cases.acknowledge(session=session, case=stored, actor="x", committee_id=local.id, now=at)
        cases.close_case(
            session=session,
            crypto=ctx.crypto,
            case=stored,
            actor="x",
            outcome="resolved",
            note=None,
            now=at,
        )
        answered = answer_closing(
            session=session,
            case=stored,
            pseudonym=stored.pseudonym,
            answer="not_solved",
            channel="sms",
            now=NOW + timedelta(seconds=seconds),
        )
        assert answered is not None


def test_an_appeal_nobody_acknowledges_is_passed_up_too(ctx: WorkerContext, case: Case) -> None:
    _appeal(ctx, case, 1000)
    assert holders(ctx, case) == [("walikale-local", True), ("nk-provincial", False)]
    assert after(1000 + 59)["escalated"] == 0  # the provincial minute runs from the appeal
    assert after(1000 + 60)["escalated"] == 1
    assert holders(ctx, case)[-1] == ("cd-national", False)
    [alert] = outbox_rows(ctx, kind="escalation")
    assert alert.to == NATIONAL
    assert escalations(ctx, case) == [
        {"reason": "overdue", "from": "nk-provincial", "to": "cd-national"}
    ]


def test_an_appeal_acknowledged_in_time_stays(ctx: WorkerContext, case: Case) -> None:
    _appeal(ctx, case, 1000)
    with ctx.sessions.begin() as session:
        stored = session.get(Case, case.id)
        assert stored is not None
        at = NOW + timedelta(seconds=1010)
        cases.acknowledge(session=session, case=stored, actor="x", committee_id=None, now=at)
    assert after(1000 + 3600)["escalated"] == 0
    assert escalations(ctx, case) == []
