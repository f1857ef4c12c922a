"""The ITSCI level on the console's case page: shown, changed with a reason by the roles
that act on cases (audited, the reason kept encrypted on the case's event), a change to
level 1 copying the case up to every level; bad values and closed cases refused."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage.models import Case, CaseAssignment, CaseEvent, Committee
from storage.users import audit_entries
from tests.admin.conftest import Browser
from tests.admin.test_cases_actions import act, case_of


def committees_of(db: sessionmaker[Session], case: Case) -> list[tuple[str, str]]:
    with db() as session:
        query = (
            select(Committee.code, CaseAssignment.reason)
            .join(Committee, Committee.id == CaseAssignment.committee_id)
            .where(CaseAssignment.case_id == case.id, CaseAssignment.active.is_(True))
            .order_by(CaseAssignment.id)
        )
        return [(code, reason) for code, reason in session.execute(query)]


def test_the_level_is_shown_changed_with_a_reason_and_audited(
    browser: Callable[[str], Browser], file_case: Callable[..., str], db: sessionmaker[Session]
) -> None:
    number = file_case()  # an illegal tax at Mpama: level 2, with Walikale's committee
    user = browser("coordinator")
    page = user.get(f"/admin/cases/{number}").text
    assert "ITSCI level" in page
    assert "level 2" in page
    case = case_of(db, number)
    assert committees_of(db, case) == [("walikale-local", "routed")]
    page = act(user, number, "level", level="1", reason="Soldiers take the money at gunpoint")
    assert "ITSCI level set to 1." in page
    assert case_of(db, number).itsci_level == 1
    assert committees_of(db, case) == [
        ("walikale-local", "routed"),
        ("north-kivu-provincial", "copied_up"),
        ("cd-national", "copied_up"),
    ]
    with db() as session:
        [entry] = audit_entries(session=session, action="case.level")
        [event] = session.scalars(
            select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.kind == "level_changed")
        ).all()
    assert (entry.actor, entry.target, entry.data) == ("cora", number, {"from": 2, "to": 1})
    assert (event.actor, event.data) == ("user:cora", {"from": 2, "to": 1})
    assert event.body_enc is not None
    assert b"Soldiers" not in event.body_enc
    assert "gunpoint" in page  # coordinators read the reason in the timeline
    page = act(user, number, "level", level="1", reason="Again")
    assert "already has ITSCI level 1" in page
    with db() as session:
        assert len(audit_entries(session=session, action="case.level")) == 1


def test_bad_levels_and_missing_reasons_are_refused(
    browser: Callable[[str], Browser], file_case: Callable[..., str], db: sessionmaker[Session]
) -> None:
    number = file_case()
    user = browser("admin")
    for form in ({"level": "4", "reason": "x"}, {"level": "", "reason": "x"}, {"level": "1"}):
        response = user.post(f"/admin/cases/{number}/level", form)
        assert response.status_code == 422, form
    act(user, number, "close", outcome="resolved")
    response = user.post(f"/admin/cases/{number}/level", {"level": "1", "reason": "Late news"})
    assert response.status_code == 409
    assert case_of(db, number).itsci_level == 2
