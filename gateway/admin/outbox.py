"""Console pages: the SMS outbox (statuses, failures, retry, cancel) and the STOP list.

A reporter's number is never shown: a reporter's message says "reporter" only, a member's
shows the member's masked number. Bodies are free text: the list shows the first
`PREVIEW_LENGTH` characters of each to roles that read free text (one audit entry,
"outbox.previews", names the messages of the page), and a message's own page shows the
whole text (audited as "outbox.view_text", once per visit: not again on the landing back
after a retry or a cancel). The STOP list is shown by pseudonym prefix.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Query, Request, status
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from gateway.admin.web import Viewer, allow, back, flash, record, render
from gateway.deps import RuntimeDep
from gateway.outboxadmin import (
    NO_MESSAGE,
    Filters,
    cancel,
    listing,
    message_detail,
    opt_out,
    opt_outs,
    remove_opt_out,
    retry,
)
from gateway.runtime import Runtime
from storage.committees import list_committees
from storage.db import utcnow
from storage.models import (
    FREE_TEXT_ROLES,
    MessageChannel,
    MessageKind,
    OutboxMessage,
    OutboxStatus,
    Provider,
    RecipientKind,
)
from storage.users import audit, audit_view

router = APIRouter()
PER_PAGE = 50
MAX_PAGE = 100_000
MessageId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Pseudonym = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")]
PageNumber = Annotated[int, Query(ge=1, le=MAX_PAGE)]
Choice = Annotated[str, Query(max_length=64)]
Staff = Annotated[Viewer, Depends(allow("outbox"))]
PREVIEW_LENGTH = 60

# Each kind, status, recipient and channel in words; the code stays as secondary text.
KIND_WORDS = {
    MessageKind.ALERT: "Alert",
    MessageKind.DIGEST: "Daily digest",
    MessageKind.COMMAND_REPLY: "Command reply",
    MessageKind.REPORTER_MESSAGE: "Message to the reporter",
    MessageKind.CLOSING: "Closing",
    MessageKind.ESCALATION: "Escalation",
    MessageKind.CONFIRMATION: "Confirmation",
    MessageKind.INFO_ALERT: "Information alert",
    MessageKind.REPLY: "Reply",
    MessageKind.INCIDENT_REPORT: "Incident report",
    MessageKind.SIGNAL: "Signal",
}
STATUS_WORDS = {
    OutboxStatus.QUEUED: "Queued",
    OutboxStatus.SENDING: "Sending",
    OutboxStatus.SENT: "Sent",
    OutboxStatus.DELIVERED: "Delivered",
    OutboxStatus.FAILED: "Failed",
    OutboxStatus.UNDELIVERED: "Undelivered",
    OutboxStatus.CANCELLED: "Cancelled",
}
RECIPIENT_WORDS = {RecipientKind.MEMBER: "Committee member", RecipientKind.REPORTER: "Reporter"}
CHANNEL_WORDS = {MessageChannel.SMS: "SMS", MessageChannel.WHATSAPP: "WhatsApp"}


def _short(body: str) -> str:
    flat = " ".join(body.split())
    return flat if len(flat) <= PREVIEW_LENGTH else flat[: PREVIEW_LENGTH - 1].rstrip() + "…"


def previews(runtime: Runtime, viewer: Viewer, ids: Sequence[int]) -> dict[int, str]:
    """The start of each message's text, for roles that read free text, with one audit
    entry naming the messages shown; nothing (and no entry) for any other role."""
    if viewer.role not in FREE_TEXT_ROLES or not ids:
        return {}
    with runtime.sessions.begin() as session:
        query = select(OutboxMessage.id, OutboxMessage.body_enc).where(OutboxMessage.id.in_(ids))
        shown = {
            message_id: _short(runtime.crypto.decrypt(body))
            for message_id, body in session.execute(query)
        }
        audit(
            session=session,
            actor=viewer.username,
            action="outbox.previews",
            data={"messages": sorted(shown)},
            ip_hash=viewer.ip_hash,
            now=utcnow(),
        )
    return shown


def _viewed(runtime: Runtime, viewer: Viewer, message_id: int) -> None:
    with runtime.sessions.begin() as session:
        audit_view(
            session=session,
            actor=viewer.username,
            action="outbox.view_text",
            target=str(message_id),
            ip_hash=viewer.ip_hash,
            now=utcnow(),
        )


def _committee_names(runtime: Runtime) -> dict[str, str]:
    with runtime.sessions() as session:
        return {c.code: c.name for c in list_committees(session=session, active_only=False)}


def _words() -> dict[str, Any]:
    return {
        "kind_words": {k.value: v for k, v in KIND_WORDS.items()},
        "status_words": {k.value: v for k, v in STATUS_WORDS.items()},
        "recipient_words": {k.value: v for k, v in RECIPIENT_WORDS.items()},
        "channel_words": {k.value: v for k, v in CHANNEL_WORDS.items()},
    }


@router.get("/outbox", response_class=HTMLResponse)
async def messages(
    request: Request,
    runtime: RuntimeDep,
    viewer: Staff,
    status_: Annotated[str, Query(alias="status", max_length=64)] = "",
    kind: Choice = "",
    recipient: Choice = "",
    committee: Choice = "",
    date_from: Annotated[str, Query(alias="from", max_length=32)] = "",
    date_to: Annotated[str, Query(alias="to", max_length=32)] = "",
    channel: Choice = "",
    provider: Choice = "",
    page: PageNumber = 1,
) -> HTMLResponse:
    """List outbound messages, newest first, with counts by status and filters."""
    filters = Filters(status_, kind, recipient, committee, date_from, date_to, channel, provider)
    found = await runtime.db(listing, runtime, filters, page, PER_PAGE)
    shown = await runtime.db(previews, runtime, viewer, [row.id for row in found.rows])
    query = {k: v for k, v in request.query_params.items() if k != "page" and v}
    return await render(
        request,
        "outbox_list.html",
        viewer,
        listing=found,
        previews=shown,
        may_preview=viewer.role in FREE_TEXT_ROLES,
        committee_names=await runtime.db(_committee_names, runtime),
        **_words(),
        filters=filters,
        page=page,
        pages=max(1, -(-found.total // PER_PAGE)),
        query=query,
        statuses=[s.value for s in OutboxStatus],
        kinds=[k.value for k in MessageKind],
        recipients=[r.value for r in RecipientKind],
        channels=[c.value for c in MessageChannel],
        providers=[p.value for p in Provider],
    )


# -- the STOP list ------------------------------------------------------------------------------


@router.get("/outbox/optouts", response_class=HTMLResponse)
async def optouts(
    request: Request, runtime: RuntimeDep, viewer: Staff, page: PageNumber = 1
) -> HTMLResponse:
    """List the numbers that sent STOP, by pseudonym."""
    rows, total = await runtime.db(opt_outs, runtime, page, PER_PAGE)
    return await render(
        request,
        "outbox_optouts.html",
        viewer,
        rows=rows,
        total=total,
        page=page,
        pages=max(1, -(-total // PER_PAGE)),
    )


@router.get("/outbox/optouts/{pseudonym}/remove", response_class=HTMLResponse)
async def confirm_remove(
    request: Request, runtime: RuntimeDep, viewer: Staff, pseudonym: Pseudonym
) -> HTMLResponse:
    """Ask for confirmation before taking a number off the STOP list."""
    row = await runtime.db(opt_out, runtime, pseudonym)
    return await render(request, "outbox_optout_remove.html", viewer, row=row)


@router.post("/outbox/optouts/{pseudonym}/remove", response_model=None)
async def remove(
    request: Request,
    runtime: RuntimeDep,
    viewer: Staff,
    pseudonym: Pseudonym,
    confirm: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Take a number off the STOP list (it will get SMS again); needs confirm=yes."""
    if confirm != "yes":
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "Confirm the removal first.")
    await runtime.db(remove_opt_out, runtime, pseudonym)
    await runtime.db(record, runtime, viewer, "optout.remove", pseudonym[:8], {})
    await flash(request, viewer, "ok", f"{pseudonym[:8]} is off the STOP list.")
    return back("/admin/outbox/optouts")


# -- one message --------------------------------------------------------------------------------


@router.get("/outbox/{message_id}", response_class=HTMLResponse)
async def message(
    request: Request, runtime: RuntimeDep, viewer: Staff, message_id: MessageId
) -> HTMLResponse:
    """Show one message with its text (an audited view)."""
    detail = await runtime.db(message_detail, runtime, message_id)
    await runtime.db(_viewed, runtime, viewer, message_id)
    names = await runtime.db(_committee_names, runtime)
    return await render(
        request, "outbox_message.html", viewer, detail=detail, committee_names=names, **_words()
    )


@router.post("/outbox/{message_id}/retry", response_model=None)
async def retry_message(
    request: Request, runtime: RuntimeDep, viewer: Staff, message_id: MessageId
) -> Response:
    """Send a failed or undelivered message again."""
    refused = await runtime.db(retry, runtime, message_id)
    if refused == "there is no such message":
        raise HTTPException(status.HTTP_404_NOT_FOUND, NO_MESSAGE)
    if refused is not None:
        await flash(request, viewer, "error", f"Not retried: {refused}.")
    else:
        await runtime.db(record, runtime, viewer, "outbox.retry", str(message_id), {})
        await flash(request, viewer, "ok", f"Message {message_id} is queued again.")
    return back(f"/admin/outbox/{message_id}")


@router.post("/outbox/{message_id}/cancel", response_model=None)
async def cancel_message(
    request: Request, runtime: RuntimeDep, viewer: Staff, message_id: MessageId
) -> Response:
    """Cancel a message that is still queued."""
    if await runtime.db(cancel, runtime, message_id):
        await runtime.db(record, runtime, viewer, "outbox.cancel", str(message_id), {})
        await flash(request, viewer, "ok", f"Message {message_id} cancelled.")
    else:
        await flash(request, viewer, "error", "Only a queued message can be cancelled.")
    return back(f"/admin/outbox/{message_id}")
