"""The SMS outbox: queue a message once, claim it for sending, record what the provider said.

The sending job works in two short transactions around the provider call:
`claim_for_sending` (commit) > provider call > `mark_sent` or `mark_failed` (commit).
A worker that dies in between leaves the row in SENDING; `due_messages` hands it out again
after `STUCK_AFTER`, so a message is sent at least once (rarely twice), never lost.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, and_, case, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.db import expire_loaded
from storage.models import (
    Committee,
    CommitteeMember,
    MessageChannel,
    MessageKind,
    NumberPrefs,
    OutboxMessage,
    OutboxStatus,
    RecipientKind,
)
from storage.privacy import Crypto, is_e164

STUCK_AFTER = timedelta(minutes=10)
MAX_ERROR = 255
MAX_CHANNEL_NOTE = 120
FINAL_STATUSES = frozenset(
    {
        OutboxStatus.DELIVERED,
        OutboxStatus.UNDELIVERED,
        OutboxStatus.FAILED,
        OutboxStatus.CANCELLED,
    }
)
# The order a provider's callbacks may move a row forward in; final statuses end it.
_RANK = {
    OutboxStatus.QUEUED: 0,
    OutboxStatus.SENDING: 1,
    OutboxStatus.SENT: 2,
    OutboxStatus.DELIVERED: 3,
    OutboxStatus.UNDELIVERED: 3,
    OutboxStatus.FAILED: 3,
    OutboxStatus.CANCELLED: 3,
}
# Answers to a message the person just sent: STOP holds back what they did not ask for,
# not the answer to their own SMS (the confirmation of their STOP among them).
ANSWERS = frozenset({MessageKind.REPLY})
# A long digit run in a provider's error text may be the recipient's number.
_DIGITS = re.compile(r"\+?[0-9][0-9 ().-]{5,}[0-9]")


def _rowcount(session: Session, statement: Any) -> int:
    """Run a conditional UPDATE; return how many rows it changed."""
    options = statement.execution_options(synchronize_session=False)
    count = cast(CursorResult[Any], session.execute(options)).rowcount
    expire_loaded(session, OutboxMessage)
    return count


def _scrub(error: str) -> str:
    return _DIGITS.sub("<number>", error)[:MAX_ERROR]


def _opted_out(session: Session, pseudonym: str) -> bool:
    query = exists().where(
        NumberPrefs.pseudonym == pseudonym, NumberPrefs.opted_out_at.is_not(None)
    )
    return bool(session.scalar(select(query)))


def _by_dedupe_key(session: Session, dedupe_key: str) -> OutboxMessage | None:
    return session.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == dedupe_key))


def _erased_contact() -> Any:
    """The new `to_enc`: dropped for reporters, kept for members (officials)."""
    return case(
        (OutboxMessage.recipient_kind == RecipientKind.REPORTER, None),
        else_=OutboxMessage.to_enc,
    )


def _check(to_e164: str, kind: str, recipient_kind: str) -> None:
    if not is_e164(to_e164):
        raise ValueError("to_e164 is not an E.164 number")
    if kind not in set(MessageKind) or recipient_kind not in set(RecipientKind):
        raise ValueError(f"unknown message kind {kind!r} or recipient kind {recipient_kind!r}")


def _check_channel(channel: str) -> str:
    if channel not in set(MessageChannel):
        raise ValueError(f"unknown channel {channel!r}")
    return str(channel)


def _channel_for(session: Session, member_id: int | None, channel: str | None) -> str:
    """The channel a new message goes by: `channel` when given, else the member's, else SMS."""
    if channel is not None:
        return _check_channel(channel)
    member = session.get(CommitteeMember, member_id) if member_id is not None else None
    return MessageChannel.SMS.value if member is None else str(member.channel)


def _channel_values(channel: str | None, channel_note: str | None) -> dict[str, Any]:
    """What `mark_sent`/`mark_failed` record of how the sender sent: only what it said."""
    values: dict[str, Any] = {}
    if channel is not None:
        values["channel"] = _check_channel(channel)
    if channel_note is not None:
        values["channel_note"] = _scrub(channel_note)[:MAX_CHANNEL_NOTE] or None
    return values


def queue_sms(
    *,
    session: Session,
    crypto: Crypto,
    dedupe_key: str,
    to_e164: str,
    body: str,
    language: str,
    kind: str,
    recipient_kind: str,
    member_id: int | None = None,
    case_id: int | None = None,
    now: datetime,
    channel: str | None = None,
) -> OutboxMessage | None:
    """Queue one SMS; return None when a message with `dedupe_key` exists already.

    `channel` ("sms" or "whatsapp") is how the message is meant to go; left out, it is the
    channel of the member `member_id`, and SMS for anyone else (reporters). The sender
    records how it actually went with `mark_sent`. Number and body are stored encrypted.
    A recipient who opted out (STOP) gets a row in CANCELLED, without the number, so the
    intent is recorded and nothing is sent: enqueue a sending job only for a returned row
    whose status is QUEUED. An answer to the recipient's own SMS (`ANSWERS`) is sent all
    the same.
    """
    _check(to_e164, kind, recipient_kind)
    if channel is not None:
        _check_channel(channel)
    if _by_dedupe_key(session, dedupe_key) is not None:
        return None
    channel = _channel_for(session, member_id, channel)
    pseudonym = crypto.pseudonym(to_e164)
    cancelled = kind not in ANSWERS and _opted_out(session, pseudonym)
    message = OutboxMessage(
        dedupe_key=dedupe_key,
        recipient_kind=recipient_kind,
        member_id=member_id,
        case_id=case_id,
        to_enc=None if cancelled else crypto.encrypt(to_e164),
        to_pseudonym=pseudonym,
        body_enc=crypto.encrypt(body),
        language=language,
        kind=kind,
        channel=channel,
        status=OutboxStatus.CANCELLED if cancelled else OutboxStatus.QUEUED,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        updated_at=now,
    )
    try:
        with session.begin_nested():
            session.add(message)
    except IntegrityError:
        if _by_dedupe_key(session, dedupe_key) is None:
            raise
        return None
    return message


def _cancel(session: Session, message: OutboxMessage, now: datetime) -> None:
    message.status, message.to_enc, message.updated_at = OutboxStatus.CANCELLED, None, now
    message.last_error = "recipient opted out"
    session.flush()


def _claimable(now: datetime) -> Any:
    queued = and_(OutboxMessage.status == OutboxStatus.QUEUED, OutboxMessage.next_attempt_at <= now)
    stuck = and_(
        OutboxMessage.status == OutboxStatus.SENDING,
        OutboxMessage.updated_at <= now - STUCK_AFTER,
    )
    return or_(queued, stuck)


def claim_for_sending(*, session: Session, message_id: int, now: datetime) -> OutboxMessage | None:
    """Take a due message for sending (QUEUED > SENDING, attempts + 1); None if not due.

    Not due: already sent or being sent by another worker, retry time not reached, final,
    or the recipient has opted out since it was queued (it is CANCELLED then; an answer to
    their own SMS, `ANSWERS`, is still sent).
    """
    claim = (
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, _claimable(now))
        .values(status=OutboxStatus.SENDING, attempts=OutboxMessage.attempts + 1, updated_at=now)
    )
    if _rowcount(session, claim) != 1:
        return None
    message = session.get(OutboxMessage, message_id)
    if message is None:
        return None
    if message.kind not in ANSWERS and _opted_out(session, message.to_pseudonym):
        _cancel(session, message, now)
        return None
    return message


def _from_sending(message_id: int) -> Any:
    return update(OutboxMessage).where(
        OutboxMessage.id == message_id, OutboxMessage.status == OutboxStatus.SENDING
    )


def mark_sent(
    *,
    session: Session,
    message_id: int,
    provider: str,
    provider_id: str | None,
    now: datetime,
    delivered: bool = False,
    channel: str | None = None,
    channel_note: str | None = None,
) -> bool:
    """Record that the provider accepted a message (SENDING > SENT, or DELIVERED when the
    provider confirms delivery at once, as the console does); False if it was not SENDING.

    `channel` is how the message went when the sender chose otherwise than the row's
    channel (a WhatsApp message sent by SMS), `channel_note` a short reason ("whatsapp
    window closed: sent by SMS", at most 120 characters, digit runs masked); left out, the
    row keeps what it has. A reporter's number is dropped here: no retry can follow an
    accepted message.
    """
    status = OutboxStatus.DELIVERED if delivered else OutboxStatus.SENT
    statement = _from_sending(message_id).values(
        status=status,
        provider=provider,
        provider_id=provider_id,
        sent_at=now,
        delivered_at=now if delivered else None,
        last_error=None,
        to_enc=_erased_contact(),
        updated_at=now,
        **_channel_values(channel, channel_note),
    )
    return _rowcount(session, statement) == 1


def mark_failed(
    *,
    session: Session,
    message_id: int,
    final: bool,
    error: str,
    retry_at: datetime | None,
    now: datetime,
    channel: str | None = None,
    channel_note: str | None = None,
) -> bool:
    """Record a failed attempt: back to QUEUED until `retry_at`, or FAILED when `final`.

    A final failure drops a reporter's number. Digit runs in `error` (a provider may quote
    the number) are masked. `channel` and `channel_note` record, as in `mark_sent`, that
    the attempt went by another channel than the row's, and why (a retry is then meant to
    go by that channel too). False if the message was not SENDING.
    """
    if not final and retry_at is None:
        raise ValueError("a failure that will be retried needs retry_at")
    values: dict[str, Any] = {"last_error": _scrub(error), "updated_at": now}
    values |= _channel_values(channel, channel_note)
    if final:
        values |= {"status": OutboxStatus.FAILED, "to_enc": _erased_contact()}
    else:
        values |= {"status": OutboxStatus.QUEUED, "next_attempt_at": retry_at}
    statement = _from_sending(message_id).values(**values)
    return _rowcount(session, statement) == 1


def apply_status(
    *,
    session: Session,
    provider_id: str,
    status: str,
    error_code: str | None,
    now: datetime,
    provider: str | None = None,
) -> bool:
    """Apply a provider's status callback; False when it changes nothing.

    `status` is one of sent, delivered, undelivered, failed (the caller maps the provider's
    own words). Only forward moves apply: a late or repeated callback never takes a row
    back, and a final status is never changed. Delivered, undelivered and failed drop a
    reporter's number. With `provider`, only that provider's message is touched.
    """
    if status not in (OutboxStatus.SENT, *FINAL_STATUSES - {OutboxStatus.CANCELLED}):
        return False
    earlier = [known for known, rank in _RANK.items() if rank < _RANK[OutboxStatus(status)]]
    values: dict[str, Any] = {"status": status, "updated_at": now}
    if status in FINAL_STATUSES:
        values["to_enc"] = _erased_contact()
    if status == OutboxStatus.DELIVERED:
        values["delivered_at"] = now
    if error_code:
        values["last_error"] = _scrub(f"provider error {error_code}")
    statement = (
        update(OutboxMessage)
        .where(OutboxMessage.status.in_(earlier), *_of_provider(provider_id, provider))
        .values(**values)
    )
    return _rowcount(session, statement) > 0


def has_provider_id(*, session: Session, provider_id: str, provider: str | None = None) -> bool:
    """Whether a message with the provider's id `provider_id` is recorded (by `provider`)."""
    query = select(OutboxMessage.id).where(*_of_provider(provider_id, provider)).limit(1)
    return session.scalar(query) is not None


def _of_provider(provider_id: str, provider: str | None) -> list[Any]:
    found = [OutboxMessage.provider_id == provider_id]
    return found if provider is None else [*found, OutboxMessage.provider == provider]


def due_messages(*, session: Session, now: datetime, limit: int) -> list[int]:
    """Return ids of messages to (re)send: queued and due, or stuck in SENDING, oldest first."""
    query = (
        select(OutboxMessage.id)
        .where(_claimable(now))
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def recipient(*, crypto: Crypto, message: OutboxMessage) -> str | None:
    """Return the message's number in clear, or None once it has been dropped."""
    return None if message.to_enc is None else crypto.decrypt(message.to_enc)


def recipient_of(*, session: Session, crypto: Crypto, message_id: int) -> str | None:
    """The number a message goes to, in clear (None: no such message, or its number is
    dropped), read without claiming it."""
    message = session.get(OutboxMessage, message_id)
    return None if message is None else recipient(crypto=crypto, message=message)


def channel_of(*, session: Session, message_id: int) -> str:
    """The channel a message is meant to go by (SMS when there is no such message)."""
    message = session.get(OutboxMessage, message_id)
    return MessageChannel.SMS.value if message is None else str(message.channel)


def message_body(*, crypto: Crypto, message: OutboxMessage) -> str:
    """Return the message's text in clear."""
    return crypto.decrypt(message.body_enc)


# -- the console's view of the outbox ---------------------------------------------------------

RETRYABLE = frozenset({OutboxStatus.FAILED, OutboxStatus.UNDELIVERED})


@dataclass(frozen=True, slots=True)
class OutboxFilter:
    """What to list; None means any. Dates bound `created_at` (from inclusive, to exclusive)."""

    status: str | None = None
    kind: str | None = None
    recipient_kind: str | None = None
    committee_id: int | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    channel: str | None = None
    provider: str | None = None


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One message as the console lists it: no number, no body; the member, if one."""

    message: OutboxMessage
    member: CommitteeMember | None
    committee: Committee | None


def _conditions(wanted: OutboxFilter) -> list[Any]:
    conditions: list[Any] = []
    for column, value in (
        (OutboxMessage.status, wanted.status),
        (OutboxMessage.kind, wanted.kind),
        (OutboxMessage.recipient_kind, wanted.recipient_kind),
        (CommitteeMember.committee_id, wanted.committee_id),
        (OutboxMessage.channel, wanted.channel),
        (OutboxMessage.provider, wanted.provider),
    ):
        if value is not None:
            conditions.append(column == value)
    if wanted.created_from is not None:
        conditions.append(OutboxMessage.created_at >= wanted.created_from)
    if wanted.created_to is not None:
        conditions.append(OutboxMessage.created_at < wanted.created_to)
    return conditions


def list_messages(
    *, session: Session, wanted: OutboxFilter, offset: int, limit: int
) -> tuple[list[OutboxRow], int]:
    """Return one page of messages, newest first, and how many match in all."""
    joined = (
        select(OutboxMessage, CommitteeMember, Committee)
        .outerjoin(CommitteeMember, CommitteeMember.id == OutboxMessage.member_id)
        .outerjoin(Committee, Committee.id == CommitteeMember.committee_id)
        .where(*_conditions(wanted))
    )
    total = session.scalar(select(func.count()).select_from(joined.subquery())) or 0
    page = joined.order_by(OutboxMessage.id.desc()).offset(offset).limit(limit)
    rows = [
        OutboxRow(message, member, committee)
        for message, member, committee in session.execute(page)
    ]
    return rows, total


def message_row(*, session: Session, message_id: int) -> OutboxRow | None:
    """Return one message with its member and committee, if it exists."""
    message = session.get(OutboxMessage, message_id)
    if message is None:
        return None
    member = session.get(CommitteeMember, message.member_id) if message.member_id else None
    return OutboxRow(message, member, member.committee if member else None)


def status_counts(*, session: Session) -> dict[str, int]:
    """Return how many messages are in each status (every status listed, zero included)."""
    query = select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    found = {row[0]: row[1] for row in session.execute(query).all()}
    return {status.value: found.get(status.value, 0) for status in OutboxStatus}


def retry_message(*, session: Session, message_id: int, now: datetime) -> str | None:
    """Queue a failed or undelivered message again, due now; return why not, or None.

    A reporter's number is dropped when a message finally fails, so such a message cannot
    go out again. The caller enqueues the sending job after committing.
    """
    message = session.get(OutboxMessage, message_id)
    if message is None:
        return "there is no such message"
    if message.status not in RETRYABLE:
        return f"only a failed or undelivered message can be retried; this one is {message.status}"
    if message.to_enc is None:
        return "the number was dropped when the message failed, so it cannot be sent again"
    statement = (
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status.in_(RETRYABLE))
        .values(status=OutboxStatus.QUEUED, next_attempt_at=now, updated_at=now)
    )
    return None if _rowcount(session, statement) == 1 else "the message changed meanwhile"


def cancel_message(*, session: Session, message_id: int, now: datetime) -> bool:
    """Cancel a message still waiting in QUEUED (a reporter's number is dropped with it);
    False when it is not queued (being sent, sent, or final already)."""
    statement = (
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status == OutboxStatus.QUEUED)
        .values(
            status=OutboxStatus.CANCELLED,
            to_enc=_erased_contact(),
            last_error="cancelled from the console",
            updated_at=now,
        )
    )
    return _rowcount(session, statement) == 1
