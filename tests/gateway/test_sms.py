"""SMS end to end through Twilio's signed webhook: the flows as a conversation, and keywords."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage.models import Case, NumberPrefs
from tests.conftest import TWILIO_TOKEN
from tests.gateway.conftest import SmsPhone, option

NUMBER = "+250788123456"


@pytest.fixture
def sms(app_client: TestClient) -> SmsPhone:
    return SmsPhone(
        client=app_client, number=NUMBER, token=TWILIO_TOKEN, public_url="https://sauti.example.org"
    )


def speak_english(sms: SmsPhone) -> None:
    """Pick English from the language list (a new Rwandan number is otherwise answered in
    Kinyarwanda, its country's default)."""
    screen = sms.send("hello")
    sms.send(option(screen, "English"))


def report_by_sms(sms: SmsPhone) -> str:
    speak_english(sms)
    screen = sms.send("REPORT")
    assert screen.startswith("What happened?")
    screen = sms.send(option(screen, "Illegal tax"))
    screen = sms.send(option(screen, "Northern"))
    screen = sms.send(option(screen, "Rulindo"))
    screen = sms.send(option(screen, "Nyakabingo"))
    screen = sms.send(option(screen, "This month"))
    screen = sms.send(option(screen, "No"))
    screen = sms.send("Soldiers take 2000 francs at the road block")
    screen = sms.send(option(screen, "Yes"))
    assert screen.startswith("Your report:")
    return sms.send(option(screen, "Send"))


def case_number(text: str) -> str:
    found = re.search(r"\d{3}-\d{3}-\d{4}", text)
    assert found is not None, text
    return found.group(0)


def test_first_message_starts_with_the_language_list(sms: SmsPhone) -> None:
    screen = sms.send("hello")
    assert "English" in screen
    assert sms.send(option(screen, "English")).startswith("Sauti")


def test_report_by_sms_conversation(sms: SmsPhone, db: sessionmaker[Session]) -> None:
    final = report_by_sms(sms)
    assert final.startswith("Report sent.")
    with db() as session:
        case = session.scalars(select(Case)).one()
    assert case.number == case_number(final).replace("-", "")
    assert case.channel == "sms"
    assert case.category == "illegal_tax"
    assert case.consent_updates is True
    assert case.contact_enc is not None
    assert NUMBER.encode() not in case.contact_enc


def test_status_keyword_with_a_case_number(sms: SmsPhone) -> None:
    number = case_number(report_by_sms(sms))
    reply = sms.send(f"status {number}")
    assert number in reply
    assert "Received" in reply


def test_status_keyword_in_french_without_accents_or_case(sms: SmsPhone) -> None:
    number = case_number(report_by_sms(sms))
    assert "Received" in sms.send(f"Statut {number.replace('-', '')}")


def test_status_keyword_alone_asks_for_the_number(sms: SmsPhone) -> None:
    number = case_number(report_by_sms(sms))
    assert not re.search(r"\d{3}-\d{3}-\d{4}", sms.send("STATUS"))
    assert number in sms.send(number)


def test_help_keyword(sms: SmsPhone) -> None:
    speak_english(sms)
    assert "free" in sms.send("HELP")


def test_stop_then_start(sms: SmsPhone, db: sessionmaker[Session]) -> None:
    assert "no more SMS" in sms.send("STOP")
    with db() as session:
        prefs = session.scalars(select(NumberPrefs)).one()
        assert prefs.opted_out_at is not None
    assert "again" in sms.send("START")
    with db() as session:
        prefs = session.scalars(select(NumberPrefs)).one()
        assert prefs.opted_out_at is None


def test_stop_in_french_with_an_accent(sms: SmsPhone, db: sessionmaker[Session]) -> None:
    sms.send("arrêt")
    with db() as session:
        assert session.scalars(select(NumberPrefs)).one().opted_out_at is not None


def test_a_repeated_message_sid_is_answered_once(sms: SmsPhone, db: sessionmaker[Session]) -> None:
    speak_english(sms)
    screen = sms.send("REPORT")
    for label in ("Accident", "Northern", "Rulindo", "Nyakabingo", "Today", "No"):
        screen = sms.send(option(screen, label))
    screen = sms.send(option(screen, "Skip"))
    screen = sms.send(option(screen, "No"))
    form = sms.form(option(screen, "Send"))
    first = sms.post_form(form)
    again = sms.post_form(form)
    assert first == again
    assert first[0] == 200
    with db() as session:
        assert len(session.scalars(select(Case)).all()) == 1


def test_status_callback_is_accepted_when_signed(sms: SmsPhone) -> None:
    form = {"MessageSid": "SM" + "1" * 32, "MessageStatus": "delivered", "To": NUMBER}
    assert sms.post_form(form, path="/sms/twilio/status")[0] == 200
