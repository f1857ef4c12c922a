"""Sending the outbox: one job per message, retried with backoff, never sent twice at once.

`send_sms(message_id)` picks the sender of the recipient's country, waits for a slot under
that sender's rate limit, claims the row (QUEUED > SENDING, one attempt more), calls the
provider outside any transaction, then
records the outcome. A failure worth retrying puts the row back in QUEUED with a later
`next_attempt_at` and schedules the job again for then; after `MAX_ATTEMPTS`, or on an
error that cannot get better, the row is FAILED. A job that finds its row already sent,
cancelled or not yet due does nothing, so running it twice has one effect.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import redis

from storage import early_status, outbox
from storage.db import utcnow
from storage.models import RecipientKind
from workers import context, queues
from workers.context import WorkerContext
from workers.outbound import OutboundMessage, Sender, SendError, Sent

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
# Wait before attempt 2, 3, 4, 5: a network blip, then a provider outage.
BACKOFF = (
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(minutes=30),
)
RATE_LIMITED_DELAY = timedelta(seconds=5)


def backoff(attempts: int) -> timedelta:
    """Return how long to wait after the `attempts`-th failed attempt."""
    return BACKOFF[min(max(attempts, 1), len(BACKOFF)) - 1]


def enqueue_sends(message_ids: Iterable[int], *, connection: redis.Redis) -> None:
    """Enqueue the sending job of each message; call it after the rows are committed."""
    for message_id in message_ids:
        queues.enqueue(queues.SMS, send_sms, message_id, connection=connection)


@dataclass(frozen=True, slots=True)
class _Claimed:
    message: OutboundMessage
    attempts: int


def _claim(ctx: WorkerContext, message_id: int, now: datetime) -> _Claimed | None:
    """Claim a due message; return what to send, or None when not due."""
    with ctx.sessions.begin() as session:
        message = outbox.claim_for_sending(session=session, message_id=message_id, now=now)
        if message is None:
            return None
        to = outbox.recipient(crypto=ctx.crypto, message=message)
        if to is None:
            outbox.mark_failed(
                session=session,
                message_id=message_id,
                final=True,
                error="no number",
                retry_at=None,
                now=now,
            )
            return None
        outbound = OutboundMessage(
            to=to,
            body=outbox.message_body(crypto=ctx.crypto, message=message),
            kind=message.kind,
            language=message.language,
            reference=str(message.id),
            to_reporter=message.recipient_kind == RecipientKind.REPORTER,
            channel=message.channel,
        )
        return _Claimed(message=outbound, attempts=message.attempts)


def _sender_for(ctx: WorkerContext, message_id: int) -> Sender:
    """The sender of the message's recipient's country, or one that reaches the message's
    channel (WhatsApp) when that one cannot (any sender when it has no number: the claim
    then fails it)."""
    with ctx.sessions() as session:
        to = outbox.recipient_of(session=session, crypto=ctx.crypto, message_id=message_id)
        channel = outbox.channel_of(session=session, message_id=message_id)
    return ctx.senders.for_message(to or "", channel)


def _record_sent(
    ctx: WorkerContext, message_id: int, sender: Sender, sent: Sent, now: datetime
) -> None:
    with ctx.sessions.begin() as session:
        outbox.mark_sent(
            session=session,
            message_id=message_id,
            provider=sender.name,
            provider_id=sent.provider_id,
            delivered=sent.delivered,
            channel=sent.channel,
            channel_note=sent.note,
            now=now,
        )
    if sent.provider_id and not sent.delivered:
        _apply_early_statuses(ctx, sent.provider_id, now)


def _apply_early_statuses(ctx: WorkerContext, provider_id: str, now: datetime) -> None:
    """Apply the delivery statuses the provider reported before the id was recorded."""
    try:
        held = early_status.take(ctx.redis, provider_id)
    except redis.RedisError as exc:
        log.warning("early statuses not read (%s)", type(exc).__name__)
        return
    if not held:
        return
    with ctx.sessions.begin() as session:
        for status, error_code in held:
            outbox.apply_status(
                session=session,
                provider_id=provider_id,
                status=status,
                error_code=error_code,
                now=now,
            )
    log.info("applied %d early status(es) to provider message %s", len(held), provider_id)


def _record_failure(
    ctx: WorkerContext, message_id: int, attempts: int, error: SendError, now: datetime
) -> str:
    final = not error.retry or attempts >= MAX_ATTEMPTS
    retry_at = None if final else now + backoff(attempts)
    with ctx.sessions.begin() as session:
        outbox.mark_failed(
            session=session,
            message_id=message_id,
            final=final,
            error=error.reason,
            retry_at=retry_at,
            now=now,
        )
    log.warning(
        "sms %s attempt %d failed (%s)%s",
        message_id,
        attempts,
        error.reason,
        "; given up" if final else "",
    )
    if retry_at is not None:
        queues.enqueue_at(retry_at, queues.SMS, send_sms, message_id, connection=ctx.redis)
        return "retry"
    return "failed"


def send_sms(message_id: int, *, now: datetime | None = None) -> str:
    """Send one outbox message; return what happened (sent, retry, failed, not due, deferred)."""
    ctx = context.current()
    sender = _sender_for(ctx, message_id)
    if not ctx.rate_limit(sender).acquire():
        later = utcnow() + RATE_LIMITED_DELAY
        queues.enqueue_at(later, queues.SMS, send_sms, message_id, connection=ctx.redis)
        return "deferred"
    at = now or utcnow()
    claimed = _claim(ctx, message_id, at)
    if claimed is None:
        return "not due"
    try:
        sent = sender.send(claimed.message)
    except SendError as exc:
        return _record_failure(ctx, message_id, claimed.attempts, exc, at)
    except Exception as exc:
        # A bug, not the provider: count the attempt so it cannot loop, and fail the job.
        unexpected = SendError(f"unexpected {type(exc).__name__}", retry=True)
        _record_failure(ctx, message_id, claimed.attempts, unexpected, at)
        raise
    _record_sent(ctx, message_id, sender, sent, at)
    log.info("sms %s sent by %s", message_id, sender.name)
    return "sent"
