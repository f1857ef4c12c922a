"""Africa's Talking SMS: delivery reports, moving outbox rows forward only.

A report posts `id` (the `messageId` the send request was answered with), `status`,
`phoneNumber`, `networkCode`, `failureReason` and `retryCount`, on the delivery URL set in
the AT dashboard with `?token=` (as for USSD). Reports come late, repeated and out of
order: a final status never changes, and a report for an id the worker has not recorded
yet is held for it (`gateway.channels.delivery`). The number is not read.
"""

from __future__ import annotations

import asyncio
import logging
import re

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from sqlalchemy.exc import SQLAlchemyError

from gateway.channels.africastalking.callbacks import checked_form
from gateway.channels.africastalking.fields import delivery_problem
from gateway.channels.africastalking.settings import DELIVERY_PATH, PROVIDER
from gateway.channels.delivery import apply_delivery
from gateway.channels.host import services
from storage.models import OutboxStatus
from workers.outbound import DeliveryEvent

log = logging.getLogger(__name__)
router = APIRouter()
# AT's statuses in the outbox's words. Sent, Submitted and Buffered: on its way (with
# AT, with the operator, queued by the operator); Success: on the handset; Rejected: the
# operator refused it; Failed: it could not reach the handset. Both of the last are final.
STATUS_WORDS = {
    "sent": OutboxStatus.SENT,
    "submitted": OutboxStatus.SENT,
    "buffered": OutboxStatus.SENT,
    "success": OutboxStatus.DELIVERED,
    "rejected": OutboxStatus.FAILED,
    "failed": OutboxStatus.UNDELIVERED,
}
# AT's reasons are words ("InsufficientCredit", "UserInBlackList", "DeliveryFailure");
# anything else is recorded as "other", so no text of a report is ever kept.
REASON = re.compile(r"[A-Za-z][A-Za-z_]{0,39}")
OTHER_REASON = "other"


def delivery_event(form: dict[str, str]) -> DeliveryEvent | None:
    """The delivery report a callback carries, or None when it says nothing the row can
    use (a status AT may add one day)."""
    status = STATUS_WORDS.get(form.get("status", "").lower())
    if status is None:
        return None
    reason = form.get("failureReason", "").strip()
    error_code = (reason if REASON.fullmatch(reason) else OTHER_REASON) if reason else None
    return DeliveryEvent(PROVIDER, form["id"], status, error_code)


@router.post(DELIVERY_PATH)
async def delivery_report(request: Request) -> Response:
    """Take one delivery report from Africa's Talking."""
    runtime = services(request)
    form = await checked_form(request, runtime)
    if isinstance(form, Response):
        return form
    problem = delivery_problem(form)
    if problem:
        runtime.metrics.refused.labels(reason="at_fields").inc()
        return PlainTextResponse(problem, status_code=400)
    event = delivery_event(dict(form))
    if event is not None:
        try:
            changed = await asyncio.to_thread(apply_delivery, runtime, event)
        except SQLAlchemyError as exc:
            log.warning("delivery report not recorded (%s); AT will retry", type(exc).__name__)
            runtime.metrics.errors.labels(where="sms_status").inc()
            return PlainTextResponse("temporarily unavailable", status_code=503)
        log.info(
            "africastalking delivery id=%s status=%s changed=%s",
            event.provider_id,
            event.status,
            changed,
        )
    return Response(status_code=200)
