"""Timelines told to the reporter, end to end by USSD with the demo committees: the END
screen and the confirmation SMS say within how long the committee answers; the status
check says the due date while the case waits, and who a late case was passed up to."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from storage import cases as store
from storage.models import Case
from storage.settings import Settings
from tests.conftest import AT_TOKEN
from tests.gateway.conftest import UssdPhone, outbox_texts
from tests.gateway.test_ussd import case_number_in, cases_in

NUMBER = "+243812345678"


@pytest.fixture
def phone(app_client: TestClient) -> UssdPhone:
    return UssdPhone(client=app_client, number=NUMBER, token=AT_TOKEN)


def report(phone: UssdPhone, category: str, *, danger: str, sms: str = "No") -> str:
    """File a report at Bisie (Walikale's committee answers it); return the END screen."""
    screen = phone.dial()
    if "English" in screen:
        phone.choose("English")
    phone.choose("Report a problem")
    phone.choose(category)
    phone.choose("North Kivu")
    phone.choose("Walikale")
    phone.choose("Bisie")
    phone.choose("Today")
    phone.choose(danger)
    phone.press("The pit")
    phone.choose(sms)
    return phone.choose("Send")


def status(phone: UssdPhone, number: str) -> str:
    phone.dial()
    phone.choose("Check a report")
    return phone.press(number.replace("-", ""))


def test_the_end_screen_says_when_the_committee_answers(
    phone: UssdPhone, db: sessionmaker[Session]
) -> None:
    # Danger now: critical, and Walikale answers critical cases within 2 hours.
    final = report(phone, "Accident", danger="Yes")
    assert final.startswith("END Report sent.")
    assert final.endswith("\nThe committee answers within 2 hours.")
    assert len(final) <= 160
    # An illegal tax: medium, 3 days.
    final = report(phone, "Illegal tax", danger="No")
    assert final.endswith("\nThe committee answers within 3 days.")
    first, second = cases_in(db)
    assert (first.itsci_level, second.itsci_level) == (1, 2)


def test_the_confirmation_sms_says_it_too(
    phone: UssdPhone, settings: Settings, run_jobs: Callable[[], None]
) -> None:
    number = case_number_in(report(phone, "Illegal tax", danger="No", sms="Yes"))
    run_jobs()
    [sms] = outbox_texts(settings, "confirmation")
    body = str(sms["body"])
    assert number in body
    assert "The committee answers within 3 days. To follow your case, send STATUS" in body


def test_the_status_says_the_due_date_then_that_it_was_passed_up(
    phone: UssdPhone, db: sessionmaker[Session], run_jobs: Callable[[], None]
) -> None:
    before = datetime.now(UTC)
    number = case_number_in(report(phone, "Illegal tax", danger="No"))
    run_jobs()  # routed to Walikale's committee
    [case] = cases_in(db)
    assert case.routed_at is not None
    due = (case.routed_at + timedelta(days=3)).astimezone(ZoneInfo("Africa/Lubumbashi"))
    assert case.routed_at >= before
    screen = status(phone, number)
    assert f"\nWaiting, answer due by {due:%d/%m %H:%M}." in screen
    assert "Late" not in screen
    with db.begin() as session:
        found = session.get(Case, case.id)
        assert found is not None
        passed = store.escalate(
            session=session,
            case=found,
            actor="system",
            now=due + timedelta(hours=1),
            reason="overdue",
        )
        assert passed is not None
        name = passed.name
    screen = status(phone, number)
    assert name == "North Kivu provincial stakeholder committee"
    assert f"\nLate: passed up to {name}." in screen
    assert "Waiting" not in screen
    assert len(screen) <= 160
