"""A worker killed in the middle of sending an SMS: the job runs again and the message goes
out once.

The worker is a real `sauti worker` process sending through Twilio (its HTTP layer pointed
at a loopback fake). It is killed with SIGKILL while Twilio's API holds its request, so the
outbox row stays in SENDING and RQ still believes the job is running.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import redis
from rq.job import Job, JobStatus
from rq.registry import StartedJobRegistry
from rq.scheduler import RQScheduler
from sqlalchemy.orm import Session, sessionmaker

from gateway.settings import Settings
from storage import outbox
from storage.keys import load_crypto
from storage.models import OutboxMessage, OutboxStatus, RecipientKind
from tests.faults.conftest import FakeTwilio, Worker, outbox_rows, wait_for
from workers import context, queues
from workers.notify import send_sms
from workers.sweep import sweep

MEMBER = "+243810000011"


def queue_alert(settings: Settings, db: sessionmaker[Session]) -> int:
    with db.begin() as session:
        message = outbox.queue_sms(
            session=session,
            crypto=load_crypto(settings),
            dedupe_key="fault:kill",
            to_e164=MEMBER,
            body="Sauti case 482-177-3506: an urgent report in your area",
            language="en",
            kind="alert",
            recipient_kind=RecipientKind.MEMBER,
            now=datetime.now(UTC),
        )
        assert message is not None
        return message.id


def backdate(db: sessionmaker[Session], message_id: int, by: timedelta) -> None:
    """Move the row's last change back in time: what waiting `by` would do."""
    with db.begin() as session:
        row = session.get(OutboxMessage, message_id)
        assert row is not None
        row.updated_at = row.updated_at - by


def test_a_worker_killed_mid_send_has_its_job_run_again_and_sends_once(
    settings: Settings,
    db: sessionmaker[Session],
    redis_client: redis.Redis,
    fake_twilio: FakeTwilio,
    start_worker: Callable[[], Worker],
) -> None:
    """Killed while Twilio holds the request: RQ retries the abandoned job once its
    heartbeat lapses, and the sweep hands out the row stuck in SENDING after
    `STUCK_AFTER`. Both runs reach the row; the claim lets exactly one of them send."""
    message_id = queue_alert(settings, db)
    fake_twilio.script = ["hold"]
    queues.enqueue(queues.SMS, send_sms, message_id, connection=redis_client, job_id="kill-me")
    first = start_worker()
    wait_for(lambda: fake_twilio.requests == 1, timeout=60, what="the send to reach Twilio")
    first.kill()
    [row] = outbox_rows(db)
    assert (row.status, row.attempts) == (OutboxStatus.SENDING, 1)

    # What time does: the dead worker's heartbeat and scheduler lock lapse (RQ retries the
    # job), and the row has been stuck in SENDING long enough for the sweep to hand it out.
    registry = StartedJobRegistry(queues.SMS, connection=redis_client)
    assert "kill-me" in registry.get_job_ids(cleanup=False)
    registry.cleanup(timestamp=datetime.now(UTC).timestamp() + 24 * 3600)
    assert Job.fetch("kill-me", connection=redis_client).get_status() in {
        JobStatus.SCHEDULED,
        JobStatus.QUEUED,
    }
    for name in queues.ALL:  # the dead worker's scheduler lock expires
        redis_client.delete(RQScheduler.get_locking_key(name))
    backdate(db, message_id, outbox.STUCK_AFTER + timedelta(minutes=1))
    context.use(context.build(settings))
    try:
        assert sweep()["resent"] == 1
    finally:
        context.use(None)

    second = start_worker()
    wait_for(
        lambda: Job.fetch("kill-me", connection=redis_client).get_status() == JobStatus.FINISHED,
        timeout=60,
        what="the abandoned job to run again",
    )
    wait_for(lambda: redis_client.llen("rq:queue:" + queues.SMS) == 0, timeout=30, what="queue")
    second.stop()
    [row] = outbox_rows(db)
    [accepted] = fake_twilio.accepted
    assert (row.status, row.attempts, row.provider_id) == (
        OutboxStatus.SENT,
        2,
        accepted["sid"],
    )
    assert fake_twilio.requests == 2  # the held one, then the one Twilio accepted
