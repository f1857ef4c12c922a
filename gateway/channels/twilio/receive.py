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
import logging
import time
from xml.sax.saxutils import escape

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from redis.exceptions import RedisError
from starlette.datastructures import ImmutableMultiDict

from gateway.channels.answers import NotNow, answer_once
from gateway.channels.host import Services, replier, services
from gateway.channels.twilio.fields import bare_number, inbound_problem, is_whatsapp
from gateway.channels.twilio.settings import PROVIDER
from gateway.channels.twilio.signature import refused, signed_form
from gateway.forms import clean
from gateway.inbound import Channel, InboundMessage, SessionEvent
from gateway.phones import country_region
from storage.whatsapp_window import WhatsAppWindow

log = logging.getLogger(__name__)
router = APIRouter()


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
    msg = _message(runtime, form, sid, sender)
    if msg.channel is Channel.WHATSAPP:
        await _open_window(runtime, msg.pseudonym)
    try:
        reply, fresh = await answer_once(
            runtime.store,
            sid,
            lambda: conversation.sms(msg),
            failed=runtime.metrics.errors.labels(where="sms").inc,
        )
    except NotNow:
        return PlainTextResponse("temporarily unavailable", status_code=503)
    except RedisError as exc:
        log.warning("SMS not taken, Redis unavailable (%s); Twilio will retry", type(exc).__name__)
        runtime.metrics.errors.labels(where="sms").inc()
        return PlainTextResponse("temporarily unavailable", status_code=503)
    if not fresh:  # a repeat: the first delivery's answer, counted once
        return twiml(reply or None)
    channel = msg.channel.value
    runtime.metrics.hops.labels(channel=channel, provider=PROVIDER).inc()
    runtime.metrics.hop_seconds.labels(channel=channel).observe(time.perf_counter() - started)
    return twiml(reply or None)


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
