"""Actions from the console: the case page lists them (who, what, due, status) with forms
to record one, mark it done and verify it; each change is audited and written as a case
event; whoever owns or did an action cannot verify it; analysts read no action text and
get no forms; a case with an action not done closes as resolved only with a note."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage.models import Case, CaseAction, CaseEvent
from storage.users import audit_entries
from tests.admin.conftest import Browser
from tests.admin.test_cases_actions import act, case_of


def kinds(db: sessionmaker[Session], number: str) -> list[tuple[str, str]]:
    case = case_of(db, number)
    with db() as session:
        query = select(CaseEvent).where(
            CaseEvent.case_id == case.id, CaseEvent.kind.like("action_%")
        )
        return [(e.kind, e.actor) for e in session.scalars(query.order_by(CaseEvent.id))]


def audited(db: sessionmaker[Session], action: str) -> list[tuple[str, dict[str, object]]]:
    with db() as session:
        return [(e.actor, e.data) for e in audit_entries(session=session, action=action)]


def test_record_mark_done_and_verify_by_another_user_each_audited(
    browser: Callable[[str], Browser], file_case: Callable[..., str], db: sessionmaker[Session]
) -> None:
    number = file_case()
    cora, ada = browser("coordinator"), browser("admin")
    page = act(cora, number, "actions", text="Meet the mining police at Mpama", days="10")
    due = (datetime.now(UTC).astimezone(ZoneInfo("Africa/Lubumbashi")).date()) + timedelta(10)
    assert f"Action 1 recorded, due {due.isoformat()}." in page
    assert "Meet the mining police at Mpama" in page
    assert "Mark done" in page
    page = act(cora, number, "actions/1/done")
    assert "Action 1 marked done." in page
    refused = cora.post(f"/admin/cases/{number}/actions/1/verify", {})
    assert refused.status_code == 409
    assert "someone else must verify it" in refused.text
    page = act(ada, number, "actions/1/verify")
    assert "Action 1 verified." in page
    assert kinds(db, number) == [
        ("action_added", "user:cora"),
        ("action_done", "user:cora"),
        ("action_verified", "user:ada"),
    ]
    with db() as session:
        [action] = session.scalars(select(CaseAction)).all()
        assert (action.owner, action.done_by, action.verified_by) == (
            "user:cora",
            "user:cora",
            "user:ada",
        )
        assert b"Mpama" not in action.what_enc
    [(who, data)] = audited(db, "case.action_add")
    assert who == "cora"
    assert data == {
        "changed": True,
        "action": 1,
        "committee": "walikale-local",
        "due": due.isoformat(),
    }
    assert "Mpama" not in str(data)
    assert [who for who, _ in audited(db, "case.action_done")] == ["cora"]
    assert [who for who, _ in audited(db, "case.action_verify")] == ["ada"]


def test_refusals_change_nothing(
    browser: Callable[[str], Browser], file_case: Callable[..., str], db: sessionmaker[Session]
) -> None:
    number = file_case()
    cora = browser("coordinator")
    for days in ("0", "366", "soon"):
        response = cora.post(f"/admin/cases/{number}/actions", {"text": "Visit", "days": days})
        assert response.status_code == 422
    assert cora.post(f"/admin/cases/{number}/actions", {"text": " ", "days": "3"}).status_code == (
        422
    )
    assert cora.post(f"/admin/cases/{number}/actions/1/done", {}).status_code == 422
    act(cora, number, "actions", text="Visit", days="3")
    response = cora.post(f"/admin/cases/{number}/actions/1/verify", {})
    assert response.status_code == 409
    assert "not marked done" in response.text
    assert kinds(db, number) == [("action_added", "user:cora")]


def test_resolved_with_an_action_not_done_needs_a_reason(
    browser: Callable[[str], Browser], file_case: Callable[..., str], db: sessionmaker[Session]
) -> None:
    number = file_case()
    ada = browser("admin")
    page = act(ada, number, "actions", text="Visit", days="3")
    assert "required to close as resolved" in page
    refused = ada.post(f"/admin/cases/{number}/close", {"outcome": "resolved", "text": ""})
    assert refused.status_code == 422
    assert "say in the closing note why" in refused.text
    assert case_of(db, number).status != "closed"
    act(ada, number, "close", outcome="persistent")
    assert case_of(db, number).outcome == "persistent"


def test_analysts_see_actions_without_their_text_nor_forms(
    browser: Callable[[str], Browser], file_case: Callable[..., str], db: sessionmaker[Session]
) -> None:
    number = file_case()
    act(browser("coordinator"), number, "actions", text="Meet the mining police", days="5")
    page = browser("analyst").get(f"/admin/cases/{number}").text
    assert "Meet the mining police" not in page
    assert "for admins and coordinators" in page
    assert "Mark done" not in page
    assert "Record action" not in page
    with db() as session:
        assert session.scalar(select(Case.id).where(Case.number == number)) is not None
