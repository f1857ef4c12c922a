"""Information added to a case reaches the focal points of the committees that have it.

Adding information is a hop of the reporting conversation: it commits an `info_added`
event and nothing else. The sweep finds each such event the committees have not been
told of (`cases.unnotified_information`) and runs `alert_information` on it: one
transaction claims the event (`notified_at`) and queues an alert to every active member
of each committee the case is assigned to, then the sending is enqueued. The claim and
the outbox keys make a second run, or two at once, send nothing more.
"""

from __future__ import annotations

import logging
from datetime import datetime

from storage import cases
from storage.assignments import active_assignments
from storage.db import utcnow
from workers import context
from workers.alerts import queue_information_alerts
from workers.notify import enqueue_sends

log = logging.getLogger(__name__)

BATCH = 500


def alert_information(event_id: int, *, now: datetime | None = None) -> bool:
    """Tell the committees of a case that information was added to it (the event
    `event_id`); return False when another run did, or it is no added information."""
    ctx = context.current()
    at = now or utcnow()
    with ctx.sessions.begin() as session:
        event = cases.claim_information_notice(session=session, event_id=event_id, now=at)
        if event is None:
            return False
        case = event.case
        assignments = active_assignments(session=session, case_id=case.id)
        to_send = queue_information_alerts(
            session=session,
            crypto=ctx.crypto,
            catalogs=ctx.catalogs,
            case=case,
            event=event,
            committee_ids=[a.committee_id for a in assignments],
            now=at,
        )
    enqueue_sends(to_send, connection=ctx.redis)
    log.info("information alerts event_id=%s case_id=%s alerts=%d", event_id, case.id, len(to_send))
    return True


def alert_added_information(*, now: datetime | None = None) -> int:
    """The sweep's part: alert every added information not told yet, oldest first, each in
    its own transaction; return how many were told."""
    ctx = context.current()
    at = now or utcnow()
    with ctx.sessions() as session:
        pending = cases.unnotified_information(session=session, limit=BATCH)
    return sum(alert_information(event_id, now=at) for event_id in pending)
