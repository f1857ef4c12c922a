"""Acting on a case from the console: each action changes the case, shows in the timeline,
is audited, and runs the same code as the focal points' SMS commands; refused actions
(no CSRF token, closed case, bad values) change nothing and answer 4xx."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from gateway.casework import MAX_TEXT
from storage.casenumber import display
from storage.cases import create_report
from storage.keys import load_crypto
from storage.models import (
    Case,
    CaseAssignment,
    CaseEvent,
    Committee,
    CommitteeMember,
    OutboxMessage,
)
from storage.settings import Settings
from storage.users import audit_entries
from tests.admin.conftest import Browser
from tests.conftest import TWILIO_TOKEN
from tests.gateway.conftest import SmsPhone
from workers import queues
from workers.context import current
from workers.routing import route_report

REPORTER = "+243990000077"
WALIKALE_FOCAL_POINT = "+243810000001"


def case_of(db: sessionmaker[Session], number: str) -> Case:
    with db() as session:
        case = session.scalar(select(Case).where(Case.number == number))
        assert case is not None
        return case


def events(db: sessionmaker[Session], number: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(kind, actor, data) of the events after routing."""
    case = case_of(db, number)
    with db() as session:
        query = select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)
        found = [(e.kind, e.actor, e.data) for e in session.scalars(query)]
    return [e for e in found if e[0] not in ("received", "routing_requested", "routed", "note")]


def outbox(db: sessionmaker[Session]) -> list[tuple[str, str, int | None]]:
    with db() as session:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        return [(m.kind, m.recipient_kind, m.member_id) for m in session.scalars(query)]


@pytest.fixture
def file_with_contact(
    settings: Settings, db: sessionmaker[Session], run_jobs: Callable[[], None]
) -> Callable[[], str]:
    """A routed report whose reporter asked for SMS updates (so their number is kept)."""
    crypto = load_crypto(settings)

    def file() -> str:
        with db.begin() as session:
            case = create_report(
                session=session,
                crypto=crypto,
                pseudonym=crypto.pseudonym(REPORTER),
                channel="ussd",
                language="en",
                answers={
                    "category": "illegal_tax",
                    "place_code": "cd-nk-walikale-mpama",
                    "when": "today",
                    "description": "They take money at the barrier",
                    "sms_updates": "yes",
                },
                contact_e164=REPORTER,
                flow_version="v1",
                rng=random.Random(5),
                now=datetime.now(UTC),
            )
        queues.enqueue(queues.ROUTING, route_report, case.id, connection=current().redis)
        run_jobs()
        return case.number

    return file


def act(user: Browser, number: str, action: str, **form: str) -> str:
    """Post an action form, follow the redirect, and return the case page."""
    response = user.post(f"/admin/cases/{number}/{action}", form)
    assert response.status_code == 303, response.text[:500]
    assert response.headers["location"] == f"/admin/cases/{number}"
    page = user.follow(response)
    assert page.status_code == 200
    return page.text


def test_note_is_added_shown_and_audited(
    browser: Callable[[str], Browser], file_case: Callable[..., str], db: sessionmaker[Session]
) -> None:
    number = file_case()
    page = act(browser("coordinator"), number, "note", text="Visited the site with police")
    assert "Note added." in page
    assert "Visited the site with police" in page
    with db() as session:
        [entry] = audit_entries(session=session, action="case.note")
        notes = session.scalars(select(CaseEvent).where(CaseEvent.kind == "note")).all()
    assert (entry.actor, entry.target) == ("cora", number)
    assert "Visited" not in str(entry.data)
    assert [n.actor for n in notes] == ["user:cora", "user:cora"]


def test_acknowledge_then_again(
    browser: Callable[[str], Browser], file_case: Callable[..., str], db: sessionmaker[Session]
) -> None:
    number = file_case()
    user = browser("admin")
    assert "Case acknowledged." in act(user, number, "acknowledge")
    assert case_of(db, number).status == "acknowledged"
    page = act(user, number, "acknowledge")
    assert "already acknowledged" in page
    assert [e[:2] for e in events(db, number)] == [("acknowledged", "user:ada")]
    with db() as session:
        entries = audit_entries(session=session, action="case.acknowledge")
    assert [e.data["changed"] for e in entries] == [False, True]


def test_message_without_consent_waits_for_the_status_check(
    browser: Callable[[str], Browser], file_case: Callable[..., str], db: sessionmaker[Session]
) -> None:
    number = file_case()
    user = browser("coordinator")
    before = user.get(f"/admin/cases/{number}").text
    assert "read this message at their next status check" in before
    page = act(user, number, "message", text="The police will come tomorrow")
    assert "next status check" in page
    assert "The police will come tomorrow" in page
    assert [e[0] for e in events(db, number)] == ["message"]
    assert all(kind != "reporter_message" for kind, _, _ in outbox(db))


def test_message_with_consent_goes_by_sms_and_the_number_never_shows(
    browser: Callable[[str], Browser],
    file_with_contact: Callable[[], str],
    db: sessionmaker[Session],
) -> None:
    number = file_with_contact()
    user = browser("admin")
    before = user.get(f"/admin/cases/{number}").text
    assert "this message is sent to them by SMS" in before
    page = act(user, number, "message", text="We are on it")
    assert "sent to the reporter by SMS" in page
    assert ("reporter_message", "reporter", None) in outbox(db)
    for text in (before, page):
        assert REPORTER not in text
        assert REPORTER[1:] not in text
    with db() as session:
        [entry] = audit_entries(session=session, action="case.message")
    assert entry.data == {"changed": True, "by_sms": True}


def test_close_with_outcome_erases_the_contact_and_removes_the_forms(
    browser: Callable[[str], Browser],
    file_with_contact: Callable[[], str],
    db: sessionmaker[Session],
) -> None:
    number = file_with_contact()
    user = browser("coordinator")
    page = act(user, number, "close", outcome="resolved", text="Barrier removed")
    assert "Case closed: resolved." in page
    assert "Barrier removed" in page
    assert "can be read, not changed" in page
    assert "/note" not in page
    case = case_of(db, number)
    assert (case.status, case.outcome, case.contact_enc) == ("closed", "resolved", None)
    assert [e[0] for e in events(db, number)] == ["closed", "contact_erased"]
    assert ("closing", "reporter", None) in outbox(db)
    refused = user.post(f"/admin/cases/{number}/note", {"text": "late"})
    assert refused.status_code == 409
    assert "closed" in refused.text
    assert [e[0] for e in events(db, number)] == ["closed", "contact_erased"]


def test_escalate_passes_the_case_up_and_alerts_the_committee_above(
    browser: Callable[[str], Browser], file_case: Callable[..., str], db: sessionmaker[Session]
) -> None:
    number = file_case()
    before = outbox(db)
    page = act(browser("admin"), number, "escalate")
    assert "Case passed up to" in page
    [(kind, actor, data)] = events(db, number)
    assert (kind, actor, data["reason"], data["from"]) == (
        "escalated",
        "user:ada",
        "requested",
        "walikale-local",
    )
    alerts = [row for row in outbox(db) if row not in before]
    assert alerts
    assert {kind for kind, _, _ in alerts} == {"escalation"}
    with db() as session:
        [entry] = audit_entries(session=session, action="case.escalate")
    assert entry.data["committee"] == data["to"]


def test_reassign_moves_the_case_and_alerts_the_new_committee(
    browser: Callable[[str], Browser], file_case: Callable[..., str], db: sessionmaker[Session]
) -> None:
    number = file_case()
    page = act(browser("coordinator"), number, "reassign", committee="kalehe-local")
    assert "Case reassigned to" in page
    [(kind, actor, data)] = events(db, number)
    assert (kind, actor, data["to"]) == ("reassigned", "user:cora", "kalehe-local")
    assert "walikale-local" in data["from"]
    with db() as session:
        kalehe = session.scalar(select(Committee).where(Committee.code == "kalehe-local"))
        assert kalehe is not None
        members = set(
            session.scalars(
                select(CommitteeMember.id).where(CommitteeMember.committee_id == kalehe.id)
            )
        )
        active = session.scalars(
            select(CaseAssignment.committee_id).where(CaseAssignment.active.is_(True))
        ).all()
    assert list(active) == [kalehe.id]
    alerted = {member for kind, _, member in outbox(db) if kind == "alert"}
    assert members <= alerted
    again = act(browser("coordinator"), number, "reassign", committee="kalehe-local")
    assert "already with" in again


@pytest.mark.parametrize(
    ("action", "form", "said"),
    [
        ("note", {"text": ""}, "Write some text"),
        ("note", {"text": "   "}, "Write some text"),
        ("note", {}, "Write some text"),
        ("message", {"text": ""}, "Write some text"),
        ("note", {"text": "x" * (MAX_TEXT + 1)}, "text"),
        ("message", {"text": "x" * (MAX_TEXT + 1)}, "text"),
        ("reassign", {"committee": "nowhere-local"}, "active committees"),
        ("reassign", {"committee": ""}, "active committees"),
        ("reassign", {"committee": "x" * 65}, "committee"),
        ("close", {"outcome": "solved"}, "Choose an outcome"),
        ("close", {"outcome": ""}, "Choose an outcome"),
        ("close", {"outcome": "resolved", "text": "x" * (MAX_TEXT + 1)}, "text"),
    ],
)
def test_bad_form_values_are_422_and_change_nothing(
    browser: Callable[[str], Browser],
    file_case: Callable[..., str],
    db: sessionmaker[Session],
    action: str,
    form: dict[str, str],
    said: str,
) -> None:
    number = file_case()
    response = browser("admin").post(f"/admin/cases/{number}/{action}", form)
    assert response.status_code == 422, response.text[:300]
    assert said in response.text
    assert events(db, number) == []
    assert case_of(db, number).status == "routed"


@pytest.mark.parametrize("action", ["note", "acknowledge", "message", "escalate", "close"])
def test_without_the_csrf_token_nothing_changes(
    browser: Callable[[str], Browser],
    file_case: Callable[..., str],
    db: sessionmaker[Session],
    action: str,
) -> None:
    number = file_case()
    form = {"text": "hello", "outcome": "resolved"}
    response = browser("admin").post(f"/admin/cases/{number}/{action}", form, csrf=False)
    assert response.status_code == 403
    wrong = browser("admin").post(
        f"/admin/cases/{number}/{action}", {**form, "csrf_token": "forged"}
    )
    assert wrong.status_code == 403
    assert events(db, number) == []
    with db() as session:
        assert audit_entries(session=session, action=f"case.{action}") == []


@pytest.mark.parametrize("typed", ["4821773506", "123"])
def test_action_on_an_unknown_case_is_404(
    browser: Callable[[str], Browser], file_case: Callable[..., str], typed: str
) -> None:
    file_case()
    response = browser("admin").post(f"/admin/cases/{typed}/note", {"text": "hello"})
    assert response.status_code == 404


def test_analyst_may_not_act(
    browser: Callable[[str], Browser], file_case: Callable[..., str], db: sessionmaker[Session]
) -> None:
    number = file_case()
    response = browser("analyst").post(f"/admin/cases/{number}/acknowledge")
    assert response.status_code == 403
    assert events(db, number) == []


def _sms_and_console_events(
    db: sessionmaker[Session], number: str
) -> list[tuple[str, dict[str, Any], bool]]:
    """Each event's kind, data and whether it carries an encrypted body: what but not who."""
    case = case_of(db, number)
    with db() as session:
        query = select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)
        return [
            (e.kind, e.data, e.body_enc is not None)
            for e in session.scalars(query)
            if e.kind in ("note", "message", "closed", "contact_erased") and e.actor != "user:cora"
        ]


def test_an_sms_command_and_the_console_write_the_same_events(
    app_client: TestClient,
    browser: Callable[[str], Browser],
    file_case: Callable[..., str],
    db: sessionmaker[Session],
) -> None:
    by_sms, by_console = file_case(), file_case()
    phone = SmsPhone(
        client=app_client,
        number=WALIKALE_FOCAL_POINT,
        token=TWILIO_TOKEN,
        public_url="https://sauti.example.org",
    )
    phone.send(f"NOTE {display(by_sms)} Met the chief")
    phone.send(f"MSG {display(by_sms)} Help is coming")
    phone.send(f"CLOSE {display(by_sms)} resolved Barrier gone")
    user = browser("admin")
    act(user, by_console, "note", text="Met the chief")
    act(user, by_console, "message", text="Help is coming")
    act(user, by_console, "close", outcome="resolved", text="Barrier gone")
    sms_events = _sms_and_console_events(db, by_sms)
    assert sms_events == _sms_and_console_events(db, by_console)
    assert [kind for kind, _, _ in sms_events] == ["note", "message", "closed"]
    page = user.get(f"/admin/cases/{by_sms}").text
    assert "Focal point" in page or "(walikale-local)" in page
    assert WALIKALE_FOCAL_POINT not in page
