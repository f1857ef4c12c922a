"""The periodic sweep: escalate overdue cases and cases with a missed action, remind
committees of actions due tomorrow, enqueue again any work whose job never ran
(a report left unrouted, an outbox message due or stuck, a recording still to fetch from
its provider), and alert the committees of
information added to their cases."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from storage import cases, outbox
from storage.db import utcnow
from workers import context, queues
from workers.actions import escalate_missed_actions, remind_due_actions
from workers.escalation import escalate_overdue
from workers.information import alert_added_information
from workers.notify import enqueue_sends
from workers.recordings import enqueue_due
from workers.routing import route_report

log = logging.getLogger(__name__)

# Work younger than this most likely has its job still in the queue.
GRACE = timedelta(seconds=30)
BATCH = 500


def requeue_unrouted(*, now: datetime) -> int:
    """Enqueue routing again for reports committed but never routed."""
    ctx = context.current()
    with ctx.sessions() as session:
        ids = cases.unrouted_cases(session=session, older_than=now - GRACE, limit=BATCH)
    for case_id in ids:
        queues.enqueue(queues.ROUTING, route_report, case_id, connection=ctx.redis)
    return len(ids)


def resend_due(*, now: datetime) -> int:
    """Enqueue sending again for outbox rows due for a (re)try, or stuck in sending."""
    ctx = context.current()
    with ctx.sessions() as session:
        ids = outbox.due_messages(session=session, now=now - GRACE, limit=BATCH)
    enqueue_sends(ids, connection=ctx.redis)
    return len(ids)


def sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Run every part of the sweep; return how many items each part handled."""
    at = now or utcnow()
    done = {
        "unrouted": requeue_unrouted(now=at),
        "escalated": escalate_overdue(now=at),
        "actions_missed": escalate_missed_actions(now=at),
        "actions_reminded": remind_due_actions(now=at),
        "informed": alert_added_information(now=at),
        "resent": resend_due(now=at),
        "recordings": enqueue_due(now=at - GRACE, limit=BATCH),
    }
    if any(done.values()):
        log.info("sweep: %s", ", ".join(f"{name} {count}" for name, count in done.items()))
    return done
