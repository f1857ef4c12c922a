"""Actions followed by the sweep, in the committee's own calendar (Africa/Lubumbashi,
UTC+2): the committee is reminded once the day before an action is due, from 08:00 local
time; an action still planned when its due day has ended locally is marked missed and its
case climbs to the committee above, whose focal points are told which action was missed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from flows.gsm import GSM7, spell
from flows.i18n import Catalogs
from storage import actions, cases
from storage.models import Case, CaseAction, CaseEvent, Committee, CommitteeMember
from tests.workers.conftest import NOW, committee_yaml, outbox_rows
from workers.context import WorkerContext
from workers.digests import send_digests
from workers.routing import route_report
from workers.sweep import sweep

LOCAL, OTHER, PROVINCIAL = "+243810000011", "+243810000012", "+243810000013"
COMMITTEES = committee_yaml(
    "walikale-local", "local", "cd-nk-walikale", [(LOCAL, "fr"), (OTHER, "sw")]
) + committee_yaml("nk-provincial", "provincial", "cd-nk", [(PROVINCIAL, "en")])
# NOW is 26/11 12:00 UTC, 14:00 in Walikale: an action due in 7 days is due on 3/12.
EVE_0759 = datetime(2026, 12, 2, 5, 59, tzinfo=UTC)
EVE_0800 = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)
DUE_DAY_2359 = datetime(2026, 12, 3, 21, 59, tzinfo=UTC)
DAY_AFTER_0000 = datetime(2026, 12, 3, 22, 0, tzinfo=UTC)  # still 3/12 in UTC


@pytest.fixture
def action(
    ctx: WorkerContext, add_committees: Callable[[str], None], make_case: Callable[..., Case]
) -> CaseAction:
    """Action 1 of an acknowledged case of Walikale, due in 7 days, owned by LOCAL."""
    add_committees(COMMITTEES)
    case = make_case()
    route_report(case.id, now=NOW)
    with ctx.sessions.begin() as session:
        case = session.get(Case, case.id)
        assert case is not None
        committee = session.scalar(select(Committee).where(Committee.code == "walikale-local"))
        assert committee is not None
        member = session.scalar(select(CommitteeMember).where(CommitteeMember.phone == LOCAL))
        assert member is not None
        cases.acknowledge(
            session=session, case=case, actor="system", committee_id=committee.id, now=NOW
        )
        made = actions.add_action(
            session=session,
            crypto=ctx.crypto,
            case=case,
            committee=committee,
            owner=cases.member_actor(member),
            actor=cases.member_actor(member),
            what="Visite du barrage avec la police des mines",
            days=7,
            now=NOW,
        )
        session.expunge_all()
        return made


def status(ctx: WorkerContext, action: CaseAction) -> str:
    with ctx.sessions() as session:
        found = session.get(CaseAction, action.id)
        assert found is not None
        return found.status


def test_the_committee_is_reminded_once_the_local_day_before(
    ctx: WorkerContext, action: CaseAction
) -> None:
    assert action.due_on.isoformat() == "2026-12-03"
    assert sweep(now=EVE_0759)["actions_reminded"] == 0
    assert sweep(now=EVE_0800)["actions_reminded"] == 1
    assert sweep(now=EVE_0800)["actions_reminded"] == 0
    reminders = outbox_rows(ctx, kind="alert")
    reminders = [row for row in reminders if row.dedupe_key.startswith("reminder:")]
    assert sorted(row.to or "" for row in reminders) == [LOCAL, OTHER]
    [french] = [row for row in reminders if row.to == LOCAL]
    assert "action 1" in french.body
    assert "03/12" in french.body
    assert "Visite du barrage" in french.body
    assert status(ctx, action) == "planned"


def test_an_action_recorded_the_day_before_gets_no_reminder(
    ctx: WorkerContext, add_committees: Callable[[str], None], make_case: Callable[..., Case]
) -> None:
    add_committees(COMMITTEES)
    case = make_case()
    route_report(case.id, now=NOW)
    with ctx.sessions.begin() as session:
        found = session.get(Case, case.id)
        committee = session.scalar(select(Committee).where(Committee.code == "walikale-local"))
        assert found is not None
        assert committee is not None
        actions.add_action(
            session=session,
            crypto=ctx.crypto,
            case=found,
            committee=committee,
            owner="user:ana",
            actor="user:ana",
            what="Call the site chief",
            days=1,
            now=NOW,
        )
    assert sweep(now=NOW.replace(hour=20))["actions_reminded"] == 0


def test_a_done_action_is_neither_reminded_nor_missed(
    ctx: WorkerContext, action: CaseAction
) -> None:
    with ctx.sessions.begin() as session:
        found = session.get(CaseAction, action.id)
        assert found is not None
        assert actions.mark_done(session=session, action=found, actor="user:ana", now=NOW)
    assert sweep(now=EVE_0800)["actions_reminded"] == 0
    assert sweep(now=DAY_AFTER_0000)["actions_missed"] == 0
    assert status(ctx, action) == "done"


def test_a_missed_action_passes_the_case_up_at_the_end_of_its_local_day(
    ctx: WorkerContext, action: CaseAction
) -> None:
    assert sweep(now=DUE_DAY_2359)["actions_missed"] == 0
    assert sweep(now=DAY_AFTER_0000)["actions_missed"] == 1
    assert sweep(now=DAY_AFTER_0000)["actions_missed"] == 0
    assert status(ctx, action) == "missed"
    with ctx.sessions() as session:
        query = select(CaseEvent).where(CaseEvent.case_id == action.case_id)
        kinds = {event.kind: event.data for event in session.scalars(query)}
    assert kinds["action_missed"] == {"action": 1, "committee": "walikale-local"}
    assert kinds["escalated"] == {
        "reason": "action_missed",
        "from": "walikale-local",
        "to": "nk-provincial",
    }
    [alert] = outbox_rows(ctx, kind="escalation")
    assert alert.to == PROVINCIAL
    assert "action 1 of walikale-local committee, due 03/12, was not done" in alert.body
    # Done late, it can still be verified.
    with ctx.sessions.begin() as session:
        found = session.get(CaseAction, action.id)
        assert found is not None
        assert actions.mark_done(session=session, action=found, actor="member:1", now=NOW)
    assert status(ctx, action) == "done"


def heading(msgid: str) -> str:
    """A digest heading as the Walikale member reads it: in French, spelled in GSM-7."""
    return spell(Catalogs.load(("fr",)).translator("fr").gettext(msgid), GSM7)


def test_the_digest_lists_actions_due_by_tomorrow_then_missed_ones(
    ctx: WorkerContext, action: CaseAction
) -> None:
    number = f"{action.case.number[:3]}-{action.case.number[3:6]}-{action.case.number[6:]}"
    assert send_digests(now=datetime(2026, 11, 30, 16, 0, tzinfo=UTC)) == 2  # 3 days before
    [early] = [row for row in outbox_rows(ctx, kind="digest") if row.to == LOCAL]
    assert f"{number} #1" not in early.body
    send_digests(now=datetime(2026, 12, 2, 16, 0, tzinfo=UTC))  # 18:00 the day before
    due = [row for row in outbox_rows(ctx, kind="digest") if row.to == LOCAL][-1]
    assert f"{heading('ACTIONS DUE:')}\n{number} #1 03/12" in due.body
    sweep(now=DAY_AFTER_0000)
    send_digests(now=datetime(2026, 12, 4, 16, 0, tzinfo=UTC))
    missed = [row for row in outbox_rows(ctx, kind="digest") if row.to == LOCAL][-1]
    assert f"{heading('ACTIONS MISSED:')}\n{number} #1 03/12" in missed.body
