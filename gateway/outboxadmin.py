"""The outbox as people see it, shared by the console and the JSON API.

A reporter's number is never part of what is shown: a reporter's message says "reporter"
only, a member's shows the member's masked number. A body is read only by
`message_detail`, whose callers audit the view.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from fastapi import HTTPException, status

from gateway.runtime import Runtime
from storage import outbox, prefs
from storage.casenumber import display
from storage.committees import committee_by_code, list_committees, mask_phone
from storage.db import utcnow
from storage.models import (
    Case,
    MessageChannel,
    MessageKind,
    OutboxStatus,
    Provider,
    RecipientKind,
)
from storage.outbox import OutboxFilter, OutboxRow
from workers.notify import enqueue_sends

NO_MESSAGE = "There is no such message."


@dataclass(frozen=True, slots=True)
class MessageView:
    """One message as a page shows it: never a reporter's number. `channel` is how it is
    meant to go, or went once sent (sms, whatsapp); `channel_note` why a message meant for
    WhatsApp went by SMS; `provider` the provider that took it."""

    id: int
    created_at: datetime
    kind: str
    recipient_kind: str
    recipient: str
    committee: str | None
    status: str
    attempts: int
    last_error: str | None
    channel: str
    channel_note: str | None
    provider: str | None
    provider_id: str | None
    sent_at: datetime | None
    delivered_at: datetime | None
    next_attempt_at: datetime
    language: str
    retryable: bool


def message_view(row: OutboxRow) -> MessageView:
    """What may be shown of a message in a list or as JSON (no body)."""
    message = row.message
    recipient = mask_phone(row.member.phone) if row.member is not None else "reporter"
    return MessageView(
        id=message.id,
        created_at=message.created_at,
        kind=message.kind,
        recipient_kind=message.recipient_kind,
        recipient=recipient if message.recipient_kind == RecipientKind.MEMBER else "reporter",
        committee=row.committee.code if row.committee is not None else None,
        status=message.status,
        attempts=message.attempts,
        last_error=message.last_error,
        channel=message.channel,
        channel_note=message.channel_note,
        provider=message.provider,
        provider_id=message.provider_id,
        sent_at=message.sent_at,
        delivered_at=message.delivered_at,
        next_attempt_at=message.next_attempt_at,
        language=message.language,
        retryable=message.status in outbox.RETRYABLE and message.to_enc is not None,
    )


def _choice(value: str, allowed: type[StrEnum]) -> str | None:
    if not value:
        return None
    if value not in {item.value for item in allowed}:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"Unknown filter value {value[:32]!r}.")
    return value


def _day(value: str, name: str) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.combine(date.fromisoformat(value), time(), UTC)
    except ValueError:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"{name}: a date YYYY-MM-DD.") from None


@dataclass(frozen=True, slots=True)
class Filters:
    """The list's filters as typed in the form (strings), and what they mean."""

    status: str
    kind: str
    recipient: str
    committee: str
    date_from: str
    date_to: str
    channel: str = ""
    provider: str = ""

    def wanted(self, committee_id: int | None) -> OutboxFilter:
        until = _day(self.date_to, "to")
        return OutboxFilter(
            status=_choice(self.status, OutboxStatus),
            kind=_choice(self.kind, MessageKind),
            recipient_kind=_choice(self.recipient, RecipientKind),
            committee_id=committee_id,
            created_from=_day(self.date_from, "from"),
            created_to=until + timedelta(days=1) if until else None,
            channel=_choice(self.channel, MessageChannel),
            provider=_choice(self.provider, Provider),
        )


@dataclass(frozen=True, slots=True)
class Listing:
    rows: list[MessageView]
    total: int
    counts: dict[str, int]
    committees: list[str]


def listing(runtime: Runtime, filters: Filters, page: int, per_page: int) -> Listing:
    """One page of messages under `filters`, with the counts by status (HTTP 400 on bad ones)."""
    with runtime.sessions() as session:
        committee_id = None
        if filters.committee:
            committee = committee_by_code(session=session, code=filters.committee)
            if committee is None:
                raise HTTPException(status.HTTP_400_BAD_REQUEST, "Unknown committee.")
            committee_id = committee.id
        rows, total = outbox.list_messages(
            session=session,
            wanted=filters.wanted(committee_id),
            offset=(page - 1) * per_page,
            limit=per_page,
        )
        return Listing(
            rows=[message_view(row) for row in rows],
            total=total,
            counts=outbox.status_counts(session=session),
            committees=[c.code for c in list_committees(session=session, active_only=False)],
        )


@dataclass(frozen=True, slots=True)
class OptOutView:
    pseudonym: str
    short: str
    language: str | None
    since: datetime | None


def opt_outs(runtime: Runtime, page: int, per_page: int) -> tuple[list[OptOutView], int]:
    """One page of the STOP list, by pseudonym only."""
    with runtime.sessions() as session:
        rows, total = prefs.opted_out(session=session, offset=(page - 1) * per_page, limit=per_page)
        views = [
            OptOutView(row.pseudonym, row.pseudonym[:8], row.language, row.opted_out_at)
            for row in rows
        ]
        return views, total


def opt_out(runtime: Runtime, pseudonym: str) -> OptOutView:
    """One number on the STOP list; HTTP 404 when it is not on it."""
    with runtime.sessions() as session:
        found = prefs.get_prefs(session=session, pseudonym=pseudonym)
        if found is None or found.opted_out_at is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "This number is not on the STOP list.")
        return OptOutView(pseudonym, pseudonym[:8], found.language, found.opted_out_at)


def remove_opt_out(runtime: Runtime, pseudonym: str) -> None:
    """Take a number off the STOP list; HTTP 404 when it is not on it."""
    opt_out(runtime, pseudonym)
    with runtime.sessions.begin() as session:
        prefs.set_opted_out(session=session, pseudonym=pseudonym, opted_out=False, now=utcnow())


@dataclass(frozen=True, slots=True)
class MessageDetail:
    view: MessageView
    body: str
    case: str | None


def message_summary(runtime: Runtime, message_id: int) -> MessageView:
    """One message without its body; HTTP 404 for an unknown one."""
    with runtime.sessions() as session:
        row = outbox.message_row(session=session, message_id=message_id)
        if row is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, NO_MESSAGE)
        return message_view(row)


def message_detail(runtime: Runtime, message_id: int) -> MessageDetail:
    """One message with its body in clear (the caller audits the view)."""
    with runtime.sessions() as session:
        row = outbox.message_row(session=session, message_id=message_id)
        if row is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, NO_MESSAGE)
        case = session.get(Case, row.message.case_id) if row.message.case_id else None
        return MessageDetail(
            view=message_view(row),
            body=outbox.message_body(crypto=runtime.crypto, message=row.message),
            case=display(case.number) if case is not None else None,
        )


def retry(runtime: Runtime, message_id: int) -> str | None:
    """Queue a failed message again and enqueue its sending job; return why not, or None."""
    with runtime.sessions.begin() as session:
        refused = outbox.retry_message(session=session, message_id=message_id, now=utcnow())
    if refused is None:
        enqueue_sends([message_id], connection=runtime.redis)
    return refused


def cancel(runtime: Runtime, message_id: int) -> bool:
    """Cancel a queued message; HTTP 404 for an unknown one."""
    with runtime.sessions.begin() as session:
        if outbox.message_row(session=session, message_id=message_id) is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, NO_MESSAGE)
        return outbox.cancel_message(session=session, message_id=message_id, now=utcnow())
