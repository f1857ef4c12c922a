"""JSON API: the SMS outbox, retrying and cancelling messages, and the STOP list.

As in the console: no reporter's number ever, members' numbers masked, a message's body
only from its own route (audited).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, status
from pydantic import BaseModel
from pydantic.dataclasses import dataclass

from gateway.api.deps import api_allow
from gateway.backoffice.tokens import Claims
from gateway.deps import RuntimeDep
from gateway.outboxadmin import (
    NO_MESSAGE,
    Filters,
    MessageView,
    cancel,
    listing,
    message_detail,
    message_summary,
    opt_outs,
    remove_opt_out,
    retry,
)
from gateway.runtime import Runtime
from storage.db import utcnow
from storage.models import MessageChannel, MessageKind, OutboxStatus, Provider, RecipientKind
from storage.users import audit

router = APIRouter(tags=["outbox"])
Staff = Annotated[Claims, Depends(api_allow("outbox"))]
MessageId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Pseudonym = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")]
MAX_PER_PAGE = 200
CommitteeCode = Annotated[str | None, Query(max_length=64, pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")]


@dataclass(frozen=True)
class MessageOut(MessageView):
    pass


@dataclass(frozen=True)
class MessageDetailOut(MessageOut):
    body: str
    case: str | None


class MessagePage(BaseModel):
    items: list[MessageOut]
    total: int
    page: int
    per_page: int
    counts: dict[str, int]


class OptOutOut(BaseModel):
    pseudonym: str
    language: str | None
    since: datetime | None


class OptOutPage(BaseModel):
    items: list[OptOutOut]
    total: int
    page: int
    per_page: int


def _message(view: MessageView) -> MessageOut:
    return MessageOut(**asdict(view))


@router.get("/outbox")
async def messages(
    runtime: RuntimeDep,
    principal: Staff,
    status_: Annotated[OutboxStatus | None, Query(alias="status")] = None,
    kind: MessageKind | None = None,
    recipient_kind: RecipientKind | None = None,
    committee: CommitteeCode = None,
    created_from: date | None = None,
    created_to: date | None = None,
    channel: MessageChannel | None = None,
    provider: Provider | None = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = 50,
) -> MessagePage:
    """List outbound messages, newest first, with counts by status (no bodies, no numbers);
    each with its channel (and why it went by SMS when it was meant for WhatsApp) and the
    provider that took it."""
    filters = Filters(
        status=status_ or "",
        kind=kind or "",
        recipient=recipient_kind or "",
        committee=committee or "",
        date_from=created_from.isoformat() if created_from else "",
        date_to=created_to.isoformat() if created_to else "",
        channel=channel or "",
        provider=provider or "",
    )
    found = await runtime.db(listing, runtime, filters, page, per_page)
    return MessagePage(
        items=[_message(row) for row in found.rows],
        total=found.total,
        page=page,
        per_page=per_page,
        counts=found.counts,
    )


@router.get("/outbox/optouts")
async def optouts(
    runtime: RuntimeDep,
    principal: Staff,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = 50,
) -> OptOutPage:
    """List the STOP list by pseudonym, latest first."""
    rows, total = await runtime.db(opt_outs, runtime, page, per_page)
    return OptOutPage(
        items=[OptOutOut(pseudonym=r.pseudonym, language=r.language, since=r.since) for r in rows],
        total=total,
        page=page,
        per_page=per_page,
    )


def _audit(runtime: Runtime, principal: Claims, action: str, target: str) -> None:
    with runtime.sessions.begin() as session:
        audit(session=session, actor=principal.username, action=action, target=target, now=utcnow())


@router.delete("/outbox/optouts/{pseudonym}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_optout(pseudonym: Pseudonym, runtime: RuntimeDep, principal: Staff) -> None:
    """Take a number off the STOP list (it will get SMS again)."""
    await runtime.db(remove_opt_out, runtime, pseudonym)
    await runtime.db(_audit, runtime, principal, "optout.remove", pseudonym[:8])


@router.get("/outbox/{message_id}")
async def message(message_id: MessageId, runtime: RuntimeDep, principal: Staff) -> MessageDetailOut:
    """Show one message with its text (an audited view)."""
    detail = await runtime.db(message_detail, runtime, message_id)
    await runtime.db(_audit, runtime, principal, "outbox.view_text", str(message_id))
    return MessageDetailOut(**asdict(detail.view), body=detail.body, case=detail.case)


@router.post("/outbox/{message_id}/retry", status_code=status.HTTP_202_ACCEPTED)
async def retry_message(message_id: MessageId, runtime: RuntimeDep, principal: Staff) -> MessageOut:
    """Queue a failed or undelivered message again and enqueue its sending."""
    refused = await runtime.db(retry, runtime, message_id)
    if refused == "there is no such message":
        raise HTTPException(status.HTTP_404_NOT_FOUND, NO_MESSAGE)
    if refused is not None:
        raise HTTPException(status.HTTP_409_CONFLICT, refused)
    await runtime.db(_audit, runtime, principal, "outbox.retry", str(message_id))
    return _message(await runtime.db(message_summary, runtime, message_id))


@router.post("/outbox/{message_id}/cancel")
async def cancel_message(
    message_id: MessageId, runtime: RuntimeDep, principal: Staff
) -> MessageOut:
    """Cancel a message that is still queued."""
    if not await runtime.db(cancel, runtime, message_id):
        raise HTTPException(status.HTTP_409_CONFLICT, "only a queued message can be cancelled")
    await runtime.db(_audit, runtime, principal, "outbox.cancel", str(message_id))
    return _message(await runtime.db(message_summary, runtime, message_id))
