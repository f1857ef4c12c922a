"""Escalation: a case nobody acknowledged in time climbs to the committee above (an
appealed case too, when the committee the appeal went to does not acknowledge it in time).

The sweep calls `escalate_overdue`; a focal point's `ESC` calls `escalate_and_alert`.
Either way the case is assigned to the nearest committee above that takes its category
(up to the national one), an `escalated` event is written, and the new committee's
focal points are alerted in the same transaction.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session

from flows.i18n import Catalogs
from storage import cases
from storage.db import utcnow
from storage.inbox import awaits_acknowledgement, overdue_assignments
from storage.models import Case, Committee
from storage.privacy import Crypto
from workers import context
from workers.alerts import queue_alerts
from workers.context import WorkerContext
from workers.notify import enqueue_sends

log = logging.getLogger(__name__)

OVERDUE = "overdue"
REQUESTED = "requested"


def escalate_and_alert(
    *,
    session: Session,
    crypto: Crypto,
    catalogs: Catalogs,
    case: Case,
    actor: str,
    reason: str,
    now: datetime,
) -> tuple[Committee | None, list[int]]:
    """Escalate `case` and queue alerts to the committee it reached.

    Return that committee (None when there is none above, or another escalation won) and
    the ids of the alerts to send once the transaction is committed.
    """
    target = cases.escalate(session=session, case=case, actor=actor, now=now, reason=reason)
    if target is None:
        return None, []
    alerts = queue_alerts(
        session=session,
        crypto=crypto,
        catalogs=catalogs,
        case=case,
        committee_ids=[target.id],
        now=now,
        escalated=True,
    )
    return target, alerts


def _escalate_one(ctx: WorkerContext, case_id: int, now: datetime) -> bool:
    with ctx.sessions.begin() as session:
        case = session.get(Case, case_id)
        # Acknowledged or closed since the overdue list was read: leave it.
        if case is None or not awaits_acknowledgement(case):
            return False
        target, alerts = escalate_and_alert(
            session=session,
            crypto=ctx.crypto,
            catalogs=ctx.catalogs,
            case=case,
            actor=cases.SYSTEM,
            reason=OVERDUE,
            now=now,
        )
    enqueue_sends(alerts, connection=ctx.redis)
    log.info("escalated case_id=%s to committee_id=%s", case_id, target and target.id)
    return True


def escalate_overdue(*, now: datetime | None = None) -> int:
    """Escalate every case past its acknowledgement deadline, each in its own transaction;
    return how many were escalated (a case at the top is noted once and left there)."""
    ctx = context.current()
    at = now or utcnow()
    with ctx.sessions() as session:
        overdue = overdue_assignments(session=session, now=at)
    return sum(_escalate_one(ctx, item.case_id, at) for item in overdue)
