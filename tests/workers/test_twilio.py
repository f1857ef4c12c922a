"""Sending through Twilio, faked only at the twilio client's HTTP layer: accepted messages
keep Twilio's id, 5xx and timeouts are retried with backoff and then marked failed, a 4xx
fails at once, and a real network call fails loudly."""

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

from gateway.channels.twilio.send import TwilioProvider
from storage import outbox
from storage.models import RecipientKind
from storage.settings import Settings
from tests.conftest import TWILIO_TOKEN
from tests.gateway import conftest as gateway_fixtures
from tests.gateway.conftest import SmsPhone
from tests.workers.conftest import NOW, outbox_rows
from workers import queues
from workers.context import WorkerContext
from workers.notify import BACKOFF, MAX_ATTEMPTS, enqueue_sends, send_sms
from workers.outbound import OutboundMessage, SendError

ACCOUNT = "AC" + "0" * 32
MESSAGES_URL = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
MEMBER = "+243810000011"
REPORTER = "+243990000042"
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
def provider(http: FakeTwilioHttp, settings: Settings) -> TwilioProvider:
    return TwilioProvider(
        account_sid=ACCOUNT,
        auth_token=TWILIO_TOKEN,
        sender=settings.twilio_from,
        status_callback="https://sauti.example.org/sms/twilio/status",
        http_client=http,
    )


def queue(ctx: WorkerContext, *, to: str = MEMBER) -> int:
    with ctx.sessions.begin() as session:
        message = outbox.queue_sms(
            session=session,
            crypto=ctx.crypto,
            dedupe_key=f"test:{to}",
            to_e164=to,
            body="Sauti case 482-177-3506. The committee says: we are on our way",
            language="en",
            kind="alert" if to == MEMBER else "reporter_message",
            recipient_kind=RecipientKind.MEMBER if to == MEMBER else RecipientKind.REPORTER,
            now=NOW,
        )
        assert message is not None
        return message.id


def test_an_accepted_message_keeps_twilios_id_and_waits_for_the_callback(
    ctx: WorkerContext, http: FakeTwilioHttp, run_jobs: Callable[[], None]
) -> None:
    http.answers = [created("SM" + "a" * 32)]
    enqueue_sends([queue(ctx)], connection=ctx.redis)
    run_jobs()
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


# The running app of the gateway tests, to receive Twilio's status callbacks.
app_client = gateway_fixtures.app_client


def test_a_delivery_callback_that_beats_the_worker_is_applied_once_the_id_is_recorded(
    ctx: WorkerContext, http: FakeTwilioHttp, run_jobs: Callable[[], None], app_client: TestClient
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
    run_jobs()
    [row] = outbox_rows(ctx)
    assert (row.status, row.row.provider_id) == ("delivered", sid)
    assert row.row.delivered_at is not None
    assert ctx.redis.keys("sauti:early-status:*") == []
