"""Route a committed report to the committees that cover its place, group it with the
reports of the same event (storage/incidents.py), and alert them; give a reporter who
asked for SMS news their case number by SMS."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from storage import cases, incidents
from storage.db import utcnow
from storage.models import Case
from storage.routing import route_case
from workers import context, queues, signals
from workers.alerts import queue_alerts
from workers.notify import enqueue_sends
from workers.reporters import queue_confirmation

log = logging.getLogger(__name__)


def confirm_report(report_id: int, *, now: datetime | None = None) -> int:
    """Queue and enqueue the SMS with the case number, when the reporter asked for SMS
    news; keyed by the case, so a second run sends nothing. Return how many were queued."""
    ctx = context.current()
    at = now or utcnow()
    with ctx.sessions.begin() as session:
        case = session.get(Case, report_id)
        to_send = (
            []
            if case is None
            else queue_confirmation(
                session=session, crypto=ctx.crypto, catalogs=ctx.catalogs, case=case, now=at
            )
        )
    enqueue_sends(to_send, connection=ctx.redis)
    return len(to_send)


def route_report(report_id: int, *, now: datetime | None = None) -> bool:
    """Give the reporter their case number by SMS (`confirm_report`, its own transaction,
    so a routing problem cannot hold it back); then route the report, group it into its
    incident and queue its alerts in one transaction, then enqueue the sending.

    The alerts commit with the routing or not at all, so only the run that routed the report
    queues them: a second run changes nothing. Return whether this run routed the report.
    """
    ctx = context.current()
    at = now or utcnow()
    confirmed = confirm_report(report_id, now=at)
    with ctx.sessions.begin() as session:
        cases.request_routing(session=session, case_id=report_id, now=at)
        result = route_case(session=session, case_id=report_id, now=at)
        case = session.get(Case, report_id)
        to_send: list[int] = []
        if case is not None and result.changed:
            window = timedelta(hours=ctx.settings.sauti_incident_window_hours)
            grouped = incidents.group_case(session=session, case=case, now=at, window=window)
            to_send = queue_alerts(
                session=session,
                crypto=ctx.crypto,
                catalogs=ctx.catalogs,
                case=case,
                committee_ids=[a.committee_id for a in result.assignments],
                now=at,
                incident=None if grouped is None else grouped.incident,
            )
    enqueue_sends(to_send, connection=ctx.redis)
    queues.enqueue(queues.ROUTING, signals.check_report, report_id, connection=ctx.redis)
    log.info(
        "route_report case_id=%s routed=%s committees=%d alerts=%d confirmation=%d",
        report_id,
        result.changed,
        len(result.assignments),
        len(to_send),
        confirmed,
    )
    return result.changed
