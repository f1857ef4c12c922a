"""Duplicate, late and out-of-order webhooks: the same USSD hop or MessageSid twice has one
effect and gets the same answer, and Twilio's status callbacks only ever move an outbox
row forward, whatever order they come in."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from fastapi.testclient import TestClient
from rq import Queue
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage.db import utcnow
from storage.models import Case, OutboxStatus
from tests.conftest import AT_TOKEN, TWILIO_TOKEN
from tests.faults.conftest import FakeTwilio, outbox_rows, queue_alert
from tests.faults.test_redis_faults import fill_report
from tests.gateway.conftest import SmsPhone, UssdPhone, option, reply_text
from workers import queues
from workers.context import WorkerContext
from workers.notify import send_sms


@pytest.fixture
def phone(app_client: TestClient) -> UssdPhone:
    return UssdPhone(client=app_client, number="+243812345678", token=AT_TOKEN)


@pytest.fixture
def twilio(app_client: TestClient) -> SmsPhone:
    return SmsPhone(app_client, "+250788123456", TWILIO_TOKEN, "https://sauti.example.org")


def cases_in(db: sessionmaker[Session]) -> list[Case]:
    with db() as session:
        return list(session.scalars(select(Case)))


def test_a_repeated_send_hop_and_a_late_earlier_hop_have_one_effect(
    phone: UssdPhone, db: sessionmaker[Session], redis_client: redis.Redis
) -> None:
    fill_report(phone)
    summary_text = "*".join(phone.inputs)
    summary = phone.last
    sent = phone.choose("Send")
    assert sent.startswith("END Report sent.")
    assert phone.post("*".join(phone.inputs)) == sent  # the gateway's retry
    assert phone.post(summary_text) == summary  # a late repeat of the hop before
    assert len(cases_in(db)) == 1
    assert Queue(queues.ROUTING, connection=redis_client).count == 1


def sms_report_up_to_send(twilio: SmsPhone) -> str:
    """Answer a report by SMS up to its summary; return the summary."""
    screen = twilio.send("hello")
    twilio.send(option(screen, "English"))
    screen = twilio.send("REPORT")
    for label in ("Illegal tax", "Northern", "Rulindo", "Nyakabingo", "This month", "No"):
        screen = twilio.send(option(screen, label))
    screen = twilio.send("Soldiers take 2000 francs at the road block")
    screen = twilio.send(option(screen, "Yes"))
    assert screen.startswith("Your report:")
    return screen


def test_the_same_message_sid_delivered_twice_at_once_files_one_report(
    twilio: SmsPhone, db: sessionmaker[Session]
) -> None:
    """Twilio retries a message whose answer was slow while the first delivery is still
    being handled: the repeat waits for the first delivery's reply and gets the same one."""
    summary = sms_report_up_to_send(twilio)
    form = twilio.form(option(summary, "Send"))
    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(lambda _: twilio.post_form(form), range(2)))
    assert [status for status, _ in answers] == [200, 200]
    first, second = (reply_text(body) for _, body in answers)
    assert first == second
    assert first.startswith("Report sent.")
    assert len(cases_in(db)) == 1
    status, body = twilio.post_form(form)  # and once more, late
    assert (status, reply_text(body)) == (200, first)
    assert len(cases_in(db)) == 1


def status_callback(twilio: SmsPhone, sid: str, status: str) -> int:
    form = {"MessageSid": sid, "MessageStatus": status, "AccountSid": "AC" + "0" * 32}
    code, _ = twilio.post_form(form, path="/sms/twilio/status")
    return code


def test_status_callbacks_out_of_order_late_repeated_or_unknown(
    twilio: SmsPhone,
    twilio_ctx: WorkerContext,
    fake_twilio: FakeTwilio,
    db: sessionmaker[Session],
) -> None:
    """A message sent through Twilio: its callbacks arrive delivered first, then sent
    (late), delivered again and undelivered (a stray): the row stays DELIVERED. Callbacks
    for a message nobody knows are answered 200 and change nothing."""
    message_id = queue_alert(twilio_ctx)
    assert send_sms(message_id, now=utcnow()) == "sent"
    [accepted] = fake_twilio.accepted
    sid = accepted["sid"]
    for status in ("delivered", "sent", "delivered", "undelivered", "queued", "bogus"):
        assert status_callback(twilio, sid, status) == 200
        [row] = outbox_rows(db)
        assert row.status == OutboxStatus.DELIVERED
    assert status_callback(twilio, "SM" + "f" * 32, "failed") == 200
    assert status_callback(twilio, "", "delivered") == 400  # no id: not shaped as Twilio sends
    [row] = outbox_rows(db)
    assert (row.status, row.provider_id, row.last_error) == (OutboxStatus.DELIVERED, sid, None)
