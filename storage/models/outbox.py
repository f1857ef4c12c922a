"""Every outbound SMS, as a row that survives restarts until it is sent or given up."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.db import Base, UtcDateTime, one_of


class OutboxStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"
    CANCELLED = "cancelled"


class MessageKind(StrEnum):
    """What a message is. `REPLY` answers an SMS the person just sent (a conversation
    screen, a keyword's or a command's answer) through a provider that takes no answer in
    its webhook's response (Africa's Talking): it goes out through the outbox."""

    ALERT = "alert"
    DIGEST = "digest"
    COMMAND_REPLY = "command_reply"
    REPORTER_MESSAGE = "reporter_message"
    CLOSING = "closing"
    ESCALATION = "escalation"
    CONFIRMATION = "confirmation"
    INFO_ALERT = "info_alert"
    REPLY = "reply"
    # "Another report (N) on incident X": a short alert for a case grouped in an incident.
    INCIDENT_REPORT = "incident_report"
    # A signal raised to a provincial committee.
    SIGNAL = "signal"


class RecipientKind(StrEnum):
    MEMBER = "member"
    REPORTER = "reporter"


class MessageChannel(StrEnum):
    """How a message reaches its recipient: a plain SMS, or WhatsApp."""

    SMS = "sms"
    WHATSAPP = "whatsapp"


class Provider(StrEnum):
    """The names a sender records in `OutboxMessage.provider` (one per sending provider)."""

    CONSOLE = "console"
    TWILIO = "twilio"
    AFRICASTALKING = "africastalking"


class OutboxMessage(Base):
    """One message (an SMS, or a WhatsApp message) to one number.

    Lifecycle: QUEUED > SENDING > SENT > DELIVERED, or UNDELIVERED / FAILED; CANCELLED when
    the recipient opted out. `channel` is how the message is meant to go (the member's
    channel, SMS for reporters) and, once sent, how it went; `channel_note` says why a
    message meant for WhatsApp went by SMS instead. A failed attempt that will be retried
    goes back to QUEUED with a later `next_attempt_at`. Final statuses never change, so late
    or out-of-order provider callbacks cannot move a row back. The number and the body are
    encrypted; a reporter's number is dropped as soon as it can no longer be needed (sent,
    delivered, finally failed, cancelled). `dedupe_key` makes queueing the same message
    twice a no-op.
    """

    __tablename__ = "outbox_messages"
    __table_args__ = (
        one_of("status", OutboxStatus),
        one_of("kind", MessageKind),
        one_of("recipient_kind", RecipientKind),
        one_of("channel", MessageChannel),
        Index("ix_outbox_messages_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(128), unique=True)
    recipient_kind: Mapped[str] = mapped_column(String(16))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("committee_members.id"))
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey("cases.id", ondelete="SET NULL"), index=True
    )
    to_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    to_pseudonym: Mapped[str] = mapped_column(String(64), index=True)
    body_enc: Mapped[bytes] = mapped_column(LargeBinary)
    language: Mapped[str] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.QUEUED)
    channel: Mapped[str] = mapped_column(
        String(16), default=MessageChannel.SMS, server_default=MessageChannel.SMS.value
    )
    channel_note: Mapped[str | None] = mapped_column(String(120))
    provider: Mapped[str | None] = mapped_column(String(16))
    provider_id: Mapped[str | None] = mapped_column(String(64), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(255))
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
