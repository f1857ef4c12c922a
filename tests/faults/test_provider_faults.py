"""Twilio failing: 5xx, 429 and timeouts are retried on the backoff schedule, then the
message is FAILED with the reason visible where the console lists the outbox.

Twilio is a real HTTP server on loopback (the fake); the twilio client, the provider, the
sending job and the outbox are the production ones.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import redis
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from storage.db import utcnow
from storage.models import OutboxStatus
from storage.users import create_user
from tests.faults.conftest import FakeTwilio, outbox_rows, queue_alert
from workers import queues
from workers.context import WorkerContext
from workers.notify import BACKOFF, MAX_ATTEMPTS, send_sms

PASSWORD = "correct horse battery staple"


def test_5xx_429_and_timeouts_back_off_then_fail_visibly(
    app_client: TestClient,
    twilio_ctx: WorkerContext,
    fake_twilio: FakeTwilio,
    db: sessionmaker[Session],
    redis_client: redis.Redis,
) -> None:
    """Each failed attempt puts the row back in QUEUED for the next step of the schedule
    (30 s, 2 min, 10 min, 30 min) and schedules its job in RQ for then; the fifth failure
    is final: FAILED, the reason kept, nothing scheduled any more."""
    message_id = queue_alert(twilio_ctx)
    fake_twilio.script = [500, 429, "hold", 503, 502]
    at = utcnow()
    scheduled = queues.queue(queues.SMS, connection=redis_client).scheduled_job_registry
    expected_errors = [
        "twilio http 500 error 20500",
        "twilio http 429 error 20429",
        "twilio ReadTimeout",
        "twilio http 503 error 20500",
    ]
    for attempt, (wait, error) in enumerate(zip(BACKOFF, expected_errors, strict=True), 1):
        assert send_sms(message_id, now=at) == "retry"
        [row] = outbox_rows(db)
        assert (row.status, row.attempts, row.last_error) == (OutboxStatus.QUEUED, attempt, error)
        assert row.next_attempt_at == at + wait
        assert send_sms(message_id, now=at + wait - timedelta(seconds=1)) == "not due"
        assert scheduled.count == attempt  # the retry job, due at next_attempt_at
        at = row.next_attempt_at
    assert send_sms(message_id, now=at) == "failed"
    assert send_sms(message_id, now=at + timedelta(days=1)) == "not due"
    assert fake_twilio.requests == MAX_ATTEMPTS
    assert fake_twilio.accepted == []

    failed = api_outbox(app_client, db, status="failed")
    assert failed["counts"]["failed"] == failed["total"] == 1
    [item] = failed["items"]
    assert (item["attempts"], item["last_error"]) == (MAX_ATTEMPTS, "twilio http 502 error 20500")


def api_outbox(client: TestClient, db: sessionmaker[Session], **query: str) -> dict[str, Any]:
    """The outbox as the admin API lists it (what the console's outbox page shows)."""
    with db.begin() as session:
        create_user(session=session, username="ops", password=PASSWORD, role="admin", now=utcnow())
    token = client.post("/api/v1/auth/token", data={"username": "ops", "password": PASSWORD})
    assert token.status_code == 200, token.text
    bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
    response = client.get("/api/v1/outbox", params=query, headers=bearer)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def test_a_message_that_failed_on_a_5xx_is_sent_once_twilio_recovers(
    twilio_ctx: WorkerContext, fake_twilio: FakeTwilio, db: sessionmaker[Session]
) -> None:
    message_id = queue_alert(twilio_ctx)
    fake_twilio.script = [503]
    at = utcnow()
    assert send_sms(message_id, now=at) == "retry"
    assert send_sms(message_id, now=at + BACKOFF[0]) == "sent"
    assert send_sms(message_id, now=at + BACKOFF[1]) == "not due"
    [row] = outbox_rows(db)
    [accepted] = fake_twilio.accepted
    assert (row.status, row.attempts, row.provider_id) == (OutboxStatus.SENT, 2, accepted["sid"])
    assert row.last_error is None
