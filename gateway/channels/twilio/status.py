"""Twilio SMS: delivery status callbacks, moving outbox rows forward only.

Signed like inbound messages and shaped as Twilio sends them (`fields.py`). Callbacks come
late and out of order: a final status never changes, and a status for an id the worker
has not recorded yet is held for it (`gateway.channels.delivery`, shared with the other
providers).
"""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from sqlalchemy.exc import SQLAlchemyError

from gateway.channels.delivery import apply_delivery
from gateway.channels.host import services
from gateway.channels.twilio.fields import status_problem
from gateway.channels.twilio.settings import PROVIDER
from gateway.channels.twilio.signature import refused, signed_form
from gateway.forms import clean
from storage.models import OutboxStatus
from workers.outbound import DeliveryEvent

log = logging.getLogger(__name__)
router = APIRouter()
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


def delivery_event(form: dict[str, str]) -> DeliveryEvent | None:
    """The delivery report a callback carries, or None when it says nothing new."""
    sid = clean(form.get("MessageSid", ""), limit=64)
    status = STATUS_WORDS.get(clean(form.get("MessageStatus", ""), limit=20).lower())
    if not sid or status is None:
        return None
    error_code = clean(form.get("ErrorCode", ""), limit=10) or None
    return DeliveryEvent(PROVIDER, sid, status, error_code)


@router.post("/sms/twilio/status")
async def status_callback(request: Request) -> Response:
    """Take an outbound delivery status from Twilio."""
    runtime = services(request)
    form = await signed_form(request, runtime)
    if isinstance(form, Response):
        return form
    problem = status_problem(form, account_sid=runtime.settings.twilio_account_sid)
    if problem:
        return refused(runtime, problem)
    event = delivery_event(dict(form))
    if event is not None:
        try:
            changed = await asyncio.to_thread(apply_delivery, runtime, event)
        except SQLAlchemyError as exc:
            log.warning("status not recorded (%s); Twilio will retry", type(exc).__name__)
            return PlainTextResponse("temporarily unavailable", status_code=503)
        log.info(
            "twilio status sid=%s status=%s changed=%s", event.provider_id, event.status, changed
        )
    return PlainTextResponse("OK")
