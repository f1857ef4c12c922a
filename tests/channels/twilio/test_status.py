"""Twilio's outbound status callbacks move outbox rows forward only: late or repeated
callbacks never take a row back, and an unknown message is still answered 200. WhatsApp
messages are reported on the same callback, with WhatsApp's addresses and words."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from storage import outbox
from storage.keys import load_crypto
from storage.models import OutboxMessage, RecipientKind
from storage.settings import Settings
from tests.conftest import TWILIO_TOKEN
from tests.gateway.conftest import SmsPhone

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
MEMBER = "+243810000001"
REPORTER = "+243990000042"


@pytest.fixture
def twilio(app_client: TestClient) -> SmsPhone:
    return SmsPhone(app_client, "+15005550006", TWILIO_TOKEN, "https://sauti.example.org")


@pytest.fixture
def sent_message(
    app_client: TestClient, settings: Settings, db: sessionmaker[Session]
) -> Callable[..., str]:
    """An outbox row Twilio took, in SENT; return Twilio's id for it."""
    crypto = load_crypto(settings)

    def make(sid: str, *, to: str = MEMBER, channel: str = "sms") -> str:
        reporter = to == REPORTER
        with db.begin() as session:
            message = outbox.queue_sms(
                session=session,
                crypto=crypto,
                dedupe_key=f"test:{sid}",
                to_e164=to,
                body="hello",
                language="en",
                kind="reporter_message" if reporter else "alert",
                recipient_kind=RecipientKind.REPORTER if reporter else RecipientKind.MEMBER,
                now=NOW,
                channel=channel,
            )
            assert message is not None
            outbox.claim_for_sending(session=session, message_id=message.id, now=NOW)
            assert outbox.mark_sent(
                session=session, message_id=message.id, provider="twilio", provider_id=sid, now=NOW
            )
        return sid

    return make


def callback(twilio: SmsPhone, sid: str, status: str, error: str | None = None) -> int:
    form = {"MessageSid": sid, "MessageStatus": status, "AccountSid": "AC" + "0" * 32}
    if error:
        form["ErrorCode"] = error
    code, _ = twilio.post_form(form, path="/sms/twilio/status")
    return code


def row(db: sessionmaker[Session], sid: str) -> OutboxMessage:
    with db() as session:
        found = session.query(OutboxMessage).filter_by(provider_id=sid).one()
        return found


def test_delivered_then_late_callbacks_change_nothing(
    twilio: SmsPhone, sent_message: Callable[..., str], db: sessionmaker[Session]
) -> None:
    sid = sent_message("SM" + "1" * 32)
    for status in ("queued", "sending"):
        assert callback(twilio, sid, status) == 200
        assert row(db, sid).status == "sent"
    assert callback(twilio, sid, "delivered") == 200
    assert row(db, sid).status == "delivered"
    for late in ("sent", "sending", "failed", "undelivered"):
        assert callback(twilio, sid, late) == 200
        assert row(db, sid).status == "delivered"


def test_a_failure_arriving_before_sent_is_kept(
    twilio: SmsPhone, sent_message: Callable[..., str], db: sessionmaker[Session]
) -> None:
    sid = sent_message("SM" + "2" * 32)
    assert callback(twilio, sid, "undelivered", error="30003") == 200
    assert callback(twilio, sid, "sent") == 200
    found = row(db, sid)
    assert (found.status, found.last_error) == ("undelivered", "provider error 30003")


@pytest.mark.parametrize(
    ("twilio_word", "status"),
    [("read", "delivered"), ("canceled", "failed"), ("failed", "failed"), ("sent", "sent")],
)
def test_twilio_words_map_to_outbox_statuses(
    twilio: SmsPhone,
    sent_message: Callable[..., str],
    db: sessionmaker[Session],
    twilio_word: str,
    status: str,
) -> None:
    sid = sent_message("SM" + "3" * 32)
    assert callback(twilio, sid, twilio_word) == 200
    assert row(db, sid).status == status


def test_delivery_drops_a_reporters_number(
    twilio: SmsPhone, sent_message: Callable[..., str], db: sessionmaker[Session]
) -> None:
    sid = sent_message("SM" + "4" * 32, to=REPORTER)
    callback(twilio, sid, "delivered")
    assert row(db, sid).to_enc is None


def test_an_unknown_message_is_answered_200_and_its_status_held_an_hour(
    twilio: SmsPhone, redis_client: redis.Redis
) -> None:
    sid = "SM" + "9" * 32
    assert callback(twilio, sid, "delivered") == 200
    assert callback(twilio, sid, "undelivered", error="30003") == 200
    assert callback(twilio, "", "delivered") == 400  # not a message id: refused, not held
    assert callback(twilio, sid, "no-such-status") == 200
    key = f"sauti:early-status:{sid}"
    assert redis_client.hgetall(key) == {b"delivered": b"", b"undelivered": b"30003"}
    assert 0 < redis_client.ttl(key) <= 3600
    assert redis_client.keys("sauti:early-status:*") == [key.encode()]


def test_a_status_for_a_known_message_is_not_held(
    twilio: SmsPhone, sent_message: Callable[..., str], redis_client: redis.Redis
) -> None:
    sid = sent_message("SM" + "7" * 32)
    assert callback(twilio, sid, "delivered") == 200
    assert callback(twilio, sid, "sent") == 200  # late: changes nothing, and is not held
    assert redis_client.keys("sauti:early-status:*") == []


def whatsapp_callback(twilio: SmsPhone, sid: str, status: str, error: str = "") -> int:
    """A status callback as Twilio sends it for a WhatsApp message."""
    form = {
        "MessageSid": sid,
        "SmsSid": sid,
        "MessageStatus": status,
        "SmsStatus": status,
        "AccountSid": "AC" + "0" * 32,
        "From": "whatsapp:+14155238886",
        "To": "whatsapp:" + REPORTER,
        "ApiVersion": "2010-04-01",
        "ChannelPrefix": "whatsapp",
        "ChannelInstallSid": "XE" + "1" * 32,
        "ChannelToAddress": "+24399XXXXX42",
        "ChannelStatusMessage": "",
        "StructuredMessage": "false",
    }
    if error:
        form |= {"ErrorCode": error, "ErrorMessage": "Message failed to send"}
    code, _ = twilio.post_form(form, path="/sms/twilio/status")
    return code


def test_a_whatsapp_message_read_by_its_reporter_is_delivered(
    twilio: SmsPhone, sent_message: Callable[..., str], db: sessionmaker[Session]
) -> None:
    sid = sent_message("SM" + "5" * 32, to=REPORTER, channel="whatsapp")
    assert whatsapp_callback(twilio, sid, "sent") == 200
    assert whatsapp_callback(twilio, sid, "read") == 200
    found = row(db, sid)
    assert (found.status, found.channel, found.to_enc) == ("delivered", "whatsapp", None)
    assert whatsapp_callback(twilio, sid, "delivered") == 200  # late: changes nothing
    assert row(db, sid).status == "delivered"


def test_a_whatsapp_message_outside_the_window_fails_with_its_error(
    twilio: SmsPhone, sent_message: Callable[..., str], db: sessionmaker[Session]
) -> None:
    sid = sent_message("SM" + "6" * 32, to=REPORTER, channel="whatsapp")
    assert whatsapp_callback(twilio, sid, "failed", error="63016") == 200
    found = row(db, sid)
    assert (found.status, found.last_error) == ("failed", "provider error 63016")
