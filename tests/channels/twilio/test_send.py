"""Sending through Twilio, faked only at the twilio client's HTTP layer: accepted messages
keep Twilio's id, 5xx and timeouts are retried with backoff and then marked failed, a 4xx
fails at once, and a real network call fails loudly. A message meant for WhatsApp goes by
WhatsApp inside the person's 24-hour window, as an approved template outside it, and by
SMS (said so on its outbox row) when there is no template, no WhatsApp sender, or Twilio
refuses the WhatsApp message for good."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from requests.exceptions import ConnectTimeout, ReadTimeout
from twilio.http import HttpClient
from twilio.http.response import Response

from gateway.channels.twilio import send as twilio_send
from gateway.channels.twilio.send import (
    NO_WHATSAPP_SENDER,
    WINDOW_CLOSED_BY_SMS,
    WINDOW_CLOSED_TEMPLATE,
    TwilioProvider,
    WhatsApp,
)
from gateway.channels.twilio.templates import Templates
from storage import outbox
from storage.keys import load_crypto
from storage.models import RecipientKind
from storage.settings import Settings
from storage.whatsapp_window import MARGIN, WhatsAppWindow, window_key
from tests.conftest import TWILIO_TOKEN
from tests.gateway.conftest import SmsPhone
from tests.workers.conftest import NOW, outbox_rows
from workers import queues
from workers.context import WorkerContext
from workers.notify import BACKOFF, MAX_ATTEMPTS, enqueue_sends, send_sms
from workers.outbound import OutboundMessage, SendError, Senders, Sent

ACCOUNT = "AC" + "0" * 32
MESSAGES_URL = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
MEMBER = "+243810000011"
REPORTER = "+243990000042"
WHATSAPP_FROM = "+14155238886"
ALERT_TEMPLATE = "HX" + "a1" * 16
Answer = Response | Exception | Callable[[], Response]


def created(sid: str) -> Response:
    return Response(201, json.dumps({"sid": sid, "status": "queued", "account_sid": ACCOUNT}))


def error(status: int, code: int, message: str) -> Response:
    return Response(status, json.dumps({"code": code, "message": message, "status": status}))


class FakeTwilioHttp(HttpClient):
    """Twilio's REST API as the twilio client's HTTP layer sees it: canned answers, in order.

    Any request other than creating a message, or one more than answers given, fails the test.
    """

    def __init__(self) -> None:
        super().__init__(logging.getLogger("tests.fake_twilio"), is_async=False)
        self.answers: list[Answer] = []
        self.requests: list[dict[str, Any]] = []

    def request(
        self,
        method: str,
        uri: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        assert (method, uri) == ("POST", MESSAGES_URL)
        assert auth == (ACCOUNT, TWILIO_TOKEN)
        assert self.answers, "Twilio was called more often than the test expected"
        self.requests.append(dict(data or {}))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer if isinstance(answer, Response) else answer()


@pytest.fixture
def http() -> FakeTwilioHttp:
    return FakeTwilioHttp()


@pytest.fixture
def window(redis_client: redis.Redis) -> WhatsAppWindow:
    return WhatsAppWindow(redis_client)


@pytest.fixture
def whatsapp(settings: Settings, window: WhatsAppWindow) -> WhatsApp | None:
    """How the provider reaches WhatsApp: from WHATSAPP_FROM, with a template for alerts
    in English (None: no WhatsApp sender)."""
    return WhatsApp(
        sender="whatsapp:" + WHATSAPP_FROM,
        window=window,
        pseudonym=load_crypto(settings).pseudonym,
        templates=Templates({"alert": {"en": ALERT_TEMPLATE}}),
    )


@pytest.fixture
def provider(http: FakeTwilioHttp, settings: Settings, whatsapp: WhatsApp | None) -> TwilioProvider:
    return TwilioProvider(
        account_sid=ACCOUNT,
        auth_token=TWILIO_TOKEN,
        sender=settings.twilio_from,
        status_callback="https://sauti.example.org/sms/twilio/status",
        http_client=http,
        whatsapp=whatsapp,
    )


def queue(
    ctx: WorkerContext,
    *,
    to: str = MEMBER,
    channel: str | None = None,
    kind: str | None = None,
    body: str = "Sauti case 482-177-3506. The committee says: we are on our way",
) -> int:
    with ctx.sessions.begin() as session:
        message = outbox.queue_sms(
            session=session,
            crypto=ctx.crypto,
            dedupe_key=f"test:{to}:{channel}:{kind}",
            to_e164=to,
            body=body,
            language="en",
            kind=kind or ("alert" if to == MEMBER else "reporter_message"),
            recipient_kind=RecipientKind.MEMBER if to == MEMBER else RecipientKind.REPORTER,
            now=NOW,
            channel=channel,
        )
        assert message is not None
        return message.id


def test_an_accepted_message_keeps_twilios_id_and_waits_for_the_callback(
    ctx: WorkerContext, http: FakeTwilioHttp, worker_jobs: Callable[[], None]
) -> None:
    http.answers = [created("SM" + "a" * 32)]
    enqueue_sends([queue(ctx)], connection=ctx.redis)
    worker_jobs()
    [row] = outbox_rows(ctx)
    assert (row.status, row.row.provider, row.row.provider_id) == (
        "sent",
        "twilio",
        "SM" + "a" * 32,
    )
    [sent] = http.requests
    assert sent["To"] == MEMBER
    assert sent["From"] == "+15005550006"
    assert sent["Body"].startswith("Sauti case 482-177-3506")
    assert sent["StatusCallback"] == "https://sauti.example.org/sms/twilio/status"


def _attempts(ctx: WorkerContext, http: FakeTwilioHttp, failures: list[Answer]) -> list[str]:
    """Run the job once per failure, each time at the row's next attempt time."""
    message_id = queue(ctx)
    http.answers = list(failures)
    results = []
    at: datetime = NOW
    for _ in failures:
        results.append(send_sms(message_id, now=at))
        [row] = outbox_rows(ctx)
        at = row.row.next_attempt_at
    return results


def test_5xx_and_timeouts_are_retried_with_backoff_then_marked_failed(
    ctx: WorkerContext, http: FakeTwilioHttp, caplog: pytest.LogCaptureFixture
) -> None:
    failures: list[Answer] = [
        error(503, 20503, "Service unavailable"),
        ReadTimeout("read timed out"),
        error(500, 20500, "Internal error"),
        ConnectTimeout("connect timed out"),
        error(429, 20429, "Too many requests"),
    ]
    assert len(failures) == MAX_ATTEMPTS
    results = _attempts(ctx, http, failures)
    assert results == ["retry"] * (MAX_ATTEMPTS - 1) + ["failed"]
    [row] = outbox_rows(ctx)
    assert (row.status, row.attempts) == ("failed", MAX_ATTEMPTS)
    assert row.row.last_error == "twilio http 429 error 20429"
    assert row.to == MEMBER  # an official's number is kept with the failed row
    assert http.answers == []
    assert send_sms(row.id, now=NOW + timedelta(days=1)) == "not due"
    assert MEMBER not in caplog.text


def test_retries_wait_longer_each_time(ctx: WorkerContext, http: FakeTwilioHttp) -> None:
    message_id = queue(ctx)
    http.answers = [error(503, 20503, "down"), error(503, 20503, "down")]
    send_sms(message_id, now=NOW)
    [row] = outbox_rows(ctx)
    assert row.row.next_attempt_at == NOW + BACKOFF[0]
    assert send_sms(message_id, now=NOW + BACKOFF[0] - timedelta(seconds=1)) == "not due"
    send_sms(message_id, now=NOW + BACKOFF[0])
    [row] = outbox_rows(ctx)
    assert row.row.next_attempt_at == NOW + BACKOFF[0] + BACKOFF[1]


def test_a_retry_is_scheduled_in_rq(
    ctx: WorkerContext, http: FakeTwilioHttp, redis_client: redis.Redis
) -> None:
    http.answers = [ReadTimeout("read timed out")]
    send_sms(queue(ctx), now=NOW)
    scheduled = queues.queue(queues.SMS, connection=redis_client).scheduled_job_registry
    assert len(scheduled.get_job_ids()) == 1


def test_an_invalid_number_fails_at_once_and_drops_a_reporters_number(
    ctx: WorkerContext, http: FakeTwilioHttp
) -> None:
    http.answers = [error(400, 21211, f"The 'To' number {REPORTER} is not a valid phone number.")]
    assert send_sms(queue(ctx, to=REPORTER), now=NOW) == "failed"
    [row] = outbox_rows(ctx)
    assert (row.status, row.to, row.row.to_enc) == ("failed", None, None)
    assert row.row.last_error == "twilio http 400 error 21211"


def test_a_real_network_call_fails_loudly(settings: Settings) -> None:
    real = TwilioProvider(
        account_sid=ACCOUNT,
        auth_token=TWILIO_TOKEN,
        sender=settings.twilio_from,
        status_callback="https://sauti.example.org/sms/twilio/status",
    )
    with pytest.raises(RuntimeError, match=r"api\.twilio\.com"):
        real.send(OutboundMessage(to=MEMBER, body="hello"))


def test_a_messaging_service_sends_from_its_pool(http: FakeTwilioHttp) -> None:
    service = TwilioProvider(
        account_sid=ACCOUNT,
        auth_token=TWILIO_TOKEN,
        sender="MG" + "1" * 32,
        status_callback="https://sauti.example.org/sms/twilio/status",
        http_client=http,
    )
    http.answers = [created("SM" + "b" * 32)]
    assert service.send(OutboundMessage(to=MEMBER, body="hello")).provider_id == "SM" + "b" * 32
    assert http.requests[0]["MessagingServiceSid"] == "MG" + "1" * 32
    assert "From" not in http.requests[0]


def test_provider_errors_never_quote_the_number(http: FakeTwilioHttp, provider: Any) -> None:
    http.answers = [error(400, 21610, f"Attempt to send to unsubscribed recipient {MEMBER}")]
    with pytest.raises(SendError) as raised:
        provider.send(OutboundMessage(to=MEMBER, body="hello"))
    assert (raised.value.reason, raised.value.retry) == ("twilio http 400 error 21610", False)
    assert MEMBER not in str(raised.value)


def test_a_delivery_callback_that_beats_the_worker_is_applied_once_the_id_is_recorded(
    ctx: WorkerContext,
    http: FakeTwilioHttp,
    worker_jobs: Callable[[], None],
    app_client: TestClient,
) -> None:
    """Twilio can call back before the worker has stored the message's id: the status is
    held, and applied as soon as the worker records the id."""
    sid = "SM" + "b" * 32
    twilio = SmsPhone(app_client, "+15005550006", TWILIO_TOKEN, "https://sauti.example.org")

    def answer_after_the_callback() -> Response:
        form = {"MessageSid": sid, "MessageStatus": "delivered", "AccountSid": ACCOUNT}
        assert twilio.post_form(form, path="/sms/twilio/status")[0] == 200
        [row] = outbox_rows(ctx)
        assert row.status == "sending"  # the callback found no row with that id yet
        return created(sid)

    http.answers = [answer_after_the_callback]
    enqueue_sends([queue(ctx)], connection=ctx.redis)
    worker_jobs()
    [row] = outbox_rows(ctx)
    assert (row.status, row.row.provider_id) == ("delivered", sid)
    assert row.row.delivered_at is not None
    assert ctx.redis.keys("sauti:early-status:*") == []


# -- WhatsApp ---------------------------------------------------------------------------------


def wrote_by_whatsapp(ctx: WorkerContext, number: str) -> None:
    """The person wrote by WhatsApp just now (as the webhook records it)."""
    WhatsAppWindow(ctx.redis).opened(ctx.crypto.pseudonym(number))


def test_inside_the_window_a_whatsapp_message_goes_by_whatsapp(
    ctx: WorkerContext, http: FakeTwilioHttp, worker_jobs: Callable[[], None]
) -> None:
    wrote_by_whatsapp(ctx, MEMBER)
    http.answers = [created("SM" + "c" * 32)]
    enqueue_sends([queue(ctx, channel="whatsapp")], connection=ctx.redis)
    worker_jobs()
    [sent] = http.requests
    assert (sent["From"], sent["To"]) == ("whatsapp:" + WHATSAPP_FROM, "whatsapp:" + MEMBER)
    assert sent["Body"].startswith("Sauti case 482-177-3506")
    assert "ContentSid" not in sent
    assert sent["StatusCallback"] == "https://sauti.example.org/sms/twilio/status"
    [row] = outbox_rows(ctx)
    assert (row.status, row.row.provider, row.row.provider_id) == (
        "sent",
        "twilio",
        "SM" + "c" * 32,
    )
    assert (row.row.channel, row.row.channel_note) == ("whatsapp", None)


def test_an_sms_row_goes_by_sms_even_inside_the_window(
    ctx: WorkerContext, http: FakeTwilioHttp
) -> None:
    wrote_by_whatsapp(ctx, MEMBER)
    http.answers = [created("SM" + "d" * 32)]
    assert send_sms(queue(ctx), now=NOW) == "sent"
    assert (http.requests[0]["From"], http.requests[0]["To"]) == ("+15005550006", MEMBER)
    assert outbox_rows(ctx)[0].row.channel == "sms"


def test_outside_the_window_the_kinds_template_goes_with_the_text_as_its_variable(
    ctx: WorkerContext, http: FakeTwilioHttp
) -> None:
    body = "Sauti case 482-177-3506 (HIGH): Illegal tax, Mpama.\nReply ACK 4821773506"
    http.answers = [created("SM" + "e" * 32)]
    assert send_sms(queue(ctx, channel="whatsapp", body=body), now=NOW) == "sent"
    [sent] = http.requests
    assert (sent["From"], sent["To"]) == ("whatsapp:" + WHATSAPP_FROM, "whatsapp:" + MEMBER)
    assert sent["ContentSid"] == ALERT_TEMPLATE
    assert json.loads(sent["ContentVariables"]) == {
        "1": "Sauti case 482-177-3506 (HIGH): Illegal tax, Mpama. / Reply ACK 4821773506"
    }
    assert "Body" not in sent
    [row] = outbox_rows(ctx)
    assert (row.status, row.row.channel, row.row.channel_note) == (
        "sent",
        "whatsapp",
        WINDOW_CLOSED_TEMPLATE,
    )


def test_outside_the_window_without_a_template_it_goes_by_sms_and_says_so(
    ctx: WorkerContext, http: FakeTwilioHttp
) -> None:
    http.answers = [created("SM" + "f" * 32)]
    message_id = queue(ctx, to=REPORTER, channel="whatsapp", kind="closing")
    assert send_sms(message_id, now=NOW) == "sent"
    [sent] = http.requests
    assert (sent["From"], sent["To"]) == ("+15005550006", REPORTER)
    assert "ContentSid" not in sent
    [row] = outbox_rows(ctx)
    assert (row.status, row.row.channel, row.row.channel_note) == (
        "sent",
        "sms",
        WINDOW_CLOSED_BY_SMS,
    )
    assert row.row.channel_note == "whatsapp window closed: sent by SMS"
    assert row.row.to_enc is None  # a reporter's number goes once the message is taken


def test_the_last_minutes_of_the_window_count_as_closed(
    ctx: WorkerContext, http: FakeTwilioHttp
) -> None:
    pseudonym = ctx.crypto.pseudonym(REPORTER)
    ctx.redis.set(window_key(pseudonym), b"1", ex=MARGIN - 5)
    http.answers = [created("SM" + "1" * 32)]
    send_sms(queue(ctx, to=REPORTER, channel="whatsapp"), now=NOW)
    assert http.requests[0]["To"] == REPORTER
    assert outbox_rows(ctx)[0].row.channel_note == WINDOW_CLOSED_BY_SMS


@pytest.mark.parametrize("whatsapp", [None])
def test_without_a_whatsapp_sender_whatsapp_messages_go_by_sms(
    ctx: WorkerContext, http: FakeTwilioHttp
) -> None:
    wrote_by_whatsapp(ctx, MEMBER)
    http.answers = [created("SM" + "2" * 32)]
    assert send_sms(queue(ctx, channel="whatsapp"), now=NOW) == "sent"
    assert (http.requests[0]["From"], http.requests[0]["To"]) == ("+15005550006", MEMBER)
    [row] = outbox_rows(ctx)
    assert (row.row.channel, row.row.channel_note) == ("sms", NO_WHATSAPP_SENDER)


def test_a_whatsapp_message_twilio_refuses_for_good_goes_by_sms(
    ctx: WorkerContext, http: FakeTwilioHttp, caplog: pytest.LogCaptureFixture
) -> None:
    wrote_by_whatsapp(ctx, MEMBER)
    http.answers = [
        error(400, 63007, f"Twilio could not find a Channel with the From address {MEMBER}"),
        created("SM" + "3" * 32),
    ]
    assert send_sms(queue(ctx, channel="whatsapp"), now=NOW) == "sent"
    first, second = http.requests
    assert first["To"] == "whatsapp:" + MEMBER
    assert (second["From"], second["To"]) == ("+15005550006", MEMBER)
    [row] = outbox_rows(ctx)
    assert (row.status, row.row.channel) == ("sent", "sms")
    assert row.row.channel_note == "whatsapp refused (twilio http 400 error 63007): sent by SMS"
    assert MEMBER not in caplog.text


def test_a_whatsapp_message_refused_and_its_sms_refused_fails_for_good(
    ctx: WorkerContext, http: FakeTwilioHttp
) -> None:
    wrote_by_whatsapp(ctx, REPORTER)
    http.answers = [
        error(400, 21610, "Attempt to send to unsubscribed recipient"),
        error(400, 21610, "Attempt to send to unsubscribed recipient"),
    ]
    assert send_sms(queue(ctx, to=REPORTER, channel="whatsapp"), now=NOW) == "failed"
    [row] = outbox_rows(ctx)
    assert (row.status, row.to, row.row.last_error) == (
        "failed",
        None,
        "twilio http 400 error 21610",
    )


@pytest.mark.parametrize(
    "failure",
    [error(503, 20503, "Service unavailable"), ReadTimeout("read timed out"), error(429, 1, "")],
    ids=["5xx", "timeout", "429"],
)
def test_a_whatsapp_message_that_fails_for_now_is_retried_by_whatsapp(
    ctx: WorkerContext, http: FakeTwilioHttp, failure: Answer
) -> None:
    wrote_by_whatsapp(ctx, MEMBER)
    http.answers = [failure, created("SM" + "4" * 32)]
    message_id = queue(ctx, channel="whatsapp")
    assert send_sms(message_id, now=NOW) == "retry"
    assert len(http.requests) == 1  # no SMS behind a failure that may pass
    [row] = outbox_rows(ctx)
    assert (row.status, row.row.channel) == ("queued", "whatsapp")
    assert send_sms(message_id, now=row.row.next_attempt_at) == "sent"
    assert [r["To"] for r in http.requests] == ["whatsapp:" + MEMBER] * 2
    assert outbox_rows(ctx)[0].row.channel == "whatsapp"


def test_a_window_redis_cannot_tell_counts_as_closed(
    settings: Settings, http: FakeTwilioHttp, caplog: pytest.LogCaptureFixture
) -> None:
    unreachable = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    provider = TwilioProvider(
        account_sid=ACCOUNT,
        auth_token=TWILIO_TOKEN,
        sender=settings.twilio_from,
        status_callback="https://sauti.example.org/sms/twilio/status",
        http_client=http,
        whatsapp=WhatsApp(
            sender="whatsapp:" + WHATSAPP_FROM,
            window=WhatsAppWindow(unreachable),
            pseudonym=load_crypto(settings).pseudonym,
            templates=Templates({"alert": {"en": ALERT_TEMPLATE}}),
        ),
    )
    http.answers = [created("SM" + "5" * 32), created("SM" + "6" * 32)]
    alert = OutboundMessage(to=MEMBER, body="hello", kind="alert", channel="whatsapp")
    assert provider.send(alert).note == WINDOW_CLOSED_TEMPLATE
    digest = OutboundMessage(to=MEMBER, body="hello", kind="digest", channel="whatsapp")
    assert provider.send(digest) == Sent(
        provider_id="SM" + "6" * 32, channel="sms", note=WINDOW_CLOSED_BY_SMS
    )
    assert "whatsapp window not read (ConnectionError): taken as closed" in caplog.text


def test_a_template_goes_only_for_its_own_kind_and_language() -> None:
    found = Templates({"alert": {"sw": ALERT_TEMPLATE}, "digest": {"en": "HX" + "0" * 32}})
    assert found.content_sid("alert", "sw") == ALERT_TEMPLATE
    assert found.content_sid("alert", "en") is None
    assert found.content_sid("closing", "sw") is None
    assert found.content_sid(None, "sw") is None
    assert not Templates()
    assert found


class SmsOnly:
    """A sender that says nothing of its channels: SMS only."""

    name = "sms-only"

    def send(self, message: OutboundMessage) -> Sent:
        return Sent(provider_id="x")


def test_a_whatsapp_message_goes_to_the_sender_that_reaches_whatsapp(
    provider: TwilioProvider,
) -> None:
    congo = SmsOnly()
    by_country = Senders({"CD": congo, "*": provider})
    assert by_country.for_message(MEMBER) is congo
    assert by_country.for_message(MEMBER, "whatsapp") is provider
    assert Senders.only(congo).for_message(MEMBER, "whatsapp") is congo  # it says "by SMS"


# -- the WhatsApp settings, checked when the sender is built ---------------------------------


def whatsapp_settings(settings: Settings, **changes: object) -> Settings:
    return settings.model_copy(update={"sauti_sms_provider": "twilio", **changes})


def test_the_sender_is_built_with_whatsapp_from_its_settings(
    settings: Settings, tmp_path: Any
) -> None:
    path = tmp_path / "templates.json"
    path.write_text(json.dumps({"alert": {"sw": ALERT_TEMPLATE, "fr": "HX" + "b" * 32}}))
    built = twilio_send.build(
        whatsapp_settings(
            settings,
            twilio_whatsapp_from="whatsapp:" + WHATSAPP_FROM,
            twilio_whatsapp_templates=path,
        )
    )
    assert built.whatsapp is not None
    assert built.whatsapp.sender == "whatsapp:" + WHATSAPP_FROM
    assert built.whatsapp.templates.content_sid("alert", "fr") == "HX" + "b" * 32
    assert twilio_send.build(whatsapp_settings(settings)).whatsapp is None
    bare = twilio_send.build(whatsapp_settings(settings, twilio_whatsapp_from=WHATSAPP_FROM))
    assert bare.whatsapp is not None
    assert bare.whatsapp.sender == "whatsapp:" + WHATSAPP_FROM
    service = "MG" + "c" * 32
    pooled = twilio_send.build(whatsapp_settings(settings, twilio_whatsapp_from=service))
    assert pooled.whatsapp is not None
    assert pooled.whatsapp.sender == service


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (None, "TWILIO_WHATSAPP_TEMPLATES: the file cannot be read (No such file or directory)"),
        ("{not json", "TWILIO_WHATSAPP_TEMPLATES: not JSON (line 1, column 2)"),
        ('["HX"]', "TWILIO_WHATSAPP_TEMPLATES: the file must hold a JSON object"),
        ('{"alrt": {"sw": "SECRET"}}', "TWILIO_WHATSAPP_TEMPLATES: 'alrt' is not a message kind"),
        ('{"alert": "SECRET"}', "TWILIO_WHATSAPP_TEMPLATES: alert: must map each language"),
        ('{"alert": {"Swahili!": "SECRET"}}', "alert: a key is not a language code"),
        ('{"alert": {"sw": "SECRET"}}', "alert.sw: not a Content SID (HX + 32 hex)"),
        ('{"alert": {"sw": 7}}', "alert.sw: not a Content SID (HX + 32 hex)"),
    ],
)
def test_a_templates_file_that_cannot_be_used_stops_the_start_naming_the_setting(
    settings: Settings, tmp_path: Any, content: str | None, reason: str
) -> None:
    path = tmp_path / "templates.json"
    if content is not None:
        path.write_text(content)
    odd = whatsapp_settings(
        settings, twilio_whatsapp_from=WHATSAPP_FROM, twilio_whatsapp_templates=path
    )
    with pytest.raises(ValueError, match="TWILIO_WHATSAPP_TEMPLATES") as raised:
        twilio_send.build(odd)
    assert reason in str(raised.value)
    assert "SECRET" not in str(raised.value)  # never a value of the file
    assert str(tmp_path) not in str(raised.value)


def test_templates_without_a_whatsapp_sender_or_an_odd_sender_stop_the_start(
    settings: Settings, tmp_path: Any
) -> None:
    path = tmp_path / "templates.json"
    path.write_text(json.dumps({"alert": {"sw": ALERT_TEMPLATE}}))
    with pytest.raises(ValueError, match="TWILIO_WHATSAPP_TEMPLATES needs TWILIO_WHATSAPP_FROM"):
        twilio_send.build(whatsapp_settings(settings, twilio_whatsapp_templates=path))
    for odd in ("0812345678", "whatsapp:14155238886", "MG123", "+1415 523 8886"):
        with pytest.raises(ValueError, match="TWILIO_WHATSAPP_FROM is not a number") as raised:
            twilio_send.build(whatsapp_settings(settings, twilio_whatsapp_from=odd))
        assert odd not in str(raised.value)
