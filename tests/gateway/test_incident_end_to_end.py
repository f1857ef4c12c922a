"""Issue 15's "done when" for incidents, from the demo data through the real USSD webhook
and the jobs: five people report an accident (a collapse) at Bisie within the hour; the
five reports keep five case numbers and make one incident named after the first; each
focal point of the committees they reach gets exactly one full alert, for the first, and
one short "another report (N)" SMS for each of the four others, N counting up to 5."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from flows import gsm
from storage import incidents
from storage.keys import load_crypto
from storage.models import Case, CommitteeMember, OutboxMessage
from storage.outbox import message_body
from storage.settings import Settings
from tests.conftest import AT_TOKEN
from tests.gateway.conftest import UssdPhone
from tests.gateway.test_ussd import case_number_in

REPORTERS = [f"+24399700{index:04d}" for index in range(5)]


def report_collapse(phone: UssdPhone) -> str:
    """Dial, pick English, report an accident at Bisie today, nobody in danger now, no SMS
    news; return the case number shown on the END screen."""
    screen = phone.dial()
    if "English" in screen:
        phone.choose("English")
    phone.choose("Report a problem")
    phone.choose("Accident")
    phone.choose("North Kivu")
    phone.choose("Walikale")
    phone.choose("Bisie")
    phone.choose("Today")
    phone.choose("No")
    phone.press("The pit at the river collapsed, diggers trapped")
    phone.choose("No")
    assert "Your report:" in phone.last
    final = phone.choose("Send")
    assert final.startswith("END Report sent."), final
    return case_number_in(final).replace("-", "")


def test_five_reports_of_one_collapse_make_one_incident_and_one_full_alert_each(
    app_client: TestClient,
    db: sessionmaker[Session],
    settings: Settings,
    run_jobs: Callable[[], None],
) -> None:
    numbers = []
    for number in REPORTERS:
        numbers.append(report_collapse(UssdPhone(client=app_client, number=number, token=AT_TOKEN)))
        run_jobs()
    assert len(set(numbers)) == 5

    crypto = load_crypto(settings)
    with db() as session:
        cases = {c.number: c for c in session.scalars(select(Case))}
        assert sorted(cases) == sorted(numbers)
        assert {c.severity for c in cases.values()} == {"high"}
        [incident] = {incidents.incident_of(session, c.id) for c in cases.values()} - {None}
        assert incident is not None
        assert incident.number == numbers[0]
        assert [c.number for c in incidents.cases_of(session, incident.id)] == numbers
        rows = list(
            session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.kind.in_(("alert", "incident_report")))
                .order_by(OutboxMessage.id)
            )
        )
        members = {m.id: m.phone for m in session.scalars(select(CommitteeMember))}
        sent = [
            (members[r.member_id], r.kind, message_body(crypto=crypto, message=r)) for r in rows
        ]

    phones = {to for to, _, _ in sent}
    # Walikale's two members and North Kivu's (an accident is high: copied up).
    assert phones == {"+243810000001", "+243810000002", "+243810000101"}
    for phone in phones:
        own = [(kind, body) for to, kind, body in sent if to == phone]
        assert Counter(kind for kind, _ in own) == {"alert": 1, "incident_report": 4}
        shorts = [body for kind, body in own if kind == "incident_report"]
        first = f"{numbers[0][:3]}-{numbers[0][3:6]}-{numbers[0][6:]}"
        for count, (body, number) in enumerate(zip(shorts, numbers[1:], strict=True), start=2):
            assert f"({count})" in body
            assert first in body
            assert body.rstrip(".").endswith(f"{number[:3]}-{number[3:6]}-{number[6:]}")
            assert gsm.segments(body) == 1
