"""The reporter's say on a closing, end to end through the webhooks, the database and RQ
jobs: CLOSE by SMS sends the outcome and "Reply 1 if solved, 2 if not."; "2" reopens the
case with the committee above (an appeal event, an alert there), a second "2" reaches the
national committee, "1" is counted as solved; the USSD status check offers the same
choice; late answers, other numbers and a "1" inside an SMS conversation do no harm."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from storage import satisfaction
from storage.casenumber import display
from storage.cases import create_report
from storage.keys import load_crypto
from storage.models import Case, CaseAssignment, CaseEvent, Committee
from storage.settings import Settings
from tests.conftest import AT_TOKEN, TWILIO_TOKEN
from tests.gateway.conftest import SmsPhone, UssdPhone, outbox_texts
from tests.leaks import number_forms
from workers import queues
from workers.context import current
from workers.routing import route_report

PUBLIC = "https://sauti.example.org"
REPORTER = "+243990000042"
OTHER = "+243990000043"
WALIKALE_FR = "+243810000002"  # walikale-local, French
NORTH_KIVU = "+243810000101"  # north-kivu-provincial, French
NATIONAL = "+243810000201"  # cd-national, French


def sms(client: TestClient, number: str) -> SmsPhone:
    return SmsPhone(client=client, number=number, token=TWILIO_TOKEN, public_url=PUBLIC)


@pytest.fixture
def file_case(
    settings: Settings, db: sessionmaker[Session], run_jobs: Callable[[], None]
) -> Callable[..., str]:
    """Commit and route a report at Mpama (Walikale) from REPORTER, who asked for SMS news."""
    crypto = load_crypto(settings)

    def file(*, channel: str = "sms") -> str:
        with db.begin() as session:
            case = create_report(
                session=session,
                crypto=crypto,
                pseudonym=crypto.pseudonym(REPORTER),
                channel=channel,
                language="en",
                answers={
                    "category": "illegal_tax",
                    "place_code": "cd-nk-walikale-mpama",
                    "when": "today",
                    "danger_now": "no",
                    "description": "Soldiers take 2000 francs at the barrier",
                    "sms_updates": "yes",
                },
                contact_e164=REPORTER,
                flow_version="v1",
                rng=random.Random(),
                now=datetime.now(UTC),
            )
        queues.enqueue(queues.ROUTING, route_report, case.id, connection=current().redis)
        run_jobs()
        return display(case.number)

    return file


def case_of(db: sessionmaker[Session], number: str) -> Case:
    with db() as session:
        case = session.scalar(select(Case).where(Case.number == number.replace("-", "")))
        assert case is not None
        session.expunge(case)
        return case


def kinds(db: sessionmaker[Session], number: str) -> list[str]:
    case = case_of(db, number)
    with db() as session:
        query = select(CaseEvent.kind).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)
        return list(session.scalars(query))


def appeal_events(db: sessionmaker[Session], number: str) -> list[dict[str, object]]:
    case = case_of(db, number)
    with db() as session:
        query = select(CaseEvent.data).where(
            CaseEvent.case_id == case.id, CaseEvent.kind == "appealed"
        )
        return [dict(data) for data in session.scalars(query)]


def holders(db: sessionmaker[Session], number: str) -> set[str]:
    """The committees whose inbox holds the case and that have not passed it up."""
    case = case_of(db, number)
    with db() as session:
        query = (
            select(Committee.code)
            .join(CaseAssignment, CaseAssignment.committee_id == Committee.id)
            .where(
                CaseAssignment.case_id == case.id,
                CaseAssignment.active.is_(True),
                CaseAssignment.escalated_at.is_(None),
            )
        )
        return set(session.scalars(query))


def committee_name(db: sessionmaker[Session], code: str) -> str:
    with db() as session:
        name = session.scalar(select(Committee.name).where(Committee.code == code))
        assert name is not None
        return name


def close(client: TestClient, member: str, number: str, run_jobs: Callable[[], None]) -> None:
    reply = sms(client, member).send(f"CLOSE {number} resolved Fixed at the barrier")
    assert reply.startswith(f"Dossier {number} clos")
    run_jobs()


def test_close_answer_2_appeals_up_twice_then_1_counts_solved(
    app_client: TestClient,
    db: sessionmaker[Session],
    settings: Settings,
    file_case: Callable[..., str],
    run_jobs: Callable[[], None],
) -> None:
    number = file_case()
    digits = number.replace("-", "")
    close(app_client, WALIKALE_FR, number, run_jobs)
    closing = list(outbox_texts(settings, "closing"))
    assert [m["body"] for m in closing] == [
        f"Sauti case {number} is closed: the problem was resolved. Thank you for reporting. "
        "Reply 1 if solved, 2 if not."
    ]
    reporter = sms(app_client, REPORTER)

    provincial = committee_name(db, "north-kivu-provincial")
    assert reporter.send("2") == (
        f"Sauti case {number} is open again: it goes to {provincial}, the committee above. "
        f"To follow it, send STATUS {digits}."
    )
    case = case_of(db, number)
    assert (case.status, case.satisfaction, case.closed_at) == ("appealed", "not_solved", None)
    assert holders(db, number) == {"north-kivu-provincial"}
    assert appeal_events(db, number) == [
        {
            "channel": "sms",
            "closing": appeal_events(db, number)[0]["closing"],
            "from": "walikale-local",
            "to": "north-kivu-provincial",
        }
    ]
    run_jobs()
    alerts = [m for m in outbox_texts(settings, "escalation") if m["to"] == NORTH_KIVU]
    assert len(alerts) == 1
    assert alerts[0]["body"] is not None
    assert "en appel chez vous" in alerts[0]["body"]  # the North Kivu member reads French
    # The same answer again: nothing waits for it any more.
    assert "no closed case of yours waits" in reporter.send("2")
    assert len(appeal_events(db, number)) == 1

    assert sms(app_client, NORTH_KIVU).send(f"ACK {number}").startswith(f"Dossier {number}")
    assert case_of(db, number).status == "acknowledged"
    close(app_client, NORTH_KIVU, number, run_jobs)
    national = committee_name(db, "cd-national")
    assert national in reporter.send("NOT SOLVED")
    assert holders(db, number) == {"cd-national"}
    run_jobs()
    assert [m for m in outbox_texts(settings, "escalation") if m["to"] == NATIONAL]

    close(app_client, NATIONAL, number, run_jobs)
    assert reporter.send("1") == f"Thank you. Sauti case {number} is counted as solved."
    case = case_of(db, number)
    assert (case.status, case.satisfaction) == ("closed", "solved")
    assert kinds(db, number).count("appealed") == 2
    assert kinds(db, number)[-1] == "solved"
    now = datetime.now(UTC)
    with db() as session:
        months = satisfaction.satisfaction_by_month(
            session=session, start=now - timedelta(days=1), end=now + timedelta(days=1)
        )
    month = f"{now.year:04d}-{now.month:02d}"
    assert months == [satisfaction.SatisfactionMonth(month, solved=1, not_solved=2, no_answer=0)]
    # The reporter's number is nowhere in clear at rest.
    forms = number_forms(REPORTER)
    with db() as session:
        for row in session.execute(select(CaseEvent.data)).scalars():
            assert not any(form in str(row) for form in forms)


def test_the_ussd_status_check_offers_the_choice_to_the_reporter_only(
    app_client: TestClient,
    db: sessionmaker[Session],
    file_case: Callable[..., str],
    run_jobs: Callable[[], None],
) -> None:
    number = file_case(channel="ussd")
    close(app_client, WALIKALE_FR, number, run_jobs)

    stranger = UssdPhone(client=app_client, number=OTHER, token=AT_TOKEN)
    stranger.dial()
    stranger.choose("English")
    stranger.choose("Check a report")
    seen = stranger.press(number)
    assert seen.startswith("END ")
    assert "solved?" not in seen

    phone = UssdPhone(client=app_client, number=REPORTER, token=AT_TOKEN)
    phone.dial()
    phone.choose("English")
    phone.choose("Check a report")
    screen = phone.press(number)
    assert screen.startswith("CON ")
    assert "Is the problem solved?" in screen
    assert len(screen) <= 160
    end = phone.choose("Not solved")
    assert end == f"END Case {number} is open again and goes to the committee above."
    assert case_of(db, number).status == "appealed"
    assert holders(db, number) == {"north-kivu-provincial"}


def test_late_or_foreign_answers_change_nothing_and_get_a_clear_answer(
    app_client: TestClient,
    db: sessionmaker[Session],
    file_case: Callable[..., str],
    run_jobs: Callable[[], None],
) -> None:
    number = file_case()
    close(app_client, WALIKALE_FR, number, run_jobs)
    assert "English" in sms(app_client, OTHER).send("2")  # a conversation, as before
    assert case_of(db, number).status == "closed"
    with db.begin() as session:
        session.execute(
            update(Case)
            .where(Case.number == number.replace("-", ""))
            .values(closed_at=datetime.now(UTC) - timedelta(days=31))
        )
    reply = sms(app_client, REPORTER).send("2")
    assert reply.startswith("Sauti: no closed case of yours waits for this answer.")
    case = case_of(db, number)
    assert (case.status, case.satisfaction) == ("closed", None)


def test_a_1_inside_an_sms_conversation_answers_the_conversation(
    app_client: TestClient,
    db: sessionmaker[Session],
    file_case: Callable[..., str],
    run_jobs: Callable[[], None],
) -> None:
    number = file_case()
    close(app_client, WALIKALE_FR, number, run_jobs)
    reporter = sms(app_client, REPORTER)
    assert reporter.send("REPORT").startswith("What happened?\n1 Danger in the pit")
    following = reporter.send("1")  # the pit danger, not "solved"
    assert "counted as solved" not in following
    assert "Collapse" in following  # the next question of the report
    case = case_of(db, number)
    assert (case.status, case.satisfaction) == ("closed", None)
