"""The daily retention job: erase the personal content of cases closed long enough ago."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import redis

from storage import recordings, retention
from storage.db import utcnow
from storage.sessions import draft_key
from workers import context

log = logging.getLogger(__name__)


def purge_closed_cases(*, now: datetime | None = None) -> dict[str, int]:
    """Purge every case closed more than SAUTI_RETENTION_DAYS days ago, and the spoken
    answers no case took (`erase_unlinked_recordings`); return the counts.

    Idempotent: a case is purged once, so a repeated or overlapping run finds less or nothing.
    """
    ctx = context.current()
    at = now or utcnow()
    done = retention.purge_expired(
        sessions=ctx.sessions,
        crypto=ctx.crypto,
        days=ctx.settings.sauti_retention_days,
        now=at,
    )
    erase_unlinked_recordings(now=at)
    if done.cases:
        log.info(
            "retention: %d cases purged, %d event texts and %d SMS erased",
            done.cases,
            done.event_texts,
            done.messages,
        )
    return done.as_dict()


def erase_unlinked_recordings(*, now: datetime) -> int:
    """Erase the spoken answers no case took, made more than SAUTI_DRAFT_TTL plus
    `storage.recordings.UNLINKED_GRACE` ago, except those whose owner still has a draft in
    Redis (a draft renews on every hop, so it may still hold one); return how many.

    With Redis out of reach nothing is erased: the next run tries again.
    """
    ctx = context.current()
    before = now - timedelta(seconds=ctx.settings.sauti_draft_ttl)
    with ctx.sessions() as session:
        owners = recordings.unlinked_owners(session=session, before=before)
    try:
        live = _with_drafts(ctx.redis, owners)
    except redis.RedisError:
        log.warning("retention: Redis out of reach, unlinked recordings kept for now")
        return 0
    with ctx.sessions.begin() as session:
        return recordings.erase_unlinked(session=session, before=before, now=now, spare=live)


def _with_drafts(client: redis.Redis, owners: set[str]) -> set[str]:
    """The owners that have a draft in Redis (one round trip)."""
    if not owners:
        return set()
    ordered = sorted(owners)
    pipe = client.pipeline(transaction=False)
    for owner in ordered:
        pipe.exists(draft_key(owner))
    return {owner for owner, found in zip(ordered, pipe.execute(), strict=True) if found}
