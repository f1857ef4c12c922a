"""Route a committed report to the committee that covers its place."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from storage import cases
from workers import context

log = logging.getLogger(__name__)


def route_report(report_id: int) -> bool:
    """Take a committed report into routing; idempotent (a second run changes nothing)."""
    ctx = context.current()
    with ctx.sessions.begin() as session:
        changed = cases.request_routing(session=session, case_id=report_id, now=datetime.now(UTC))
    log.info("route_report case_id=%s changed=%s", report_id, changed)
    return changed
