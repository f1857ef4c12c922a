"""The reporter's say on the console's case page: each closing's answer (solved or not,
when, by which channel) and each appeal (from which committee to which) in the timeline,
the latest answer and the appeals in the case facts, the appealed committee's deadline
marked overdue once missed, and the case list filtered by the `appealed` status."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from gateway.admin import words
from gateway.admin.cases import _answer_line
from storage.appeals import ANSWER_WINDOW, answer_closing
from storage.models import Case, CaseAssignment, CaseEvent
from tests.admin.conftest import Browser
from tests.admin.test_cases import listed
from tests.admin.test_cases_actions import act, case_of

REPORTER = "+243990000042"  # who files tests.api.conftest's cases
WALIKALE = "Walikale local stakeholder committee"
NORTH_KIVU = "North Kivu provincial stakeholder committee"


def answer(db: sessionmaker[Session], number: str, said: str, channel: str) -> None:
    """The reporter answers the latest closing of the case now."""
    with db.begin() as session:
        case = session.get(Case, case_of(db, number).id)
        assert case is not None
        taken = answer_closing(
            session=session,
            case=case,
            pseudonym=case.pseudonym,
            answer=said,
            channel=channel,
            now=datetime.now(UTC),
        )
        assert taken is not None


def test_answers_and_appeals_show_in_the_timeline_and_the_facts(
    browser: Callable[[str], Browser], file_case: Callable[..., str], db: sessionmaker[Session]
) -> None:
    number = file_case()  # an illegal tax at Mpama, with Walikale's committee
    user = browser("coordinator")
    page = user.get(f"/admin/cases/{number}").text
    assert "Reporter's answer</dt><dd>—</dd>" in page
    page = act(user, number, "close", outcome="resolved")
    closed = (case_of(db, number).closed_at or datetime.min) + ANSWER_WINDOW
    until = words.when(closed, words.DEFAULT_ZONE, "%Y-%m-%d")  # the console's zone's day
    assert f"waiting for it until {until}" in page
    assert f"Waiting for the reporter&#39;s answer until {until}." in page

    answer(db, number, "not_solved", "sms")
    page = user.get(f"/admin/cases/{number}").text
    assert '<span class="badge appealed">Appealed</span>' in page
    assert (
        f"The reporter said not solved, by SMS: appealed from {WALIKALE} to {NORTH_KIVU}." in page
    )
    assert "Reporter&#39;s answer: not solved, " in page
    assert '<span class="badge not_solved">not solved</span>' in page
    assert "appealed 1 time<" in page

    act(user, number, "acknowledge")
    page = act(user, number, "close", outcome="resolved")
    assert "(to the closing before: not solved, " in page
    answer(db, number, "solved", "ussd")
    page = user.get(f"/admin/cases/{number}").text
    assert "The reporter said solved, by USSD." in page
    assert page.count("Reporter&#39;s answer: ") == 2
    assert "Reporter&#39;s answer: solved, " in page
    assert '<span class="badge solved">solved</span>' in page
    assert "Waiting for the reporter" not in page
    assert REPORTER not in page


def test_an_appeal_its_committee_misses_is_marked_overdue(
    browser: Callable[[str], Browser], file_case: Callable[..., str], db: sessionmaker[Session]
) -> None:
    number = file_case()
    user = browser("coordinator")
    act(user, number, "acknowledge")
    act(user, number, "close", outcome="resolved")
    answer(db, number, "not_solved", "sms")
    page = user.get(f"/admin/cases/{number}").text
    assert "overdue</span>" not in page
    with db.begin() as session:
        session.execute(
            update(CaseAssignment)
            .where(CaseAssignment.case_id == case_of(db, number).id)
            .values(assigned_at=datetime.now(UTC) - timedelta(days=30))
        )
    page = user.get(f"/admin/cases/{number}").text
    assert page.count('<span class="badge overdue">overdue</span>') == 1  # the appeal's


def test_the_analyst_sees_the_answers_without_free_text(
    browser: Callable[[str], Browser], file_case: Callable[..., str], db: sessionmaker[Session]
) -> None:
    number = file_case()
    act(browser("coordinator"), number, "close", outcome="resolved", text="Paid back")
    answer(db, number, "not_solved", "whatsapp")
    page = browser("analyst").get(f"/admin/cases/{number}").text
    assert "The reporter said not solved, by WhatsApp: appealed from " in page
    for hidden in ("Paid back", REPORTER):
        assert hidden not in page


def test_the_list_filters_appealed_cases(
    browser: Callable[[str], Browser], file_case: Callable[..., str], db: sessionmaker[Session]
) -> None:
    appealed, other = file_case(), file_case()
    user = browser("coordinator")
    act(user, appealed, "close", outcome="resolved")
    answer(db, appealed, "not_solved", "sms")
    page = user.get("/admin/cases?status=appealed")
    assert page.status_code == 200
    assert listed(page.text) == [appealed]
    assert '<option value="appealed" selected>Appealed</option>' in page.text
    assert other in listed(user.get("/admin/cases?status=routed").text)


def test_an_appeal_to_triage_says_so() -> None:
    event = CaseEvent(kind="appealed", data={"channel": "voice", "from": None, "to": None})
    assert _answer_line(event, {}) == (
        "The reporter said not solved, by Voice: appealed to the admins' triage."
    )
