"""End to end with real Redis, the database and RQ jobs: a report by USSD reaches the demo
committee's focal points, who answer by SMS; the reporter sees the status change and the
committee's message, gets the message and the closing by SMS, and their number is erased
when the case closes."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from gateway import commands
from storage.committees import mask_phone
from storage.models import Case, CaseEvent, OutboxMessage
from storage.settings import Settings
from tests.conftest import AT_TOKEN, TWILIO_TOKEN
from tests.gateway.conftest import SmsPhone, UssdPhone, outbox_texts
from tests.gateway.test_commands import said
from tests.gateway.test_sms import report_by_sms
from tests.gateway.test_ussd import case_number_in
from tests.leaks import find_leaks, number_forms

REPORTER = "+243812345678"
WALIKALE_SW, WALIKALE_FR = "+243810000001", "+243810000002"  # storage/seed/committees.yaml
RULINDO = "+250780000001"
DESCRIPTION = "Soldiers of the mine police take 5000 francs from each digger"
MESSAGE = "The provincial mining service will visit Mpama on Friday"


def sent(settings: Settings) -> list[dict[str, str]]:
    path = settings.console_outbox
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def report_with_updates(phone: UssdPhone) -> str:
    """A report at Mpama (Walikale) asking for SMS news; return the case number."""
    screen = phone.dial()
    if "English" in screen:
        phone.choose("English")
    for label in ("Report a problem", "Illegal tax", "North Kivu", "Walikale", "Mpama"):
        phone.choose(label)
    phone.choose("Today")
    phone.choose("No")  # nobody in danger now
    phone.press(DESCRIPTION)
    phone.choose("Yes")  # SMS news
    return case_number_in(phone.choose("Send"))


def status_screen(phone: UssdPhone, number: str) -> str:
    phone.dial()
    phone.choose("Check a report")
    return phone.press(number)


def test_report_alert_ack_msg_close_and_the_number_is_erased(
    app_client: TestClient,
    settings: Settings,
    redis_client: redis.Redis,
    db: sessionmaker[Session],
    run_jobs: Callable[[], None],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    reporter = UssdPhone(client=app_client, number=REPORTER, token=AT_TOKEN)
    focal_sw, focal_fr = (
        SmsPhone(app_client, number, TWILIO_TOKEN, "https://sauti.example.org")
        for number in (WALIKALE_SW, WALIKALE_FR)
    )

    number = report_with_updates(reporter)
    run_jobs()
    alerts = outbox_texts(settings, kind="alert")
    assert [line["to"] for line in alerts] == [WALIKALE_SW, WALIKALE_FR]
    assert all(number in line["body"] for line in alerts)
    assert all(f" {number.replace('-', '')} " in line["body"] for line in alerts)  # to type back
    assert alerts[1]["body"].startswith(f"Sauti dossier {number} (MOYENNE) : Taxe illégale")
    assert "Sent to the committee" in status_screen(reporter, number)

    assert focal_sw.send(f"ACK {number}") == said("sw", commands.ACKNOWLEDGED, case=number)
    assert "The committee has seen it" in status_screen(reporter, number)

    reply = focal_sw.send(f"MSG {number} {MESSAGE}")
    assert reply == said("sw", commands.MESSAGE_SENT, case=number)
    assert f"Committee: {MESSAGE}" in status_screen(reporter, number)
    run_jobs()
    to_reporter = [line for line in sent(settings) if line["to"] == mask_phone(REPORTER)]
    follow = f"To follow your case, send STATUS {number.replace('-', '')}."
    assert [line["body"] for line in to_reporter] == [
        f"Sauti got your report: case {number}. Keep this number: it is the only way "
        f"to check your case or add to it. The committee answers within 3 days. {follow}",
        f"Sauti case {number}. The committee says: {MESSAGE}. {follow}",
    ]

    assert focal_fr.send(f"FERMER {number} résolu La police a rendu l'argent") == (
        f"Dossier {number} clos : résolu."
    )
    assert "Closed - the problem was resolved" in status_screen(reporter, number)
    run_jobs()
    to_reporter = [line for line in sent(settings) if line["to"] == mask_phone(REPORTER)]
    assert to_reporter[-1]["body"] == (
        f"Sauti case {number} is closed: the problem was resolved. Thank you for reporting. "
        "Reply 1 if solved, 2 if not."
    )

    with db() as session:
        case = session.scalars(select(Case)).one()
        assert (case.status, case.outcome, case.contact_enc) == ("closed", "resolved", None)
        kinds = list(
            session.scalars(
                select(CaseEvent.kind).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)
            )
        )
        assert kinds[-4:] == ["acknowledged", "message", "closed", "contact_erased"]
        reporter_rows = session.scalars(
            select(OutboxMessage).where(OutboxMessage.recipient_kind == "reporter")
        ).all()
        assert [(m.kind, m.status, m.to_enc) for m in reporter_rows] == [
            ("confirmation", "delivered", None),
            ("reporter_message", "delivered", None),
            ("closing", "delivered", None),
        ]
    leaks = find_leaks(
        [*number_forms(REPORTER), DESCRIPTION, MESSAGE],
        database_url=settings.db_url,
        redis_client=redis_client,
        logs=caplog.text,
    )
    assert leaks == []


def test_a_report_by_sms_alerts_the_committee_of_its_place(
    app_client: TestClient, settings: Settings, run_jobs: Callable[[], None]
) -> None:
    reporter = SmsPhone(app_client, "+250788123456", TWILIO_TOKEN, "https://sauti.example.org")
    number = case_number_in(report_by_sms(reporter))
    run_jobs()
    [alert] = outbox_texts(settings, kind="alert")
    assert alert["to"] == RULINDO
    for part in (number, "Nyakabingo, Rulindo", '"Soldiers take 2000 francs at the road block"'):
        assert part in alert["body"]


def test_a_reporter_who_sent_stop_gets_no_sms_but_sees_the_message(
    app_client: TestClient, settings: Settings, run_jobs: Callable[[], None]
) -> None:
    reporter = SmsPhone(app_client, "+250788123456", TWILIO_TOKEN, "https://sauti.example.org")
    number = case_number_in(report_by_sms(reporter))
    run_jobs()
    reporter.send("STOP")
    focal = SmsPhone(app_client, RULINDO, TWILIO_TOKEN, "https://sauti.example.org")
    reply = focal.send(f"MSG {number} We will call the district")
    assert reply == said("rw", commands.MESSAGE_SAVED, case=number)
    run_jobs()
    # The case number came by SMS at once; after STOP only the committee's alert went out.
    first, *rest = sent(settings)
    assert f"STATUS {number.replace('-', '')}" in first["body"]
    assert [line["to"] for line in rest] == [RULINDO]
    reporter.send("START")
    assert "We will call the district" in reporter.send(f"STATUS {number}")
