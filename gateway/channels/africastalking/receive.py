"""Africa's Talking USSD (the callback and the end-of-session notification) and inbound SMS.

The callback carries `sessionId, serviceCode, phoneNumber, networkCode, text`, where `text`
is every input of the session joined by `*`; `networkCode` (MCC+MNC) names the country a
number written without its country code is read in. Replies are `text/plain` starting
`CON ` (more to come) or `END ` (last screen). A 4xx or 5xx shows the person a network
error, so every failure inside the service is answered with an `END` apology instead.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError
from starlette.datastructures import ImmutableMultiDict

from flows.gsm import ASCII, GSM7, spell
from gateway import messages
from gateway.channels.africastalking.callbacks import checked_form
from gateway.channels.africastalking.fields import inbound_problem
from gateway.channels.africastalking.settings import (
    INBOUND_SMS_PATH,
    PROVIDER,
    USSD_EVENTS_PATH,
    USSD_PATH,
    token_matches,
)
from gateway.channels.answers import NotNow, answer_once
from gateway.channels.formbody import Receive, Scope, Send, answer, query_value, read_form
from gateway.channels.host import Services, Webhook, replier, replier_of, services, services_of
from gateway.forms import BadForm, clean
from gateway.inbound import Channel, InboundMessage, SessionEvent
from gateway.phones import network_region
from storage import outbox, prefs
from storage.committees import members_for_pseudonym
from storage.models import MessageChannel, MessageKind, OutboxStatus, RecipientKind
from storage.privacy import is_e164
from workers.notify import enqueue_sends

log = logging.getLogger(__name__)
router = APIRouter()


# The USSD webhooks are plain ASGI (`gateway.channels.formbody`), served ahead of the
# framework's request path by `gateway.app.Sauti`: the callback is the hottest route, and
# the framework's routing, dependencies and form parsing cost more than a hop's own work.


async def ussd_callback(state: Any, scope: Scope, receive: Receive, send: Send) -> None:
    """Answer one USSD hop from Africa's Talking (POST /ussd/africastalking)."""
    runtime, conversation = services_of(state), replier_of(state)
    form = await _checked(runtime, scope, receive, send)
    if form is None:
        return
    session_id = clean(form.get("sessionId", ""), limit=200)
    phone = clean(form.get("phoneNumber", ""), limit=40)
    if not session_id or not phone:
        await answer(send, "sessionId and phoneNumber are required", 400)
        return
    started = time.perf_counter()
    msg = _ussd_message(runtime, form, session_id, phone)
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
    await answer(send, body)


def _ussd_message(
    runtime: Services, form: dict[str, str], session_id: str, phone: str
) -> InboundMessage:
    text = clean(form.get("text", ""), limit=2000)
    inputs = tuple(text.split("*")) if text else ()
    # The network names the country a number without its country code is read in, and
    # whether its screens are plain ASCII (SAUTI_USSD_ASCII).
    network_code = clean(form.get("networkCode", ""), limit=8).strip()
    network = network_region(network_code)
    pseudonym, region = runtime.pseudonyms(phone, network)
    return InboundMessage(
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


async def ussd_events(state: Any, scope: Scope, receive: Receive, send: Send) -> None:
    """Take the end-of-session notification (nothing of it is kept)."""
    form = await _checked(services_of(state), scope, receive, send)
    if form is None:
        return
    status = clean(form.get("status", ""), limit=40) or "unknown"
    log.info(
        "USSD session ended status=%s hops=%s", status, clean(form.get("hopsCount", ""), limit=8)
    )
    await answer(send, "OK")


async def _checked(
    runtime: Services, scope: Scope, receive: Receive, send: Send
) -> dict[str, str] | None:
    """The callback's form, or None once it is refused: 403 without the token (counted),
    the parser's 4xx for a body that is no readable form."""
    if not token_matches(query_value(scope, "token"), runtime.settings.sauti_at_token):
        runtime.metrics.refused.labels(reason="at_token").inc()
        await answer(send, "forbidden", 403)
        return None
    try:
        return await read_form(scope, receive)
    except BadForm as exc:
        await answer(send, exc.reason, exc.status)
        return None


USSD_WEBHOOKS: dict[str, Webhook] = {
    USSD_PATH: ussd_callback,
    USSD_EVENTS_PATH: ussd_events,
}


# -- SMS ----------------------------------------------------------------------------------
#
# Africa's Talking posts `from, to, text, date, id, linkId, networkCode` and takes no answer
# in the response: the answer is queued in the outbox as a message to the sender (kind
# `reply`), and the worker sends it through the provider of the number's country. The `id`
# names the message. Its answer is worked out once and remembered (sealed, in Redis), and
# queued under a key made of the id, so a repeat queues nothing more, and a delivery that
# failed half-way (answered, not queued) is finished by AT's next attempt. Any failure
# inside the service is a 503, so AT delivers the message again and nothing is lost.


@router.post(INBOUND_SMS_PATH)
async def inbound_sms(request: Request) -> Response:
    """Take one inbound SMS from Africa's Talking; its answer goes out through the outbox."""
    runtime, conversation = services(request), replier(request)
    form = await checked_form(request, runtime)
    if isinstance(form, Response):
        return form
    problem = inbound_problem(form)
    if problem:
        runtime.metrics.refused.labels(reason="at_fields").inc()
        return PlainTextResponse(problem, status_code=400)
    started = time.perf_counter()
    msg = _sms_message(runtime, form)
    try:
        reply, fresh = await answer_once(
            runtime.store,
            _answer_key(msg),
            lambda: conversation.sms(msg),
            failed=runtime.metrics.errors.labels(where="sms").inc,
        )
        queued = await runtime.db(_queue_reply, runtime, msg, reply) if reply else None
    except NotNow:
        return PlainTextResponse("temporarily unavailable", status_code=503)
    except (RedisError, SQLAlchemyError) as exc:
        log.warning("SMS not taken (%s); Africa's Talking will retry", type(exc).__name__)
        runtime.metrics.errors.labels(where="sms").inc()
        return PlainTextResponse("temporarily unavailable", status_code=503)
    except Exception:
        log.exception("SMS answer not queued; Africa's Talking will retry")
        runtime.metrics.errors.labels(where="sms").inc()
        return PlainTextResponse("temporarily unavailable", status_code=503)
    if queued is not None:
        await _enqueue_reply(runtime, queued)
    if not fresh:  # a repeat: counted once
        return Response(status_code=200)
    runtime.metrics.hops.labels(channel="sms", provider=PROVIDER).inc()
    runtime.metrics.hop_seconds.labels(channel="sms").observe(time.perf_counter() - started)
    return Response(status_code=200)


def _sms_message(runtime: Services, form: ImmutableMultiDict[str, str]) -> InboundMessage:
    sender = clean(form["from"], limit=40).strip()
    network = network_region(clean(form.get("networkCode", ""), limit=8))
    pseudonym, region = runtime.pseudonyms(sender, network)
    return InboundMessage(
        channel=Channel.SMS,
        provider=PROVIDER,
        event=SessionEvent.RESUME,
        # The same conversation whichever SMS provider brought the message.
        session_key=f"sms:{pseudonym}",
        pseudonym=pseudonym,
        region=region,
        inputs=(clean(form["text"], limit=1600).strip(),),
        message_id=form["id"],
        contact=sender,
        network_region=network,
    )


def _answer_key(msg: InboundMessage) -> str:
    """Names a message of this provider for the session store (which hashes it)."""
    return f"{PROVIDER}:{msg.message_id}"


def reply_key(message_id: str) -> str:
    """The outbox key of the answer to the message `message_id`."""
    digest = hashlib.sha256(f"{PROVIDER}|{message_id}".encode()).hexdigest()[:40]
    return f"reply:{PROVIDER}:{digest}"


def _queue_reply(runtime: Services, msg: InboundMessage, text: str) -> int | None:
    """Queue the answer to the sender (nothing when it is queued already); return the id
    of a new row to send. Every answer is kept as one to a reporter, linked to nobody
    (the number encrypted and dropped once sent): a focal point who writes a report by SMS
    is never tied to its words by the row of an answer. Their language still picks it."""
    to = runtime.pseudonyms.e164(msg.contact, msg.network_region)
    if to is None or not is_e164(to) or msg.message_id is None:
        # Taken all the same (what it added to a report is kept): there is no number a
        # provider could send its answer to, so asking AT again would change nothing.
        log.warning("SMS answer not queued: the sender's number is no number to send to")
        return None
    with runtime.sessions.begin() as session:
        members = members_for_pseudonym(session=session, pseudonym=msg.pseudonym)
        chose = prefs.get_prefs(session=session, pseudonym=msg.pseudonym)
        language = (
            (chose.language if chose is not None else None)
            or (members[0].language if members else None)
            or runtime.settings.sauti_default_language
        )
        message = outbox.queue_sms(
            session=session,
            crypto=runtime.crypto,
            dedupe_key=reply_key(msg.message_id),
            to_e164=to,
            body=text,
            language=language,
            kind=MessageKind.REPLY,
            recipient_kind=RecipientKind.REPORTER,
            now=datetime.now(UTC),
            # Answered the way it came, whatever channel alerts reach a member by.
            channel=MessageChannel.SMS,
        )
        if message is None or message.status != OutboxStatus.QUEUED:
            return None
        session.flush()
        return message.id


async def _enqueue_reply(runtime: Services, message_id: int) -> None:
    """Hand the committed answer to the sending job; without Redis the sweep sends it."""
    try:
        await asyncio.to_thread(enqueue_sends, [message_id], connection=runtime.redis)
    except RedisError as exc:
        log.warning("SMS answer %s queued, not enqueued (%s)", message_id, type(exc).__name__)
