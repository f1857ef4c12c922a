"""The console provider's file: numbers and texts as sent on a loopback run only. Behind a
public URL the provider is refused unless SAUTI_CONSOLE_PROVIDER_ALLOWED asks for it, and
its file then masks reporters' numbers and withholds the texts that may quote a reporter."""

from __future__ import annotations

import pytest

from gateway.channels.console import send as console_send
from gateway.channels.console.send import ConsoleProvider
from gateway.channels.registry import senders
from storage import outbox
from storage.committees import mask_phone
from storage.models import MessageKind, RecipientKind
from storage.settings import Settings
from tests.leaks import NumberScan, file_lines, number_forms
from tests.workers.conftest import NOW, console_lines
from workers.context import WorkerContext
from workers.notify import send_sms
from workers.outbound import OutboundMessage

MEMBER = "+243810000011"
REPORTER = "+243812345678"
LOOPBACK = {"sauti_public_url": "http://127.0.0.1:8000", "sauti_console_provider_allowed": False}
# What each kind of message says; an alert and an escalation quote the reporter.
QUOTE = "Soldiers of the mine police take 5000 francs from each digger, call 0812345678"
TEXTS = {
    MessageKind.ALERT: f'Sauti case 482-177-3506 (HIGH): Illegal tax, Mpama. "{QUOTE}"',
    MessageKind.ESCALATION: f'Sauti case 482-177-3506 passed to you. "{QUOTE}"',
    MessageKind.DIGEST: "Sauti 26/11: 2 open. NEW: 482-177-3506 HIGH Illegal tax, Mpama",
    MessageKind.REPORTER_MESSAGE: "Sauti case 482-177-3506. The committee says: we come Friday",
    MessageKind.CLOSING: "Sauti case 482-177-3506 is closed: the problem was resolved.",
}
TO_REPORTER = {MessageKind.REPORTER_MESSAGE, MessageKind.CLOSING}


@pytest.fixture
def settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    """The suite's settings (a public URL, the console provider allowed), or with the
    changes a test passes by indirect parametrisation."""
    return settings.model_copy(update=getattr(request, "param", {}))


def send_each_kind(ctx: WorkerContext) -> None:
    for index, (kind, body) in enumerate(TEXTS.items()):
        to_reporter = kind in TO_REPORTER
        with ctx.sessions.begin() as session:
            message = outbox.queue_sms(
                session=session,
                crypto=ctx.crypto,
                dedupe_key=f"console:{index}",
                to_e164=REPORTER if to_reporter else MEMBER,
                body=body,
                language="en",
                kind=kind,
                recipient_kind=RecipientKind.REPORTER if to_reporter else RecipientKind.MEMBER,
                now=NOW,
            )
            assert message is not None
            message_id = message.id
        assert send_sms(message_id, now=NOW) == "sent"


def test_the_console_provider_behind_a_public_url_is_refused_at_start(settings: Settings) -> None:
    refused = settings.model_copy(update={"sauti_console_provider_allowed": False})
    with pytest.raises(ValueError, match="SAUTI_CONSOLE_PROVIDER_ALLOWED") as web:
        refused.check_exposure()
    message = str(web.value)
    assert "SAUTI_SMS_PROVIDER" in message
    assert "SAUTI_PUBLIC_URL" in message
    assert "SAUTI_CONSOLE_PROVIDER_ALLOWED" in message
    assert "sauti.example.org" not in message  # names the settings, never their values
    with pytest.raises(ValueError, match="SAUTI_CONSOLE_PROVIDER_ALLOWED"):
        console_send.build(refused)  # a worker starting with these settings
    with pytest.raises(ValueError, match="SAUTI_CONSOLE_PROVIDER_ALLOWED"):
        senders(refused)
    # Allowed, a real provider, or a loopback URL: no refusal.
    settings.check_exposure()
    refused.model_copy(update={"sauti_sms_provider": "twilio"}).check_exposure()
    refused.model_copy(update={"sauti_public_url": "http://localhost:8000"}).check_exposure()
    assert Settings().sauti_console_provider_allowed is False


def test_allowed_behind_a_public_url_the_file_masks_reporters_and_withholds_quotes(
    ctx: WorkerContext, settings: Settings
) -> None:
    send_each_kind(ctx)
    lines = console_lines(settings.console_outbox)
    assert [line["to"] for line in lines] == [MEMBER, MEMBER, MEMBER] + 2 * ["+243 ••• ••• 678"]
    assert [line["body"] for line in lines] == [
        f"[text withheld: {len(TEXTS[MessageKind.ALERT])} characters, kind alert]",
        f"[text withheld: {len(TEXTS[MessageKind.ESCALATION])} characters, kind escalation]",
        TEXTS[MessageKind.DIGEST],
        TEXTS[MessageKind.REPORTER_MESSAGE],
        TEXTS[MessageKind.CLOSING],
    ]
    text = settings.console_outbox.read_text(encoding="utf-8")
    assert QUOTE not in text
    assert not [form for form in number_forms(REPORTER) if form in text]
    scan = NumberScan([REPORTER])
    assert not any(scan(line) for _, _, line in file_lines([settings.console_outbox]))


def test_a_message_of_no_known_kind_is_taken_for_one_to_a_reporter(settings: Settings) -> None:
    provider = ConsoleProvider(settings.console_outbox, in_clear=False)
    provider.send(OutboundMessage(to=MEMBER, body=QUOTE))
    [line] = console_lines(settings.console_outbox)
    assert line["to"] == "+243 ••• ••• 011"
    assert line["body"] == f"[text withheld: {len(QUOTE)} characters, kind unknown]"


@pytest.mark.parametrize("settings", [LOOPBACK], indirect=True, ids=["loopback"])
def test_a_loopback_run_writes_every_text_as_sent_and_still_masks_reporters(
    ctx: WorkerContext, settings: Settings
) -> None:
    assert settings.loopback
    settings.check_exposure()  # the default `make run`: nothing to allow
    send_each_kind(ctx)
    lines = console_lines(settings.console_outbox)
    masked = mask_phone(REPORTER)
    assert [line["to"] for line in lines] == [MEMBER, MEMBER, MEMBER, masked, masked]
    assert [line["body"] for line in lines] == list(TEXTS.values())
    recipients = " ".join(line["to"] for line in lines)
    assert not [form for form in number_forms(REPORTER) if form in recipients]


def test_a_whatsapp_message_is_written_and_delivered_as_whatsapp(settings: Settings) -> None:
    provider = ConsoleProvider(settings.console_outbox)
    sent = provider.send(OutboundMessage(to=MEMBER, body="hi", kind="alert", channel="whatsapp"))
    assert (sent.channel, sent.delivered, sent.note) == ("whatsapp", True, None)
    [line] = console_lines(settings.console_outbox)
    assert line["channel"] == "whatsapp"
