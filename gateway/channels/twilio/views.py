"""Twilio SMS: inbound messages (TwiML reply) and outbound status callbacks.

Every request must carry a valid `X-Twilio-Signature`, and then have the fields Twilio
sends, each id exactly an id (`fields.py`: the signature alone does not fix where one field
ends and the next begins). Twilio retries on a connection failure and may then call the
fallback URL, so each `MessageSid` is answered once and the reply remembered for its
repeats.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime
from xml.sax.saxutils import escape

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError
from starlette.datastructures import ImmutableMultiDict

from gateway.channels.twilio.fields import inbound_problem, status_problem
from gateway.channels.twilio.signature import valid
from gateway.conversation import Conversation
from gateway.deps import ConversationDep, RuntimeDep
from gateway.forms import BadForm, clean, read_form
from gateway.inbound import Channel, InboundMessage, SessionEvent
from gateway.phones import country_region
from gateway.runtime import Runtime
from storage import early_status, outbox
from storage.models import OutboxStatus

log = logging.getLogger(__name__)
router = APIRouter()
PROVIDER = "twilio"
# Twilio's outbound statuses in the outbox's words; the others (queued, sending,
# accepted, scheduled) say nothing the row does not know already.
STATUS_WORDS = {
    "sent": OutboxStatus.SENT,
    "delivered": OutboxStatus.DELIVERED,
    "read": OutboxStatus.DELIVERED,
    "undelivered": OutboxStatus.UNDELIVERED,
    "failed": OutboxStatus.FAILED,
    "canceled": OutboxStatus.FAILED,
}
DEDUP_TTL = 48 * 3600
REPEAT_WAIT = 5.0


def twiml(text: str | None) -> Response:
    body = f"<Response><Message>{escape(text)}</Message></Response>" if text else "<Response/>"
    return Response(
        '<?xml version="1.0" encoding="UTF-8"?>' + body, media_type="text/xml; charset=utf-8"
    )


@router.post("/sms/twilio")
async def inbound_sms(
    request: Request, runtime: RuntimeDep, conversation: ConversationDep
) -> Response:
    """Answer one inbound SMS with TwiML."""
    try:
        form = await read_form(request)
    except BadForm as exc:
        return PlainTextResponse(exc.reason, status_code=exc.status)
    if not _signed(request, runtime, form):
        return PlainTextResponse("invalid signature", status_code=403)
    problem = inbound_problem(form, account_sid=runtime.settings.twilio_account_sid)
    if problem:
        return _refused(runtime, problem)
    sid = clean(form.get("MessageSid", ""), limit=64)
    sender = clean(form.get("From", ""), limit=40)
    if not sid or not sender:
        return twiml(None)
    started = time.perf_counter()
    try:
        if not await runtime.store.claim_message(sid, DEDUP_TTL):
            return await _repeat(runtime, sid)
    except RedisError as exc:
        log.warning("SMS not taken, Redis unavailable (%s); Twilio will retry", type(exc).__name__)
        runtime.metrics.errors.labels(where="sms").inc()
        return PlainTextResponse("temporarily unavailable", status_code=503)
    reply = await _answer(runtime, conversation, _message(runtime, form, sid, sender))
    if isinstance(reply, Response):
        return reply
    runtime.metrics.hops.labels(channel="sms", provider=PROVIDER).inc()
    runtime.metrics.hop_seconds.labels(channel="sms").observe(time.perf_counter() - started)
    return twiml(reply)


def _signed(request: Request, runtime: Runtime, form: ImmutableMultiDict[str, str]) -> bool:
    settings = runtime.settings
    ok = valid(
        token=settings.twilio_auth_token,
        base_url=settings.sauti_public_url,
        request=request,
        form=form,
    )
    if not ok:
        runtime.metrics.refused.labels(reason="twilio_signature").inc()
    return ok


def _refused(runtime: Runtime, problem: str) -> Response:
    """A signed request that is not shaped as Twilio sends it: refused, and counted."""
    runtime.metrics.refused.labels(reason="twilio_fields").inc()
    return PlainTextResponse(problem, status_code=400)


def _message(
    runtime: Runtime, form: ImmutableMultiDict[str, str], sid: str, sender: str
) -> InboundMessage:
    network = country_region(clean(form.get("FromCountry", ""), limit=8))
    pseudonym, region = runtime.pseudonyms(sender, network)
    return InboundMessage(
        channel=Channel.SMS,
        provider=PROVIDER,
        event=SessionEvent.RESUME,
        session_key=f"sms:{pseudonym}",
        pseudonym=pseudonym,
        region=region,
        inputs=(clean(form.get("Body", ""), limit=1600).strip(),),
        message_id=sid,
        contact=sender,
        network_region=network,
    )


async def _answer(
    runtime: Runtime, conversation: Conversation, msg: InboundMessage
) -> str | Response | None:
    """The reply to a claimed message, remembered for its repeats; a 503 (and the claim
    released, so Twilio's retry is taken afresh) when the message could not be handled."""
    store = runtime.store
    sid = msg.message_id or ""
    try:
        reply = await conversation.sms(msg)
    except Exception:
        log.exception("SMS handling failed; Twilio will retry")
        runtime.metrics.errors.labels(where="sms").inc()
        with contextlib.suppress(RedisError):
            await store.release_message(sid)
        return PlainTextResponse("temporarily unavailable", status_code=503)
    try:
        await store.remember_reply(sid, reply or "", DEDUP_TTL)
    except RedisError as exc:
        log.warning("reply not remembered for repeats: %s", type(exc).__name__)
    return reply


async def _repeat(runtime: Runtime, sid: str) -> Response:
    """A repeat of a message already taken: the first delivery's reply, waiting a little
    while it is still being worked out, else a 503 so that Twilio asks again."""
    deadline = time.monotonic() + REPEAT_WAIT
    while True:
        previous = await runtime.store.get_reply(sid)
        if previous is not None:
            return twiml(previous or None)
        if time.monotonic() > deadline:
            return PlainTextResponse("still working on it", status_code=503)
        await asyncio.sleep(0.1)


@router.post("/sms/twilio/status")
async def status_callback(request: Request, runtime: RuntimeDep) -> Response:
    """Take an outbound delivery status from Twilio."""
    try:
        form = await read_form(request)
    except BadForm as exc:
        return PlainTextResponse(exc.reason, status_code=exc.status)
    if not _signed(request, runtime, form):
        return PlainTextResponse("invalid signature", status_code=403)
    problem = status_problem(form, account_sid=runtime.settings.twilio_account_sid)
    if problem:
        return _refused(runtime, problem)
    sid = clean(form.get("MessageSid", ""), limit=64)
    status = STATUS_WORDS.get(clean(form.get("MessageStatus", ""), limit=20).lower())
    if sid and status is not None:
        error_code = clean(form.get("ErrorCode", ""), limit=10) or None
        try:
            changed = await asyncio.to_thread(_apply_status, runtime, sid, status, error_code)
        except SQLAlchemyError as exc:
            log.warning("status not recorded (%s); Twilio will retry", type(exc).__name__)
            return PlainTextResponse("temporarily unavailable", status_code=503)
        log.info("twilio status sid=%s status=%s changed=%s", sid, status, changed)
    return PlainTextResponse("OK")


def _apply_status(runtime: Runtime, sid: str, status: str, error_code: str | None) -> bool:
    """Move the outbox row Twilio reports on forward; False for a stale callback (a final
    status never changes). A status for an id no row has yet (the worker has not recorded
    it) is held for the worker (storage.early_status), then looked for once more."""

    def apply() -> tuple[bool, bool]:
        with runtime.sessions.begin() as session:
            changed = outbox.apply_status(
                session=session,
                provider_id=sid,
                status=status,
                error_code=error_code,
                now=datetime.now(UTC),
            )
            return changed, changed or outbox.has_provider_id(session=session, provider_id=sid)

    changed, known = apply()
    if known:
        return changed
    try:
        early_status.hold(runtime.redis, sid, status, error_code)
    except RedisError as exc:
        log.warning("early status not held (%s)", type(exc).__name__)
    return apply()[0]
