"""Route a committed report to the committees that cover its place, and alert them."""

from __future__ import annotations

import logging
from datetime import datetime

from storage import cases
from storage.db import utcnow
from storage.models import Case
from storage.routing import route_case
from workers import context
from workers.alerts import queue_alerts
from workers.notify import enqueue_sends

log = logging.getLogger(__name__)


def route_report(report_id: int, *, now: datetime | None = None) -> bool:
    """Route a report and queue its alerts in one transaction, then enqueue the sending.

    The alerts commit with the routing or not at all, so only the run that routed the report
    queues them: a second run changes nothing. Return whether this run routed the report.
    """
    ctx = context.current()
    at = now or utcnow()
    with ctx.sessions.begin() as session:
        cases.request_routing(session=session, case_id=report_id, now=at)
        result = route_case(session=session, case_id=report_id, now=at)
        case = session.get(Case, report_id)
        to_send: list[int] = []
        if case is not None and result.changed:
            to_send = queue_alerts(
                session=session,
                crypto=ctx.crypto,
                catalogs=ctx.catalogs,
                case=case,
                committee_ids=[a.committee_id for a in result.assignments],
                now=at,
            )
    enqueue_sends(to_send, connection=ctx.redis)
    log.info(
        "route_report case_id=%s routed=%s committees=%d alerts=%d",
        report_id,
        result.changed,
        len(result.assignments),
        len(to_send),
    )
    return result.changed
