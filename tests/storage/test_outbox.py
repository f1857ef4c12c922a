"""The SMS outbox: queued once, claimed once, statuses only move forward, reporters'
numbers dropped when no longer needed."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from storage.committees import import_committees_yaml
from storage.models import CommitteeMember, NumberPrefs, OutboxMessage
from storage.outbox import (
    STUCK_AFTER,
    OutboxFilter,
    apply_status,
    claim_for_sending,
    due_messages,
    list_messages,
    mark_failed,
    mark_sent,
    message_body,
    queue_sms,
    recipient,
)
from storage.privacy import Crypto

MEMBER = "+243810000001"
REPORTER = "+243990000042"


def _queue(
    session: Session,
    crypto: Crypto,
    now: datetime,
    *,
    key: str = "alert:1:1",
    to: str = MEMBER,
    recipient_kind: str = "member",
    kind: str = "alert",
) -> OutboxMessage | None:
    return queue_sms(
        session=session,
        crypto=crypto,
        dedupe_key=key,
        to_e164=to,
        body="Kesi 482-177-3506: ajali, Bisie. Jibu ACK 4821773506",
        language="sw",
        kind=kind,
        recipient_kind=recipient_kind,
        now=now,
    )


def _sent(session: Session, crypto: Crypto, now: datetime, **kw: str) -> OutboxMessage:
    message = _queue(session, crypto, now, **kw)
    assert message is not None
    assert claim_for_sending(session=session, message_id=message.id, now=now) is message
    assert mark_sent(
        session=session, message_id=message.id, provider="twilio", provider_id="SM1", now=now
    )
    return message


def test_queue_is_idempotent_by_dedupe_key(session: Session, crypto: Crypto, now: datetime) -> None:
    first = _queue(session, crypto, now)
    assert first is not None
    assert _queue(session, crypto, now) is None
    assert (first.status, first.attempts, first.next_attempt_at) == ("queued", 0, now)
    assert recipient(crypto=crypto, message=first) == MEMBER
    assert message_body(crypto=crypto, message=first).startswith("Kesi")
    assert first.to_pseudonym == crypto.pseudonym(MEMBER)


def test_number_and_body_are_encrypted_at_rest(
    session: Session, crypto: Crypto, now: datetime
) -> None:
    _queue(session, crypto, now, to=REPORTER, recipient_kind="reporter", kind="reporter_message")
    session.commit()
    row = session.execute(text("SELECT to_enc, body_enc FROM outbox_messages")).one()
    stored = bytes(row[0]) + bytes(row[1])
    assert REPORTER[1:].encode() not in stored
    assert b"Bisie" not in stored


def test_a_phone_number_must_be_e164(session: Session, crypto: Crypto, now: datetime) -> None:
    with pytest.raises(ValueError, match=r"E\.164"):
        _queue(session, crypto, now, to="0812345678")
    with pytest.raises(ValueError, match="kind"):
        _queue(session, crypto, now, kind="spam")


def test_opted_out_numbers_are_never_sent_to(
    session: Session, crypto: Crypto, now: datetime
) -> None:
    pseudonym = crypto.pseudonym(REPORTER)
    session.add(NumberPrefs(pseudonym=pseudonym, opted_out_at=now, created_at=now, updated_at=now))
    message = _queue(session, crypto, now, to=REPORTER, recipient_kind="reporter")
    assert message is not None
    assert (message.status, message.to_enc) == ("cancelled", None)
    assert claim_for_sending(session=session, message_id=message.id, now=now) is None


def test_opting_out_after_queueing_cancels_at_claim(
    session: Session, crypto: Crypto, now: datetime
) -> None:
    message = _queue(session, crypto, now)
    assert message is not None
    session.add(
        NumberPrefs(
            pseudonym=crypto.pseudonym(MEMBER), opted_out_at=now, created_at=now, updated_at=now
        )
    )
    assert claim_for_sending(session=session, message_id=message.id, now=now) is None
    assert message.status == "cancelled"


def test_a_message_is_claimed_once(session: Session, crypto: Crypto, now: datetime) -> None:
    message = _queue(session, crypto, now)
    assert message is not None
    claimed = claim_for_sending(session=session, message_id=message.id, now=now)
    assert claimed is message
    assert (message.status, message.attempts) == ("sending", 1)
    assert claim_for_sending(session=session, message_id=message.id, now=now) is None
    assert claim_for_sending(session=session, message_id=424242, now=now) is None


def test_retry_waits_for_its_time_then_final_failure_drops_a_reporter_number(
    session: Session, crypto: Crypto, now: datetime
) -> None:
    message = _queue(session, crypto, now, to=REPORTER, recipient_kind="reporter")
    assert message is not None
    claim_for_sending(session=session, message_id=message.id, now=now)
    retry_at = now + timedelta(minutes=2)
    assert mark_failed(
        session=session,
        message_id=message.id,
        final=False,
        error=f"HTTP 503 sending to {REPORTER}",
        retry_at=retry_at,
        now=now,
    )
    assert (message.status, message.next_attempt_at) == ("queued", retry_at)
    assert message.last_error == "HTTP 503 sending to <number>"
    assert message.to_enc is not None
    assert claim_for_sending(session=session, message_id=message.id, now=now) is None
    assert due_messages(session=session, now=now, limit=10) == []
    assert due_messages(session=session, now=retry_at, limit=10) == [message.id]
    claim_for_sending(session=session, message_id=message.id, now=retry_at)
    assert mark_failed(
        session=session,
        message_id=message.id,
        final=True,
        error="timeout",
        retry_at=None,
        now=retry_at,
    )
    assert (message.status, message.attempts, message.to_enc) == ("failed", 2, None)
    assert not mark_failed(
        session=session, message_id=message.id, final=True, error="again", retry_at=None, now=now
    )


def test_statuses_only_move_forward(session: Session, crypto: Crypto, now: datetime) -> None:
    message = _sent(session, crypto, now)
    later = now + timedelta(seconds=5)
    assert not apply_status(
        session=session, provider_id="SM1", status="sent", error_code=None, now=later
    )
    assert apply_status(
        session=session, provider_id="SM1", status="delivered", error_code=None, now=later
    )
    assert (message.status, message.delivered_at) == ("delivered", later)
    for late in ("sent", "queued", "sending", "failed", "undelivered", "delivered"):
        assert not apply_status(
            session=session, provider_id="SM1", status=late, error_code="30003", now=later
        )
    assert message.status == "delivered"
    assert message.to_enc is not None  # a member's (official's) number is kept
    assert not apply_status(
        session=session, provider_id="SM-unknown", status="delivered", error_code=None, now=later
    )
    assert not apply_status(
        session=session, provider_id="SM1", status="read", error_code=None, now=later
    )


def test_undelivered_is_final_and_records_the_error(
    session: Session, crypto: Crypto, now: datetime
) -> None:
    message = _sent(session, crypto, now)
    assert apply_status(
        session=session, provider_id="SM1", status="undelivered", error_code="30005", now=now
    )
    assert (message.status, message.last_error) == ("undelivered", "provider error 30005")
    assert not apply_status(
        session=session, provider_id="SM1", status="delivered", error_code=None, now=now
    )


def test_a_reporter_number_is_dropped_once_sent(
    session: Session, crypto: Crypto, now: datetime
) -> None:
    message = _sent(session, crypto, now, to=REPORTER, recipient_kind="reporter")
    assert (message.status, message.provider, message.provider_id) == ("sent", "twilio", "SM1")
    assert message.to_enc is None
    assert recipient(crypto=crypto, message=message) is None
    assert message.to_pseudonym == crypto.pseudonym(REPORTER)


def test_console_delivery_is_immediate(session: Session, crypto: Crypto, now: datetime) -> None:
    message = _queue(session, crypto, now, to=REPORTER, recipient_kind="reporter")
    assert message is not None
    claim_for_sending(session=session, message_id=message.id, now=now)
    assert mark_sent(
        session=session,
        message_id=message.id,
        provider="console",
        provider_id=None,
        now=now,
        delivered=True,
    )
    assert (message.status, message.delivered_at, message.to_enc) == ("delivered", now, None)
    assert not mark_sent(
        session=session, message_id=message.id, provider="console", provider_id=None, now=now
    )


def test_due_messages_include_stuck_sends(session: Session, crypto: Crypto, now: datetime) -> None:
    stuck = _queue(session, crypto, now, key="a")
    waiting = _queue(session, crypto, now, key="b")
    _queue(session, crypto, now + timedelta(hours=1), key="later")
    assert stuck is not None
    assert waiting is not None
    claim_for_sending(session=session, message_id=stuck.id, now=now)
    assert due_messages(session=session, now=now, limit=10) == [waiting.id]
    after = now + STUCK_AFTER
    assert due_messages(session=session, now=after, limit=10) == [stuck.id, waiting.id]
    assert due_messages(session=session, now=after, limit=1) == [stuck.id]
    assert claim_for_sending(session=session, message_id=stuck.id, now=after) is stuck
    assert stuck.attempts == 2


CHANNEL_COMMITTEE = """\
- code: cd-national
  name: DR Congo national committee
  level: national
  location: cd
  language: fr
  timezone: Africa/Kinshasa
  digest_at: "07:05"
  members:
    - {name: By WhatsApp, phone: "+243 81 000 0201", channel: whatsapp}
    - {name: By SMS, phone: "+243 81 000 0202"}
"""
FALLBACK = "whatsapp window closed: sent by SMS"


@pytest.fixture
def members(session: Session, crypto: Crypto, demo_places: None) -> dict[str, CommitteeMember]:
    """Two focal points, one reached by WhatsApp and one by SMS, by channel."""
    import_committees_yaml(session=session, crypto=crypto, source=io.StringIO(CHANNEL_COMMITTEE))
    found = session.scalars(select(CommitteeMember).order_by(CommitteeMember.id)).all()
    return {member.channel: member for member in found}


def _to_member(
    session: Session, crypto: Crypto, now: datetime, member: CommitteeMember, **kw: Any
) -> OutboxMessage:
    message = queue_sms(
        session=session,
        crypto=crypto,
        dedupe_key=f"alert:{member.id}:{kw.get('channel')}",
        to_e164=member.phone,
        body="Kesi 482-177-3506",
        language="fr",
        kind="alert",
        recipient_kind="member",
        member_id=member.id,
        now=now,
        **kw,
    )
    assert message is not None
    return message


def test_a_message_goes_by_its_members_channel_unless_told_otherwise(
    session: Session, crypto: Crypto, now: datetime, members: dict[str, CommitteeMember]
) -> None:
    assert _to_member(session, crypto, now, members["whatsapp"]).channel == "whatsapp"
    assert _to_member(session, crypto, now, members["sms"]).channel == "sms"
    told = _to_member(session, crypto, now, members["whatsapp"], channel="sms")
    assert told.channel == "sms"
    reporter = _queue(session, crypto, now, key="r", to=REPORTER, recipient_kind="reporter")
    assert reporter is not None
    assert (reporter.channel, reporter.channel_note) == ("sms", None)
    by_whatsapp = queue_sms(
        session=session,
        crypto=crypto,
        dedupe_key="r-wa",
        to_e164=REPORTER,
        body="Your case 482-177-3506",
        language="sw",
        kind="confirmation",
        recipient_kind="reporter",
        now=now,
        channel="whatsapp",
    )
    assert by_whatsapp is not None
    assert by_whatsapp.channel == "whatsapp"
    with pytest.raises(ValueError, match="unknown channel"):
        _to_member(session, crypto, now, members["sms"], channel="pigeon")
    session.expire_all()
    stored = session.scalars(select(OutboxMessage.channel).order_by(OutboxMessage.id)).all()
    assert stored == ["whatsapp", "sms", "sms", "sms", "whatsapp"]


def test_the_sender_records_the_channel_it_used_and_why(
    session: Session, crypto: Crypto, now: datetime, members: dict[str, CommitteeMember]
) -> None:
    fell_back = _to_member(session, crypto, now, members["whatsapp"])
    as_meant = _to_member(session, crypto, now, members["whatsapp"], channel="whatsapp")
    for message in (fell_back, as_meant):
        assert claim_for_sending(session=session, message_id=message.id, now=now) is message
    assert mark_sent(
        session=session,
        message_id=fell_back.id,
        provider="twilio",
        provider_id="SM1",
        now=now,
        channel="sms",
        channel_note=FALLBACK,
    )
    assert mark_sent(
        session=session, message_id=as_meant.id, provider="twilio", provider_id="SM2", now=now
    )
    assert (fell_back.provider, fell_back.channel, fell_back.channel_note) == (
        "twilio",
        "sms",
        FALLBACK,
    )
    assert (as_meant.provider, as_meant.channel, as_meant.channel_note) == (
        "twilio",
        "whatsapp",
        None,
    )


def test_a_failed_attempt_may_record_its_channel_and_a_note_is_masked_and_bounded(
    session: Session, crypto: Crypto, now: datetime, members: dict[str, CommitteeMember]
) -> None:
    message = _to_member(session, crypto, now, members["whatsapp"])
    claim_for_sending(session=session, message_id=message.id, now=now)
    with pytest.raises(ValueError, match="unknown channel"):
        mark_sent(
            session=session,
            message_id=message.id,
            provider="twilio",
            provider_id="SM1",
            now=now,
            channel="fax",
        )
    note = f"whatsapp refused {members['whatsapp'].phone}: sent by SMS " + "x" * 200
    assert mark_failed(
        session=session,
        message_id=message.id,
        final=False,
        error="twilio http 503",
        retry_at=now + timedelta(minutes=1),
        now=now,
        channel="sms",
        channel_note=note,
    )
    assert (message.status, message.channel) == ("queued", "sms")
    assert message.channel_note is not None
    assert message.channel_note.startswith("whatsapp refused <number>: sent by SMS x")
    assert len(message.channel_note) == 120


def test_the_list_filters_by_channel_and_provider(
    session: Session, crypto: Crypto, now: datetime, members: dict[str, CommitteeMember]
) -> None:
    whatsapp = _to_member(session, crypto, now, members["whatsapp"])
    sms = _to_member(session, crypto, now, members["sms"])
    claim_for_sending(session=session, message_id=sms.id, now=now)
    mark_sent(session=session, message_id=sms.id, provider="console", provider_id=None, now=now)

    def ids(**wanted: Any) -> list[int]:
        rows, total = list_messages(
            session=session, wanted=OutboxFilter(**wanted), offset=0, limit=10
        )
        assert total == len(rows)
        return [row.message.id for row in rows]

    assert ids(channel="whatsapp") == [whatsapp.id]
    assert ids(channel="sms") == [sms.id]
    assert ids(provider="console") == [sms.id]
    assert ids(provider="twilio") == []
    assert ids(channel="whatsapp", provider="console") == []
    assert ids() == [sms.id, whatsapp.id]
