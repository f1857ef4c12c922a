"""The periodic sweep: find work whose job never ran and enqueue it again."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from storage import cases
from workers import context, queues
from workers.routing import route_report

log = logging.getLogger(__name__)

GRACE = timedelta(seconds=30)


def sweep() -> int:
    """Re-enqueue reports that were committed but never taken into routing."""
    ctx = context.current()
    with ctx.sessions() as session:
        ids = cases.unrouted_cases(session=session, older_than=datetime.now(UTC) - GRACE, limit=500)
    for case_id in ids:
        queues.enqueue(queues.ROUTING, route_report, case_id, connection=ctx.redis)
    if ids:
        log.info("sweep re-enqueued %d unrouted reports", len(ids))
    return len(ids)
