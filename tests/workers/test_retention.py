"""The daily retention job, registered on the scheduler, purges on a worker."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import redis
from sqlalchemy import select

from storage import cases
from storage.db import utcnow
from storage.models import AuditEntry, Case
from workers import queues
from workers.context import WorkerContext
from workers.retention import purge_closed_cases
from workers.schedule import RETENTION_CRON, build_scheduler


def _closed(ctx: WorkerContext, make_case: Callable[..., Case], days_ago: int) -> int:
    closed = utcnow() - timedelta(days=days_ago)
    case = make_case(at=closed - timedelta(days=1))
    with ctx.sessions.begin() as session:
        row = session.get_one(Case, case.id)
        cases.close_case(
            session=session,
            crypto=ctx.crypto,
            case=row,
            actor="user:a",
            outcome="unfounded",
            note=None,
            now=closed,
        )
    return case.id


def test_the_daily_job_purges_cases_closed_beyond_the_retention_period(
    ctx: WorkerContext,
    make_case: Callable[..., Case],
    run_jobs: Callable[[], None],
    redis_client: redis.Redis,
) -> None:
    old = _closed(ctx, make_case, days_ago=ctx.settings.sauti_retention_days + 1)
    recent = _closed(ctx, make_case, days_ago=ctx.settings.sauti_retention_days - 1)
    [job] = [
        job
        for job in build_scheduler(settings=ctx.settings, connection=redis_client).get_jobs()
        if job.func is purge_closed_cases
    ]
    assert (job.cron, job.queue_name) == (RETENTION_CRON, queues.MAINTENANCE)

    job.enqueue(redis_client)
    run_jobs()

    with ctx.sessions() as session:
        assert session.get_one(Case, old).description_enc is None
        assert session.get_one(Case, recent).description_enc is not None
        [entry] = session.scalars(select(AuditEntry))
    assert (entry.actor, entry.data["cases"]) == ("system:retention", 1)
    failed = queues.queue(queues.MAINTENANCE, connection=redis_client).failed_job_registry
    assert failed.get_job_ids() == []


def test_the_job_returns_its_counts_and_finds_nothing_the_second_time(
    ctx: WorkerContext, make_case: Callable[..., Case]
) -> None:
    _closed(ctx, make_case, days_ago=1000)

    assert purge_closed_cases() == {"cases": 1, "event_texts": 0, "messages": 0}
    assert purge_closed_cases() == {"cases": 0, "event_texts": 0, "messages": 0}
