"""The daily retention job: erase the personal content of cases closed long enough ago."""

from __future__ import annotations

import logging
from datetime import datetime

from storage import retention
from storage.db import utcnow
from workers import context

log = logging.getLogger(__name__)


def purge_closed_cases(*, now: datetime | None = None) -> dict[str, int]:
    """Purge every case closed more than SAUTI_RETENTION_DAYS days ago; return the counts.

    Idempotent: a case is purged once, so a repeated or overlapping run finds less or nothing.
    """
    ctx = context.current()
    done = retention.purge_expired(
        sessions=ctx.sessions,
        crypto=ctx.crypto,
        days=ctx.settings.sauti_retention_days,
        now=now or utcnow(),
    )
    if done.cases:
        log.info(
            "retention: %d cases purged, %d event texts and %d SMS erased",
            done.cases,
            done.event_texts,
            done.messages,
        )
    return done.as_dict()
