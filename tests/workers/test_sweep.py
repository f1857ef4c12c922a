"""The sweep picks up SMS whose job never ran or whose worker died mid-send, and the
schedule registers the sweep and the digest check in one place."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import redis

from storage import outbox
from storage.models import RecipientKind
from storage.settings import Settings
from tests.workers.conftest import NOW, console_lines, outbox_rows
from workers import queues
from workers.context import WorkerContext
from workers.digests import send_digests
from workers.retention import purge_closed_cases
from workers.schedule import DIGEST_CHECK_SECONDS, SIGNAL_SWEEP_SECONDS, build_scheduler
from workers.signals import sweep_signals
from workers.sweep import sweep

MEMBER = "+243810000011"


def queued(ctx: WorkerContext) -> int:
    with ctx.sessions.begin() as session:
        message = outbox.queue_sms(
            session=session,
            crypto=ctx.crypto,
            dedupe_key="lost:1",
            to_e164=MEMBER,
            body="hello",
            language="en",
            kind="alert",
            recipient_kind=RecipientKind.MEMBER,
            now=NOW,
        )
        assert message is not None
        return message.id


def test_an_sms_whose_job_was_lost_is_sent_by_the_sweep(
    ctx: WorkerContext, run_jobs: Callable[[], None], settings: Settings
) -> None:
    queued(ctx)
    assert sweep(now=NOW + timedelta(seconds=10))["resent"] == 0  # its job may still be queued
    assert sweep(now=NOW + timedelta(minutes=1))["resent"] == 1
    run_jobs()
    assert [line["to"] for line in console_lines(settings.console_outbox)] == [MEMBER]
    assert sweep(now=NOW + timedelta(minutes=2))["resent"] == 0


def test_an_sms_stuck_in_sending_is_sent_again(
    ctx: WorkerContext, run_jobs: Callable[[], None], settings: Settings
) -> None:
    message_id = queued(ctx)
    with ctx.sessions.begin() as session:  # a worker claimed it and died
        outbox.claim_for_sending(session=session, message_id=message_id, now=NOW)
    assert sweep(now=NOW + timedelta(minutes=5))["resent"] == 0
    assert sweep(now=NOW + outbox.STUCK_AFTER + timedelta(minutes=1))["resent"] == 1
    run_jobs()
    [row] = outbox_rows(ctx)
    assert (row.status, row.attempts) == ("delivered", 2)


def test_the_schedule_registers_the_sweep_and_the_digests(
    settings: Settings, redis_client: redis.Redis
) -> None:
    scheduler = build_scheduler(settings=settings, connection=redis_client)
    jobs = {(job.func, job.queue_name, job.interval) for job in scheduler.get_jobs()}
    assert jobs == {
        (sweep, queues.MAINTENANCE, settings.sauti_sweep_interval),
        (send_digests, queues.MAINTENANCE, DIGEST_CHECK_SECONDS),
        (purge_closed_cases, queues.MAINTENANCE, None),
        (sweep_signals, queues.MAINTENANCE, SIGNAL_SWEEP_SECONDS),
    }


def test_the_scheduled_jobs_run_on_a_worker(
    ctx: WorkerContext, run_jobs: Callable[[], None], redis_client: redis.Redis
) -> None:
    scheduler = build_scheduler(settings=ctx.settings, connection=redis_client)
    for job in scheduler.get_jobs():
        job.enqueue(redis_client)
    run_jobs()
    failed = queues.queue(queues.MAINTENANCE, connection=redis_client).failed_job_registry
    assert failed.get_job_ids() == []
