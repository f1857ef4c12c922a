"""Liveness, readiness and metrics."""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text

from gateway.deps import RuntimeDep
from gateway.runtime import Runtime

log = logging.getLogger(__name__)
router = APIRouter()


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


@router.get("/metrics")
async def metrics(runtime: RuntimeDep) -> Response:
    """Expose counters and latency histograms in the Prometheus text format."""
    return Response(runtime.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
