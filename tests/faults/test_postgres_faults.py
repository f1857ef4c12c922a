"""PostgreSQL going away: a throwaway cluster of the test's own is crashed (`pg_ctl stop -m
immediate`) under a running app, and started again.

While it is away a USSD caller gets an `END` screen that says what happened, Twilio gets a
503, /readyz says not ready; a report whose commit the crash interrupts leaves nothing
behind, stays in the caller's draft, and is filed once when the database is back.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from storage.models import Case, CaseEvent, OutboxMessage
from tests.conftest import AT_TOKEN, TWILIO_TOKEN
from tests.faults.conftest import Cluster
from tests.faults.test_redis_faults import APOLOGY, fill_report
from tests.gateway.conftest import SmsPhone, UssdPhone

NOT_SENT = "END Sorry, your report could not be sent now. It is kept: dial again later."


@pytest.fixture
def database_url(cluster: Cluster) -> str:
    return cluster.url


@pytest.fixture
def phone(app_client: TestClient) -> UssdPhone:
    return UssdPhone(client=app_client, number="+243812345678", token=AT_TOKEN)


@pytest.fixture
def sms(app_client: TestClient) -> SmsPhone:
    return SmsPhone(app_client, "+243815550001", TWILIO_TOKEN, "https://sauti.example.org")


def counts(db: sessionmaker[Session]) -> tuple[int, int, int]:
    with db() as session:
        return tuple(  # type: ignore[return-value]
            session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Case, CaseEvent, OutboxMessage)
        )


def test_while_postgres_is_down_callers_get_a_clear_end_and_twilio_a_503(
    app_client: TestClient, phone: UssdPhone, sms: SmsPhone, cluster: Cluster
) -> None:
    """Twilio's inbound SMS and status callbacks get 503: the MessageSid is not kept as
    seen, so a retry (a Fallback URL, or a retry policy on the webhook URL) is taken
    afresh once the database is back."""
    fill_report(phone)
    cluster.crash()
    ready = app_client.get("/readyz")
    assert (ready.status_code, ready.json()) == (
        503,
        {"status": "unavailable", "database": False, "redis": True},
    )
    assert phone.choose("Send") == NOT_SENT
    newcomer = UssdPhone(client=app_client, number="+243819990000", token=AT_TOKEN)
    assert newcomer.dial().startswith(APOLOGY)
    form = sms.form("REPORT")
    assert sms.post_form(form)[0] == 503
    status = {"MessageSid": "SM" + "1" * 32, "MessageStatus": "delivered"}
    assert sms.post_form(status, path="/sms/twilio/status")[0] == 503

    cluster.start()
    assert app_client.get("/readyz").status_code == 200
    code, reply = sms.post_form(form)  # Twilio's retry of the same message
    assert code == 200
    assert "<Message>" in reply
    assert sms.post_form(status, path="/sms/twilio/status")[0] == 200
    assert newcomer.dial().startswith("CON ")


def test_a_crash_inside_the_reports_commit_leaves_nothing_half_written(
    app_client: TestClient,
    phone: UssdPhone,
    cluster: Cluster,
    db: sessionmaker[Session],
) -> None:
    """The database stops after the report's rows are written and before the commit: none
    of them stay, the caller is told the report is kept, and the draft it was kept in is
    offered on the next dial and filed once."""
    fill_report(phone)
    runtime = app_client.app.state.runtime  # type: ignore[attr-defined]
    # The webhooks' transactions run on the asyncio engine's sessions, of the plain class.
    sessions = runtime.sessions if runtime.async_sessions is None else Session
    written: list[str] = []

    def note_insert(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        # The report is filed with Core statements (no ORM flush): watch the SQL itself.
        if statement.lstrip().upper().startswith("INSERT INTO CASES"):
            written.append(statement)

    def crash_before_commit(session: Session) -> None:
        if written:
            cluster.crash()

    event.listen(Engine, "after_cursor_execute", note_insert)
    event.listen(sessions, "before_commit", crash_before_commit)
    try:
        assert phone.choose("Send") == NOT_SENT
    finally:
        event.remove(sessions, "before_commit", crash_before_commit)
        event.remove(Engine, "after_cursor_execute", note_insert)
    assert written, "the report's INSERT was never run"
    cluster.start()
    assert counts(db) == (0, 0, 0)

    assert "unfinished report" in phone.dial()
    phone.choose("Continue")
    assert "Your report:" in phone.last
    assert phone.choose("Send").startswith("END Report sent.")
    cases, _, _ = counts(db)
    assert cases == 1
