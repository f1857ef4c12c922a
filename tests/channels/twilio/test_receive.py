"""Twilio's messaging webhook: SMS and WhatsApp messages, answered inline with TwiML.

A signed Twilio request is taken only in the shape Twilio sends it. The signature covers
the field names and values run together, not where one field ends: a request whose
boundary is shifted (`MessageSid=SM…NumMedia0` and no `NumMedia`) carries the signature of
the original. It must be refused (400, counted), never answered as a new message under an
id Twilio did not give.

A WhatsApp message (`From=whatsapp:+…`) runs the same flows as an SMS, in a conversation
and an allowance of its own, as the same reporter (the pseudonym of the bare number); it
opens the person's 24-hour window; the name they gave WhatsApp is kept nowhere."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from twilio.request_validator import RequestValidator

from gateway.channels import answers
from storage.keys import load_crypto
from storage.models import Case, OutboxMessage
from storage.settings import Settings
from storage.whatsapp_window import WINDOW, window_key
from tests.channels.twilio.phones import PROFILE_NAME, WhatsAppPhone, report_by_whatsapp
from tests.conftest import TWILIO_TOKEN
from tests.gateway.conftest import SmsPhone, option
from tests.gateway.test_sms import case_number
from tests.leaks import find_leaks, number_forms

PUBLIC = "https://sauti.example.org"
SID = "SM" + "0123456789abcdef" * 2
ACCOUNT = "AC" + "0" * 32


@pytest.fixture
def phone(app_client: TestClient) -> SmsPhone:
    return SmsPhone(app_client, "+243812340077", TWILIO_TOKEN, PUBLIC)


def signed(form: dict[str, str], path: str = "/sms/twilio") -> str:
    return RequestValidator(TWILIO_TOKEN).compute_signature(PUBLIC + path, form)


def post(
    client: TestClient, form: dict[str, str], signature: str, path: str = "/sms/twilio"
) -> tuple[int, str]:
    response = client.post(path, data=form, headers={"X-Twilio-Signature": signature})
    return response.status_code, response.text


def metric(client: TestClient, series: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(series + " "):
            return float(line.split()[-1])
    return 0.0


def refusals(client: TestClient) -> float:
    return metric(client, 'sauti_refused_total{reason="twilio_fields"}')


def hops(client: TestClient, channel: str = "sms") -> float:
    return metric(client, f'sauti_hops_total{{channel="{channel}",provider="twilio"}}')


def shifted(form: dict[str, str], into: str, taken: str) -> dict[str, str]:
    """The form with field `taken` run into the value of `into` (the same signature)."""
    changed = {name: value for name, value in form.items() if name != taken}
    changed[into] = form[into] + taken + form[taken]
    return changed


@pytest.mark.parametrize(
    ("into", "taken", "reason"),
    [
        ("MessageSid", "NumMedia", "missing NumMedia"),
        ("Body", "From", "missing From"),
        ("AccountSid", "ApiVersion", "AccountSid is not a Twilio account id (AC + 32 hex)"),
        ("NumMedia", "NumSegments", "NumMedia is not a count"),
        ("From", "MessageSid", "missing MessageSid"),
    ],
)
def test_a_shifted_boundary_keeps_the_signature_but_is_refused(
    app_client: TestClient,
    phone: SmsPhone,
    into: str,
    taken: str,
    reason: str,
) -> None:
    form = phone.form("HELP", sid=SID)
    signature = signed(form)
    status, first = post(app_client, form, signature)
    assert status == 200
    odd = shifted(form, into, taken)
    assert RequestValidator(TWILIO_TOKEN).validate(PUBLIC + "/sms/twilio", odd, signature)
    before, answered = refusals(app_client), hops(app_client)
    status, text = post(app_client, odd, signature)
    assert (status, text) == (400, reason)
    assert refusals(app_client) == before + 1
    assert hops(app_client) == answered  # not taken as a new message
    assert post(app_client, form, signature) == (200, first)  # a repeat: the same reply
    assert hops(app_client) == answered


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            {"MessageSid": "SM" + "a" * 31},
            "MessageSid is not a Twilio message id (SM or MM + 32 hex)",
        ),
        (
            {"MessageSid": "SM" + "A" * 32},
            "MessageSid is not a Twilio message id (SM or MM + 32 hex)",
        ),
        (
            {"MessageSid": "XX" + "a" * 32},
            "MessageSid is not a Twilio message id (SM or MM + 32 hex)",
        ),
        ({"MessageSid": ""}, "MessageSid is not a Twilio message id (SM or MM + 32 hex)"),
        ({"AccountSid": "AC" + "g" * 32}, "AccountSid is not a Twilio account id (AC + 32 hex)"),
        ({"AccountSid": "AC" + "1" * 32}, "AccountSid is not this service's Twilio account"),
        ({"CallSid": "CA" + "1" * 31}, "CallSid is not a Twilio call id (CA + 32 hex)"),
        ({"SmsSid": "SM" + "1" * 32}, "SmsSid is not the MessageSid"),
        ({"SmsMessageSid": SID + "x"}, "SmsMessageSid is not the MessageSid"),
        (
            {"MessagingServiceSid": "MG1"},
            "MessagingServiceSid is not a Twilio messaging service id (MG + 32 hex)",
        ),
        ({"NumMedia": "zero"}, "NumMedia is not a count"),
        ({"From": ""}, "From is not a phone number"),
        ({"From": "+243812340077FromCityGoma"}, "From is not a phone number"),
        ({"To": "+15005550006SmsStatusreceived"}, "To is not a phone number"),
        ({"ApiVersion": "2010-04-01Bodyhi"}, "ApiVersion is not a date"),
    ],
)
def test_an_odd_signed_message_gets_400_with_a_plain_reason(
    app_client: TestClient, phone: SmsPhone, change: dict[str, str], reason: str
) -> None:
    form = {**phone.form("HELP", sid=SID), **change}
    assert post(app_client, form, signed(form)) == (400, reason)


@pytest.mark.parametrize("missing", ["MessageSid", "AccountSid", "From", "To", "Body", "NumMedia"])
def test_an_inbound_message_without_a_field_twilio_always_sends_gets_400(
    app_client: TestClient, phone: SmsPhone, missing: str
) -> None:
    form = {k: v for k, v in phone.form("HELP").items() if k != missing}
    assert post(app_client, form, signed(form)) == (400, f"missing {missing}")


def test_a_repeated_field_gets_400(app_client: TestClient, phone: SmsPhone) -> None:
    """A field sent twice with the same value keeps the signature of the form sent once."""
    form = phone.form("HELP")
    pairs = [*form.items(), ("NumMedia", "0")]
    signature = signed(form)
    response = app_client.post(
        "/sms/twilio",
        content="&".join(f"{k}={v}" for k, v in pairs).replace("+", "%2B"),
        headers={
            "X-Twilio-Signature": signature,
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert (response.status_code, response.text) == (400, "NumMedia appears more than once")


def test_a_message_with_media_whatsapp_and_the_fields_twilio_adds_is_taken(
    app_client: TestClient, phone: SmsPhone
) -> None:
    form = {
        **phone.form("HELP", sid="MM" + "f" * 32),
        "SmsSid": "MM" + "f" * 32,
        "SmsMessageSid": "MM" + "f" * 32,
        "MessagingServiceSid": "MG" + "e" * 32,
        "NumMedia": "1",
        "MediaUrl0": "https://api.twilio.com/x",
        "FromCity": "GOMA",
        "SomethingNew": "added by Twilio one day",
    }
    status, text = post(app_client, form, signed(form))
    assert status == 200, text
    assert "<Message>" in text
    whatsapp = WhatsAppPhone(app_client, "+243812340078", TWILIO_TOKEN, PUBLIC).form("HELP")
    whatsapp |= {"MessagingServiceSid": "MG" + "e" * 32, "SomethingNew": "one day"}
    assert post(app_client, whatsapp, signed(whatsapp))[0] == 200


@pytest.mark.parametrize(
    ("form", "reason"),
    [
        ({"MessageStatus": "delivered"}, "missing MessageSid"),
        ({"MessageSid": SID}, "missing MessageStatus"),
        ({"MessageSid": SID + "MessageStatusdelivered"}, "missing MessageStatus"),
        (
            {"MessageSid": SID[:-1], "MessageStatus": "delivered"},
            "MessageSid is not a Twilio message id (SM or MM + 32 hex)",
        ),
        (
            {"MessageSid": SID, "MessageStatus": "delivered", "AccountSid": "AC" + "1" * 32},
            "AccountSid is not this service's Twilio account",
        ),
        (
            {"MessageSid": SID, "MessageStatus": "failed", "ErrorCode": "30003From+1500"},
            "ErrorCode is not a number",
        ),
        (
            {"MessageSid": SID, "MessageStatus": "deliveredTo+243812340077"},
            "MessageStatus is not a status word",
        ),
    ],
)
def test_an_odd_signed_status_callback_gets_400(
    app_client: TestClient, form: dict[str, str], reason: str
) -> None:
    path = "/sms/twilio/status"
    before = refusals(app_client)
    assert post(app_client, form, signed(form, path), path) == (400, reason)
    assert refusals(app_client) == before + 1


def test_a_status_callback_as_twilio_sends_it_is_taken(app_client: TestClient) -> None:
    path = "/sms/twilio/status"
    form = {
        "MessageSid": SID,
        "SmsSid": SID,
        "MessageStatus": "undelivered",
        "SmsStatus": "undelivered",
        "ErrorCode": "30003",
        "AccountSid": ACCOUNT,
        "From": "+15005550006",
        "To": "+243812340077",
        "ApiVersion": "2010-04-01",
    }
    assert post(app_client, form, signed(form, path), path) == (200, "OK")


# -- WhatsApp --------------------------------------------------------------------------------

WHATSAPP_NUMBER = "+243970001122"


@pytest.fixture
def whatsapp(app_client: TestClient) -> WhatsAppPhone:
    return WhatsAppPhone(app_client, WHATSAPP_NUMBER, TWILIO_TOKEN, PUBLIC)


@pytest.fixture
def sms(app_client: TestClient) -> SmsPhone:
    """The same phone, by SMS."""
    return SmsPhone(app_client, WHATSAPP_NUMBER, TWILIO_TOKEN, PUBLIC)


def test_a_whatsapp_message_is_answered_inline_with_twiml(
    app_client: TestClient, whatsapp: WhatsAppPhone
) -> None:
    before = hops(app_client, "whatsapp")
    status, text = whatsapp.post_form(whatsapp.form("hello"))
    assert status == 200
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?><Response><Message>')
    assert "English" in text
    assert hops(app_client, "whatsapp") == before + 1
    assert hops(app_client, "sms") == 0


def test_a_report_by_whatsapp_is_the_same_reporters_and_says_whatsapp(
    whatsapp: WhatsAppPhone, settings: Settings, db: sessionmaker[Session]
) -> None:
    final = report_by_whatsapp(whatsapp)
    assert final.startswith("Report sent."), final
    crypto = load_crypto(settings)
    with db() as session:
        case = session.scalars(select(Case)).one()
    assert case.channel == "whatsapp"
    assert case.pseudonym == crypto.pseudonym(WHATSAPP_NUMBER)  # the bare number's
    assert case.contact_enc is not None
    assert crypto.decrypt(case.contact_enc) == WHATSAPP_NUMBER


def test_whatsapp_and_sms_are_two_conversations_of_one_person(
    whatsapp: WhatsAppPhone, sms: SmsPhone
) -> None:
    screen = sms.send("hello")
    sms.send(option(screen, "English"))  # the language is the person's, on every channel
    by_sms = sms.send("REPORT")
    assert by_sms.startswith("What happened?")
    menu = whatsapp.send("hello")
    assert not menu.startswith("What happened?")  # WhatsApp has no report under way
    assert "English" not in menu  # nor is it asked for a language again
    by_whatsapp = whatsapp.send("REPORT")
    assert by_whatsapp.startswith("What happened?")
    assert whatsapp.send(option(by_whatsapp, "Accident")) != by_whatsapp
    assert "North Kivu" in sms.send(option(by_sms, "Illegal tax"))  # SMS goes on where it was


def test_a_whatsapp_message_opens_the_persons_window_and_an_sms_does_not(
    whatsapp: WhatsAppPhone, sms: SmsPhone, settings: Settings, redis_client: redis.Redis
) -> None:
    key = window_key(load_crypto(settings).pseudonym(WHATSAPP_NUMBER))
    sms.send("HELP")
    assert redis_client.exists(key) == 0
    whatsapp.send("HELP")
    assert WINDOW - 60 < int(redis_client.ttl(key)) <= WINDOW
    assert redis_client.get(key) == b"1"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"To": "+14155238886"}, "From and To are not both WhatsApp addresses"),
        ({"From": WHATSAPP_NUMBER}, "From and To are not both WhatsApp addresses"),
        ({"WaId": "243970001123"}, "WaId is not the sender's number"),
        ({"WaId": "243970001122To"}, "WaId is not a WhatsApp id (the number's digits)"),
        ({"MessageType": "text+Bodyhi"}, "MessageType is not a message type word"),
        ({"From": "whatsapp:+243970001122ProfileNameZ"}, "From is not a phone number"),
    ],
)
def test_an_odd_signed_whatsapp_message_gets_400(
    app_client: TestClient, whatsapp: WhatsAppPhone, change: dict[str, str], reason: str
) -> None:
    form = {**whatsapp.form("HELP"), **change}
    assert post(app_client, form, signed(form)) == (400, reason)


def test_the_whatsapp_name_is_kept_nowhere(
    whatsapp: WhatsAppPhone,
    settings: Settings,
    redis_client: redis.Redis,
    db: sessionmaker[Session],
    run_jobs: Callable[[], None],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    number = case_number(report_by_whatsapp(whatsapp))
    assert number in whatsapp.send("STATUS " + number)
    run_jobs()  # routing, the alerts, the reporter's case number by WhatsApp
    with db() as session:
        news = session.scalars(select(OutboxMessage).where(OutboxMessage.case_id.is_not(None)))
        reporter = [m for m in news if m.recipient_kind == "reporter"]
    assert [(m.kind, m.channel) for m in reporter] == [("confirmation", "whatsapp")]
    files = settings.console_outbox.read_text()
    assert '"channel": "whatsapp"' in files  # the case number went, by WhatsApp
    secrets = [PROFILE_NAME, *PROFILE_NAME.split(), *number_forms(WHATSAPP_NUMBER)]
    leaks = find_leaks(
        secrets,
        database_url=settings.db_url,
        redis_client=redis_client,
        logs=caplog.text + files,
    )
    assert leaks == []


def test_a_delivery_that_died_holding_a_message_leaves_it_to_the_next_attempt(
    app_client: TestClient, phone: SmsPhone, redis_client: redis.Redis
) -> None:
    """A claim lasts only as long as working out an answer may take (answers.CLAIM_TTL):
    a delivery that died after claiming leaves the message to Twilio's next attempt, not
    to nobody for the 48 hours an answer is remembered."""
    form = phone.form("hello")
    store = app_client.app.state.runtime.store  # type: ignore[attr-defined]
    assert app_client.portal.call(store.claim_message, form["MessageSid"], answers.CLAIM_TTL)
    [claim] = redis_client.keys("sauti:m:*")
    assert 0 < int(redis_client.ttl(claim)) <= answers.CLAIM_TTL
    answers_wait = answers.REPEAT_WAIT
    answers.REPEAT_WAIT = 0.2
    try:
        assert phone.post_form(form)[0] == 503  # the other delivery may still answer
    finally:
        answers.REPEAT_WAIT = answers_wait
    redis_client.delete(claim)  # its claim ran out
    status, body = phone.post_form(form)
    assert status == 200
    assert "<Message>" in body
    assert phone.post_form(form) == (status, body)  # and its repeats get that answer
