"""One provider per country: SAUTI_SMS_PROVIDER read, and each message sent through the
provider of its recipient's country, with that provider's own rate limit."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import redis
from pydantic import ValidationError

from gateway.channels.registry import senders
from storage import outbox
from storage.models import RecipientKind
from storage.settings import Settings, sms_provider_map
from tests.workers.conftest import NOW, outbox_rows
from workers import context
from workers.context import WorkerContext
from workers.notify import send_sms
from workers.outbound import OutboundMessage, Senders, Sent

CONGO, RWANDA, KENYA = "+243810000011", "+250788123456", "+254712345678"


@dataclass
class Recording:
    name: str
    sent: list[str] = field(default_factory=list)

    def send(self, message: OutboundMessage) -> Sent:
        self.sent.append(message.to)
        return Sent(provider_id=f"{self.name}-{len(self.sent)}")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("console", {"*": "console"}),
        ("twilio", {"*": "twilio"}),
        (
            "CD=africastalking, rw=twilio,*=twilio",
            {"CD": "africastalking", "RW": "twilio", "*": "twilio"},
        ),
    ],
)
def test_the_provider_setting_is_one_name_or_one_per_country(
    value: str, expected: dict[str, str]
) -> None:
    assert sms_provider_map(value) == expected
    assert Settings(sauti_sms_provider=value).sms_providers == expected


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("nexmo", "unknown provider"),
        ("CD=africastalking", "every other country"),
        ("XX=twilio,*=twilio", "ISO 3166"),
        ("CD=twilio,cd=africastalking,*=twilio", "named twice"),
        ("CD=,*=twilio", "unknown provider"),
    ],
)
def test_an_unusable_provider_setting_is_refused_saying_why(value: str, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        Settings(sauti_sms_provider=value)


def test_each_number_gets_the_sender_of_its_country() -> None:
    congo, other = Recording("africastalking"), Recording("twilio")
    chosen = Senders({"CD": congo, "*": other})
    assert chosen.for_number(CONGO) is congo
    assert chosen.for_number(RWANDA) is other
    assert chosen.for_number("not a number") is other
    assert list(chosen) == [congo, other]
    with pytest.raises(ValueError, match="every other country"):
        Senders({"CD": congo})


def test_the_registry_builds_each_named_provider_once(settings: Settings) -> None:
    mapped = settings.model_copy(update={"sauti_sms_provider": "CD=twilio,RW=twilio,*=console"})
    built = senders(mapped)
    assert built.for_number(CONGO) is built.for_number(RWANDA)
    assert built.for_number(CONGO).name == "twilio"
    assert built.for_number(KENYA).name == "console"
    missing = settings.model_copy(update={"sauti_sms_provider": "twilio", "twilio_from": ""})
    with pytest.raises(ValueError, match="TWILIO_FROM"):
        senders(missing)


@pytest.fixture
def mapped(settings: Settings, redis_client: redis.Redis) -> Iterator[tuple[WorkerContext, ...]]:
    congo, other = Recording("africastalking"), Recording("twilio")
    built = context.build(settings, senders=Senders({"CD": congo, "*": other}))
    context.use(built)
    yield built, congo, other  # type: ignore[misc]
    context.use(None)


def _queue(ctx: WorkerContext, to: str) -> int:
    with ctx.sessions.begin() as session:
        message = outbox.queue_sms(
            session=session,
            crypto=ctx.crypto,
            dedupe_key=f"test:{to}",
            to_e164=to,
            body="Sauti case 482-177-3506: Accident, Bisie. Reply ACK 4821773506",
            language="en",
            kind="alert",
            recipient_kind=RecipientKind.MEMBER,
            now=NOW,
        )
        assert message is not None
        return message.id


def test_the_worker_sends_through_the_provider_of_the_recipients_country(
    mapped: tuple[WorkerContext, Recording, Recording],
) -> None:
    ctx, congo, other = mapped
    first, second = _queue(ctx, CONGO), _queue(ctx, RWANDA)
    assert send_sms(first, now=NOW) == "sent"
    assert send_sms(second, now=NOW) == "sent"
    assert (congo.sent, other.sent) == ([CONGO], [RWANDA])
    rows = {row.row.id: row.row for row in outbox_rows(ctx)}
    assert (rows[first].provider, rows[first].provider_id) == ("africastalking", "africastalking-1")
    assert (rows[second].provider, rows[second].provider_id) == ("twilio", "twilio-1")
    assert set(ctx.rate_limits) == {"africastalking", "twilio"}


def test_a_busy_provider_defers_only_its_own_messages(
    mapped: tuple[WorkerContext, Recording, Recording], monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx, congo, other = mapped
    monkeypatch.setattr(ctx.rate_limits["africastalking"], "acquire", lambda: False)
    assert send_sms(_queue(ctx, CONGO), now=NOW) == "deferred"
    assert send_sms(_queue(ctx, RWANDA), now=NOW) == "sent"
    assert (congo.sent, other.sent) == ([], [RWANDA])


@dataclass
class WhatsAppCapable(Recording):
    channels: frozenset[str] = frozenset({"sms", "whatsapp"})


def test_a_whatsapp_message_goes_to_a_sender_that_reaches_whatsapp_only_if_there_is_one(
    settings: Settings,
) -> None:
    congo, twilio_sms = Recording("africastalking"), Recording("twilio")
    assert Senders({"CD": congo, "*": twilio_sms}).for_message(CONGO, "whatsapp") is congo
    twilio_wa = WhatsAppCapable("twilio")
    assert Senders({"CD": congo, "*": twilio_wa}).for_message(CONGO, "whatsapp") is twilio_wa
    assert Senders({"CD": congo, "*": twilio_wa}).for_message(CONGO, "sms") is congo
    # Twilio without TWILIO_WHATSAPP_FROM reaches SMS only, so it takes no WhatsApp row.
    assert senders(settings.model_copy(update={"sauti_sms_provider": "twilio"})).for_number(
        CONGO
    ).channels == frozenset({"sms"})  # type: ignore[attr-defined]
