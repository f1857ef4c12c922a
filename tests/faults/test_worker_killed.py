"""A worker killed in the middle of sending an SMS: the job runs again and the message goes
out once.

The worker is a real `sauti worker` process sending through Twilio (its HTTP layer pointed
at a loopback fake). It is killed with SIGKILL while Twilio's API holds its request, so the
outbox row stays in SENDING and RQ still believes the job is running.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import redis
from rq.job import Job, JobStatus
from rq.registry import StartedJobRegistry
from rq.scheduler import RQScheduler
from sqlalchemy.orm import Session, sessionmaker

from gateway.channels.registry import senders
from storage import outbox
from storage.keys import load_crypto
from storage.models import OutboxMessage, OutboxStatus, RecipientKind
from storage.settings import Settings
from tests.faults.conftest import FakeTwilio, RedisServer, Worker, outbox_rows, wait_for
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
    context.use(context.build(settings, senders=senders(settings)))
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


def test_sigterm_stops_an_idle_worker_and_the_scheduler_and_neither_starts_again(
    start_worker: Callable[[], Worker], start_scheduler: Callable[[], Worker]
) -> None:
    """The restart after a lost Redis must not swallow a stop: SIGTERM ends an idle worker
    (RQ then returns from its loop just as after an error), the scheduler process it
    forks, and the scheduler, each with status 0."""
    worker = start_worker()  # alone: no scheduler, so nothing to do
    wait_for(lambda: "Listening on" in worker.log.read_text(), timeout=30, what="the worker")
    stop(worker)
    scheduler = start_scheduler()
    wait_for(lambda: "starting..." in scheduler.log.read_text(), timeout=30, what="cron")
    stop(scheduler)


def test_sigterm_while_redis_is_away_stops_the_worker_and_the_scheduler(
    redis_server: RedisServer,
    start_worker: Callable[[], Worker],
    start_scheduler: Callable[[], Worker],
) -> None:
    """Without Redis, RQ meets an error on its way out after a stop (it tells Redis the
    worker is gone); that error must not be taken for a reason to start again."""
    worker, scheduler = start_worker(), start_scheduler()
    wait_for(lambda: "Listening on" in worker.log.read_text(), timeout=30, what="the worker")
    wait_for(lambda: "starting..." in scheduler.log.read_text(), timeout=30, what="cron")
    redis_server.stop()
    wait_for(
        lambda: "scheduler lost Redis" in scheduler.log.read_text(),
        timeout=30,
        what="the scheduler to lose Redis",
    )
    for process in (worker, scheduler):
        stop(process, restarted_before=True)


def stop(process: Worker, *, restarted_before: bool = False) -> None:
    """SIGTERM, then the process must end with status 0 (a restart loop would not end),
    and without a restart at all when Redis was there."""
    os.killpg(process.process.pid, signal.SIGTERM)
    # A restart loop never ends; an orderly stop on a busy 2-core machine took over 20 s.
    assert process.process.wait(timeout=60) == 0, process.log.read_text()
    if not restarted_before:
        assert "starting again" not in process.log.read_text()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the forked scheduler may take a moment to go
        try:
            os.killpg(process.process.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    left = _group_members(process.process.pid)
    raise AssertionError(
        f"something of process group {process.process.pid} is still running:\n{left}\n"
        + process.log.read_text()
    )


def _group_members(pgid: int) -> str:
    """pid, state and command line of each process in the group, from /proc."""
    lines = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid:
                command = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                lines.append(f"{stat.parent.name} {fields[0]} {command}")
    return "\n".join(lines)
