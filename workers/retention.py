"""The daily retention job: erase the personal content of cases closed long enough ago."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from storage import retention
from storage.db import utcnow
from workers import context

log = logging.getLogger(__name__)


def purge_closed_cases(*, now: datetime | None = None) -> dict[str, int]:
    """Purge every case closed more than SAUTI_RETENTION_DAYS days ago, and the spoken
    answers no case took within SAUTI_DRAFT_TTL; return the counts.

    Idempotent: a case is purged once, so a repeated or overlapping run finds less or nothing.
    """
    ctx = context.current()
    at = now or utcnow()
    done = retention.purge_expired(
        sessions=ctx.sessions,
        crypto=ctx.crypto,
        days=ctx.settings.sauti_retention_days,
        now=at,
        # A spoken answer no case took is erased once its draft can no longer be sent.
        unlinked_before=at - timedelta(seconds=ctx.settings.sauti_draft_ttl),
    )
    if done.cases:
        log.info(
            "retention: %d cases purged, %d event texts and %d SMS erased",
            done.cases,
            done.event_texts,
            done.messages,
        )
    return done.as_dict()
