"""Console pages: the SMS outbox (statuses, failures, retry, cancel) and the STOP list.

A reporter's number is never shown: a reporter's message says "reporter" only, a member's
shows the member's masked number. Bodies are free text, so they appear only on a message's
own page, and each such view is audited. The STOP list is shown by pseudonym prefix.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Query, Request, status
from fastapi.responses import HTMLResponse, Response

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
from storage.models import MessageChannel, MessageKind, OutboxStatus, Provider, RecipientKind

router = APIRouter()
PER_PAGE = 50
MAX_PAGE = 100_000
MessageId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Pseudonym = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")]
PageNumber = Annotated[int, Query(ge=1, le=MAX_PAGE)]
Choice = Annotated[str, Query(max_length=64)]
Staff = Annotated[Viewer, Depends(allow("outbox"))]


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
    query = {k: v for k, v in request.query_params.items() if k != "page" and v}
    return await render(
        request,
        "outbox_list.html",
        viewer,
        listing=found,
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
    await runtime.db(record, runtime, viewer, "outbox.view_text", str(message_id), {})
    return await render(request, "outbox_message.html", viewer, detail=detail)


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
