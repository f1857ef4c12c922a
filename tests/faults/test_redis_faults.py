"""Redis stopped in the middle of sessions and of a submission, then started again.

Redis holds the conversation between hops and the job queues; the database holds every
report. While Redis is away a USSD caller gets an `END` apology (Africa's Talking shows a
network error for any 4xx or 5xx), an SMS is refused with a 503, and a report committed
just before Redis went away is found by the sweep and routed once Redis is back.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from rq import Queue
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage.casenumber import display
from storage.db import utcnow
from storage.models import Case, OutboxMessage
from tests.conftest import AT_TOKEN, TWILIO_TOKEN
from tests.faults.conftest import RedisServer, Worker, wait_for
from tests.gateway.conftest import SmsPhone, UssdPhone
from workers import queues
from workers.sweep import sweep

NUMBER = "+243812345678"
APOLOGY = "END Sorry, the service is busy"


@pytest.fixture
def phone(app_client: TestClient) -> UssdPhone:
    return UssdPhone(client=app_client, number=NUMBER, token=AT_TOKEN)


@pytest.fixture
def sms(app_client: TestClient) -> SmsPhone:
    return SmsPhone(
        client=app_client,
        number="+243815550001",
        token=TWILIO_TOKEN,
        public_url="https://sauti.example.org",
    )


def fill_report(phone: UssdPhone) -> None:
    """Dial and answer every question of a report, up to its summary."""
    phone.dial()
    phone.choose("English")
    for label in ("Report a problem", "Accident", "North Kivu", "Walikale", "Bisie", "Today"):
        phone.choose(label)
    phone.choose("Yes")
    phone.press("The shaft wall fell on two diggers")
    phone.choose("No")
    assert "Your report:" in phone.last


def cases_in(db: sessionmaker[Session]) -> list[Case]:
    with db() as session:
        return list(session.scalars(select(Case).order_by(Case.id)))


def test_a_hop_while_redis_is_down_gets_an_end_apology_and_new_sessions_work_after(
    phone: UssdPhone, sms: SmsPhone, redis_server: RedisServer
) -> None:
    """USSD: 200 with an `END` apology, never a 5xx. SMS: 503 and nothing kept.

    Twilio does not retry an inbound SMS webhook on a 5xx by default: it calls the
    number's Fallback URL if one is set, and retries only when the webhook URL carries a
    retry policy (`#rc=3&rp=5xx`). The service still answers 503 rather than a TwiML
    apology: a 5xx is the only answer Twilio can act on, and the claim on the MessageSid is
    not kept, so a retry is handled afresh."""
    phone.dial()
    phone.choose("English")
    redis_server.stop()
    ready = phone.client.get("/readyz")
    assert (ready.status_code, ready.json()["redis"]) == (503, False)
    assert phone.press("1").startswith(APOLOGY)
    status, _ = sms.post_form(sms.form("REPORT"))
    assert status == 503
    redis_server.start()
    assert "Report a problem" in phone.dial()  # the language chosen before is remembered
    assert phone.choose("Report a problem").startswith("CON What happened?")
    assert sms.send("HELP")
    assert phone.client.get("/readyz").status_code == 200


def test_a_hop_while_redis_hangs_gets_an_end_apology_not_a_hung_request(
    phone: UssdPhone, redis_server: RedisServer
) -> None:
    """A Redis that takes connections but never answers (here: stopped with SIGSTOP) is
    given up on after REDIS_TIMEOUT_SECONDS, well within the USSD gateway's deadline."""
    phone.dial()
    server = redis_server.server
    assert server is not None
    os.kill(server.process.pid, signal.SIGSTOP)
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            hop = pool.submit(phone.press, "1")
            assert hop.result(timeout=30).startswith(APOLOGY)
    finally:
        os.kill(server.process.pid, signal.SIGCONT)
    assert phone.dial().startswith("CON ")


def send_as_redis_stops(app_client: TestClient, phone: UssdPhone, server: RedisServer) -> None:
    """Fill a report and press Send; Redis stops right after the report's commit."""
    fill_report(phone)
    runtime = app_client.app.state.runtime  # type: ignore[attr-defined]
    real_db: Callable[..., Awaitable[Any]] = runtime.transaction

    async def db_then_outage(func: Callable[..., Any], /, *args: Any) -> Any:
        result = await real_db(func, *args)
        if getattr(func, "__name__", "") == "_commit_report":
            server.stop()
        return result

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(runtime, "transaction", db_then_outage)
        assert phone.choose("Send").startswith(APOLOGY)


def test_a_report_committed_as_redis_goes_away_is_routed_by_the_sweep(
    app_client: TestClient,
    phone: UssdPhone,
    redis_server: RedisServer,
    db: sessionmaker[Session],
    run_jobs: Callable[[], None],
) -> None:
    """Redis stops between the report's commit and its routing enqueue: the caller gets the
    apology, the report is kept, the next dial after the restart works, and the sweep
    routes the report to its committee (once: a second sweep finds nothing left)."""
    send_as_redis_stops(app_client, phone, redis_server)
    runtime = app_client.app.state.runtime  # type: ignore[attr-defined]
    [case] = cases_in(db)
    assert case.routing_requested_at is None

    redis_server.start()
    assert phone.dial().startswith("CON ")
    assert len(cases_in(db)) == 1
    assert Queue(queues.ROUTING, connection=runtime.redis).count == 0

    assert sweep(now=utcnow() + timedelta(minutes=1))["unrouted"] == 1
    run_jobs()
    with db() as session:
        alerts = session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.case_id == case.id, OutboxMessage.kind == "alert"
            )
        ).all()
    assert alerts
    [routed] = cases_in(db)
    assert routed.routing_requested_at is not None
    assert sweep(now=utcnow() + timedelta(minutes=2))["unrouted"] == 0


def test_a_report_filed_as_redis_restarts_is_filed_once_when_sent_again(
    app_client: TestClient,
    phone: UssdPhone,
    redis_server: RedisServer,
    db: sessionmaker[Session],
) -> None:
    """Redis stops right after the report's commit and comes back with its data, so the
    caller, who saw only the apology, is offered the report as unfinished. Sending it again
    files nothing new: the report is filed under its draft's name and the caller gets the
    number of the report already filed."""
    send_as_redis_stops(app_client, phone, redis_server)
    [filed] = cases_in(db)
    redis_server.start()  # with the data it saved on shutdown
    assert "unfinished report" in phone.dial()
    phone.choose("Continue")
    while "Send" not in phone.last:
        phone.press("1")
    answer = phone.choose("Send")
    assert display(filed.number) in answer
    assert [case.number for case in cases_in(db)] == [filed.number]


def test_the_scheduler_carries_on_after_redis_restarts(
    redis_server: RedisServer, redis_client: redis.Redis, start_scheduler: Callable[[], Worker]
) -> None:
    maintenance = Queue(queues.MAINTENANCE, connection=redis_client)
    scheduler = start_scheduler()
    try:
        wait_for(lambda: maintenance.count, timeout=30, what="a sweep before the restart")
        redis_server.stop()
        wait_for(
            lambda: "scheduler lost Redis" in scheduler.log.read_text(),
            timeout=30,
            what="the scheduler to notice",
        )
        redis_server.start()
        maintenance.empty()
        wait_for(lambda: maintenance.count, timeout=30, what="a sweep after the restart")
    finally:
        print(scheduler.log.read_text())  # shown by pytest when the test fails
    assert scheduler.process.poll() is None
