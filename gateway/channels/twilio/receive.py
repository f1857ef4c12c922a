"""Twilio SMS and WhatsApp: inbound messages, answered with TwiML.

Every request must carry a valid `X-Twilio-Signature`, and then have the fields Twilio
sends, each id exactly an id (`fields.py`: the signature alone does not fix where one field
ends and the next begins). Twilio retries on a connection failure and may then call the
fallback URL, so each `MessageSid` is answered once and the reply remembered for its
repeats.

A WhatsApp message comes on the same webhook with `From=whatsapp:+…`: it runs the same
flows as an SMS, in a conversation of its own (session `wa:<pseudonym>`, counted apart
from SMS), under the pseudonym of the bare number, so the same phone is one reporter on
every channel. It opens the person's 24-hour WhatsApp window (`storage.whatsapp_window`),
and the reply goes inline, inside that window. `ProfileName` and `WaId` are read by
nothing here: the name is dropped with the request, the number travels on only as
`contact`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from xml.sax.saxutils import escape

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from redis.exceptions import RedisError
from starlette.datastructures import ImmutableMultiDict

from gateway.channels.host import Replier, Services, replier, services
from gateway.channels.twilio.fields import bare_number, inbound_problem, is_whatsapp
from gateway.channels.twilio.settings import PROVIDER
from gateway.channels.twilio.signature import refused, signed_form
from gateway.forms import clean
from gateway.inbound import Channel, InboundMessage, SessionEvent
from gateway.phones import country_region
from storage.whatsapp_window import WhatsAppWindow

log = logging.getLogger(__name__)
router = APIRouter()
DEDUP_TTL = 48 * 3600
REPEAT_WAIT = 5.0


def twiml(text: str | None) -> Response:
    body = f"<Response><Message>{escape(text)}</Message></Response>" if text else "<Response/>"
    return Response(
        '<?xml version="1.0" encoding="UTF-8"?>' + body, media_type="text/xml; charset=utf-8"
    )


@router.post("/sms/twilio")
async def inbound_sms(request: Request) -> Response:
    """Answer one inbound SMS or WhatsApp message with TwiML."""
    runtime, conversation = services(request), replier(request)
    form = await signed_form(request, runtime)
    if isinstance(form, Response):
        return form
    problem = inbound_problem(form, account_sid=runtime.settings.twilio_account_sid)
    if problem:
        return refused(runtime, problem)
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
    msg = _message(runtime, form, sid, sender)
    if msg.channel is Channel.WHATSAPP:
        await _open_window(runtime, msg.pseudonym)
    reply = await _answer(runtime, conversation, msg)
    if isinstance(reply, Response):
        return reply
    channel = msg.channel.value
    runtime.metrics.hops.labels(channel=channel, provider=PROVIDER).inc()
    runtime.metrics.hop_seconds.labels(channel=channel).observe(time.perf_counter() - started)
    return twiml(reply)


def _message(
    runtime: Services, form: ImmutableMultiDict[str, str], sid: str, sender: str
) -> InboundMessage:
    whatsapp = is_whatsapp(sender)
    number = bare_number(sender)
    network = country_region(clean(form.get("FromCountry", ""), limit=8))
    pseudonym, region = runtime.pseudonyms(number, network)
    return InboundMessage(
        channel=Channel.WHATSAPP if whatsapp else Channel.SMS,
        provider=PROVIDER,
        event=SessionEvent.RESUME,
        session_key=f"{'wa' if whatsapp else 'sms'}:{pseudonym}",
        pseudonym=pseudonym,
        region=region,
        inputs=(clean(form.get("Body", ""), limit=1600).strip(),),
        message_id=sid,
        contact=number,
        network_region=network,
    )


async def _open_window(runtime: Services, pseudonym: str) -> None:
    """The person wrote by WhatsApp: free-form messages reach them for 24 hours. Without
    Redis the message is still answered; what is sent later goes as a template or by SMS."""
    try:
        await asyncio.to_thread(WhatsAppWindow(runtime.redis).opened, pseudonym)
    except RedisError as exc:
        log.warning("whatsapp window not recorded (%s)", type(exc).__name__)


async def _answer(
    runtime: Services, conversation: Replier, msg: InboundMessage
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


async def _repeat(runtime: Services, sid: str) -> Response:
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
