"""Africa's Talking USSD: the callback and the end-of-session notification.

The callback carries `sessionId, serviceCode, phoneNumber, networkCode, text`, where `text`
is every input of the session joined by `*`; `networkCode` (MCC+MNC) names the country a
number written without its country code is read in. Replies are `text/plain` starting
`CON ` (more to come) or `END ` (last screen). A 4xx or 5xx shows the person a network
error, so every failure inside the service is answered with an `END` apology instead.
"""

from __future__ import annotations

import logging
import time

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response

from flows.gsm import ASCII, GSM7, spell
from gateway import messages
from gateway.channels.africastalking.settings import PROVIDER, authorised
from gateway.channels.host import replier, services
from gateway.forms import BadForm, clean, read_form
from gateway.inbound import Channel, InboundMessage, SessionEvent
from gateway.phones import network_region

log = logging.getLogger(__name__)
router = APIRouter()


@router.post("/ussd/africastalking", response_class=PlainTextResponse)
async def ussd_callback(request: Request) -> Response:
    """Answer one USSD hop from Africa's Talking."""
    # The hottest route reads app.state itself: resolving dependencies would cost more
    # than the rest of the hop's own work.
    runtime, conversation = services(request), replier(request)
    if not authorised(request, runtime.settings.sauti_at_token):
        runtime.metrics.refused.labels(reason="at_token").inc()
        return PlainTextResponse("forbidden", status_code=403)
    try:
        form = await read_form(request)
    except BadForm as exc:
        return PlainTextResponse(exc.reason, status_code=exc.status)
    session_id = clean(form.get("sessionId", ""), limit=200)
    phone = clean(form.get("phoneNumber", ""), limit=40)
    if not session_id or not phone:
        return PlainTextResponse("sessionId and phoneNumber are required", status_code=400)
    started = time.perf_counter()
    text = clean(form.get("text", ""), limit=2000)
    inputs = tuple(text.split("*")) if text else ()
    # The network names the country a number without its country code is read in, and
    # whether its screens are plain ASCII (SAUTI_USSD_ASCII).
    network_code = clean(form.get("networkCode", ""), limit=8).strip()
    network = network_region(network_code)
    pseudonym, region = runtime.pseudonyms(phone, network)
    msg = InboundMessage(
        channel=Channel.USSD,
        provider=PROVIDER,
        event=SessionEvent.NEW if not inputs else SessionEvent.RESUME,
        session_key=f"at:{session_id}",
        pseudonym=pseudonym,
        region=region,
        inputs=inputs,
        contact=phone,
        network_region=network,
        network_code=network_code or None,
    )
    try:
        screen = await conversation.hop(msg)
        body = ("END " if screen.final else "CON ") + screen.text
    except Exception:
        log.exception("USSD hop failed")
        runtime.metrics.errors.labels(where="ussd").inc()
        translator = runtime.catalogs.translator(runtime.settings.sauti_default_language)
        alphabet = ASCII if runtime.settings.ascii_network(msg.network_code) else GSM7
        body = "END " + spell(translator.gettext(messages.UNAVAILABLE), alphabet)
    runtime.metrics.ussd_hops.inc()
    runtime.metrics.ussd_seconds.observe(time.perf_counter() - started)
    return PlainTextResponse(body)


@router.post("/ussd/africastalking/events", response_class=PlainTextResponse)
async def ussd_events(request: Request) -> Response:
    """Take the end-of-session notification (nothing of it is kept)."""
    runtime = services(request)
    if not authorised(request, runtime.settings.sauti_at_token):
        runtime.metrics.refused.labels(reason="at_token").inc()
        return PlainTextResponse("forbidden", status_code=403)
    try:
        form = await read_form(request)
    except BadForm as exc:
        return PlainTextResponse(exc.reason, status_code=exc.status)
    status = clean(form.get("status", ""), limit=40) or "unknown"
    log.info(
        "USSD session ended status=%s hops=%s", status, clean(form.get("hopsCount", ""), limit=8)
    )
    return PlainTextResponse("OK")
