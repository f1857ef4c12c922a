"""Liveness, readiness and metrics."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest
from rq import Queue
from sqlalchemy import func, select, text

from gateway.deps import RuntimeDep
from gateway.runtime import Runtime
from storage.db import utcnow
from storage.inbox import overdue_assignments
from storage.models import Case, OutboxMessage, OutboxStatus, Status
from workers import queues

log = logging.getLogger(__name__)
router = APIRouter()
UNROUTED_AFTER = timedelta(minutes=2)


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """Say the process is alive."""
    return {"status": "ok"}


def _database_ok(runtime: Runtime) -> bool:
    try:
        with runtime.sessions() as session:
            session.execute(text("SELECT 1"))
    except Exception as exc:
        log.warning("readiness: database unavailable: %s", type(exc).__name__)
        return False
    return True


async def _redis_ok(runtime: Runtime) -> bool:
    try:
        return bool(await asyncio.wait_for(runtime.aredis.ping(), timeout=2))
    except Exception as exc:
        log.warning("readiness: redis unavailable: %s", type(exc).__name__)
        return False


@router.get("/readyz")
async def readyz(runtime: RuntimeDep) -> JSONResponse:
    """Check the database and Redis answer."""
    database = await asyncio.to_thread(_database_ok, runtime)
    redis_ok = await _redis_ok(runtime)
    ready = database and redis_ok
    return JSONResponse(
        {"status": "ready" if ready else "unavailable", "database": database, "redis": redis_ok},
        status_code=200 if ready else 503,
    )


@dataclass(frozen=True, slots=True)
class ServiceFigures:
    """What operators alert on, read at each scrape (see docs/deploy.md)."""

    outbox: dict[str, int]
    unrouted: int
    overdue: int


def _service_figures(runtime: Runtime) -> ServiceFigures:
    now = utcnow()
    with runtime.sessions() as session:
        outbox = {
            str(status): int(count)
            for status, count in session.execute(
                select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
            )
        }
        unrouted = session.scalar(
            select(func.count())
            .select_from(Case)
            .where(
                Case.status == Status.RECEIVED,
                Case.routed_at.is_(None),
                Case.created_at < now - UNROUTED_AFTER,
            )
        )
        overdue = len(overdue_assignments(session=session, now=now))
    return ServiceFigures(outbox=outbox, unrouted=int(unrouted or 0), overdue=overdue)


async def _service_exposition(runtime: Runtime) -> bytes:
    """Gauges of queues, outbox, unrouted and overdue cases; empty when they cannot be read
    (the scrape still gets the process's own counters)."""
    registry = CollectorRegistry()
    try:
        depths = [
            await runtime.aredis.llen(Queue.redis_queue_namespace_prefix + name)
            for name in queues.ALL
        ]
        figures = await runtime.db(_service_figures, runtime)
    except Exception as exc:
        log.warning("metrics: service figures unavailable: %s", type(exc).__name__)
        return b""
    jobs = Gauge("sauti_queue_jobs", "Jobs waiting in a queue", ["queue"], registry=registry)
    for name, depth in zip(queues.ALL, depths, strict=True):
        jobs.labels(queue=name).set(depth)
    outbox = Gauge("sauti_outbox_messages", "Outbound SMS by status", ["status"], registry=registry)
    for status in OutboxStatus:
        outbox.labels(status=status.value).set(figures.outbox.get(status.value, 0))
    Gauge(
        "sauti_cases_unrouted",
        "Reports received more than two minutes ago and not routed",
        registry=registry,
    ).set(figures.unrouted)
    Gauge(
        "sauti_cases_overdue",
        "Open cases whose committee let the acknowledgement deadline pass",
        registry=registry,
    ).set(figures.overdue)
    return generate_latest(registry)


@router.get("/metrics")
async def metrics(runtime: RuntimeDep) -> Response:
    """Expose counters, latency histograms and the service gauges (Prometheus text)."""
    body = runtime.metrics.exposition() + await _service_exposition(runtime)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
