"""Sending through Africa's Talking, faked only at the HTTP client (httpx.MockTransport): the
request is the messaging API's form with the account's key; a recipient's statusCode 100,
101 and 102 take the message under AT's id, 405 and 5xx codes, HTTP 5xx, 429 and timeouts
are retried with backoff, every other code and 4xx fails at once; no reason ever holds
the number or the text."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable
from datetime import datetime

import httpx
import pytest

from gateway.channels.africastalking import send as at_send
from gateway.channels.africastalking.send import AfricasTalkingProvider
from gateway.channels.registry import senders
from storage import outbox
from storage.models import MessageKind, RecipientKind
from storage.settings import Settings
from tests.channels.africastalking.conftest import message_id
from tests.leaks import number_forms
from tests.workers import conftest as worker_fixtures
from tests.workers.conftest import NOW, outbox_rows
from workers.context import WorkerContext
from workers.notify import MAX_ATTEMPTS, enqueue_sends, send_sms
from workers.outbound import OutboundMessage, Sender, SendError

API_URL = "https://api.sandbox.africastalking.com"
MESSAGING_URL = API_URL + "/version1/messaging"
API_KEY = "atsk_test_0123456789abcdef"
MEMBER = "+243810000011"
REPORTER = "+243990000042"
BODY = "Sauti case 482-177-3506. The committee says: we are on our way"
Answer = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


def accepted(code: int = 101, sid: str | None = None, *, number: str = MEMBER) -> httpx.Response:
    recipient = {
        "statusCode": code,
        "number": number,
        "status": {100: "Processed", 101: "Success", 102: "Queued"}.get(code, "Success"),
        "cost": "KES 0.8000",
        "messageId": sid or message_id(),
    }
    data = {"Message": "Sent to 1/1 Total Cost: KES 0.8000", "Recipients": [recipient]}
    return httpx.Response(201, json={"SMSMessageData": data})


def refused(code: int, status: str, *, number: str = MEMBER) -> httpx.Response:
    recipient = {
        "statusCode": code,
        "number": number,
        "status": status,
        "cost": "0",
        "messageId": "None",
    }
    data = {"Message": f"Sent to 0/1 Total Cost: 0 ({number})", "Recipients": [recipient]}
    return httpx.Response(201, json={"SMSMessageData": data})


class FakeAt:
    """AT's messaging API at the HTTP client: canned answers in order. Any other request,
    or one more than answers given, fails the test."""

    def __init__(self) -> None:
        self.answers: list[Answer] = []
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert (request.method, str(request.url)) == ("POST", MESSAGING_URL)
        assert self.answers, "Africa's Talking was called more often than the test expected"
        self.requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer if isinstance(answer, httpx.Response) else answer(request)

    def form(self, index: int = -1) -> dict[str, list[str]]:
        return urllib.parse.parse_qs(self.requests[index].content.decode())


@pytest.fixture
def fake() -> FakeAt:
    return FakeAt()


def make_provider(fake: FakeAt, *, sender_id: str = "SAUTI") -> AfricasTalkingProvider:
    return AfricasTalkingProvider(
        username="sauti",
        api_key=API_KEY,
        url=MESSAGING_URL,
        sender_id=sender_id,
        client=httpx.Client(transport=httpx.MockTransport(fake)),
    )


@pytest.fixture
def provider(fake: FakeAt) -> Sender:
    """The provider the workers' job context sends with (tests/workers/conftest.py)."""
    return make_provider(fake)


def send(fake: FakeAt, answer: Answer, *, to: str = MEMBER, sender_id: str = "SAUTI") -> object:
    fake.answers = [answer]
    return make_provider(fake, sender_id=sender_id).send(OutboundMessage(to=to, body=BODY))


def test_a_message_is_posted_as_the_messaging_api_takes_it(fake: FakeAt) -> None:
    sid = message_id()
    sent = send(fake, accepted(101, sid))
    assert sent == at_send.Sent(provider_id=sid, delivered=False)
    [request] = fake.requests
    assert request.headers["apiKey"] == API_KEY
    assert request.headers["Accept"] == "application/json"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert fake.form() == {
        "username": ["sauti"],
        "to": [MEMBER],
        "message": [BODY],
        "from": ["SAUTI"],
    }


def test_a_message_meant_for_whatsapp_goes_by_sms_and_says_so(fake: FakeAt) -> None:
    sid = message_id()
    fake.answers = [accepted(101, sid)]
    message = OutboundMessage(to=MEMBER, body=BODY, channel="whatsapp")
    sent = make_provider(fake, sender_id="SAUTI").send(message)
    assert (sent.provider_id, sent.channel) == (sid, "sms")
    assert sent.note == "whatsapp not reachable here: sent by SMS"
    assert fake.form()["message"] == [BODY]


def test_without_a_sender_id_the_accounts_default_sends(fake: FakeAt) -> None:
    send(fake, accepted(), sender_id="")
    assert "from" not in fake.form()


@pytest.mark.parametrize("code", [100, 101, 102, "101"])
def test_processed_sent_and_queued_take_the_message_under_ats_id(
    fake: FakeAt, code: int | str
) -> None:
    sid = message_id()
    answer = accepted(101, sid)
    data = json.loads(answer.content)
    data["SMSMessageData"]["Recipients"][0]["statusCode"] = code
    sent = send(fake, httpx.Response(201, json=data))
    assert sent == at_send.Sent(provider_id=sid)


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (405, "InsufficientBalance"),
        (500, "InternalServerError"),
        (501, "GatewayError"),
        (502, "RejectedByGateway"),
        (503, "Whatever"),
    ],
)
def test_a_recipient_code_worth_retrying(fake: FakeAt, code: int, status: str) -> None:
    with pytest.raises(SendError) as raised:
        send(fake, refused(code, status))
    assert (raised.value.reason, raised.value.retry) == (
        f"africastalking status {code} {status}",
        True,
    )


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (401, "RiskHold"),
        (402, "InvalidSenderId"),
        (403, "InvalidPhoneNumber"),
        (404, "UnsupportedNumberType"),
        (406, "UserInBlacklist"),
        (407, "CouldNotRoute"),
        (409, "DoNotDisturbRejection"),
        (410, "SomethingNew"),
    ],
)
def test_a_recipient_code_that_will_fail_again_is_final(
    fake: FakeAt, code: int, status: str
) -> None:
    with pytest.raises(SendError) as raised:
        send(fake, refused(code, status, number=REPORTER), to=REPORTER)
    assert (raised.value.reason, raised.value.retry) == (
        f"africastalking status {code} {status}",
        False,
    )


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429])
def test_http_5xx_and_429_are_retried(fake: FakeAt, status: int) -> None:
    with pytest.raises(SendError) as raised:
        send(fake, httpx.Response(status, text=f"Upstream trouble sending to {MEMBER}"))
    assert (raised.value.reason, raised.value.retry) == (f"africastalking http {status}", True)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_other_http_4xx_are_final(fake: FakeAt, status: int) -> None:
    with pytest.raises(SendError) as raised:
        send(fake, httpx.Response(status, text="The supplied authentication is invalid"))
    assert (raised.value.reason, raised.value.retry) == (f"africastalking http {status}", False)


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (httpx.ConnectTimeout("timed out"), "africastalking ConnectTimeout"),
        (httpx.ReadTimeout("timed out"), "africastalking ReadTimeout"),
        (httpx.WriteTimeout("timed out"), "africastalking WriteTimeout"),
        (httpx.PoolTimeout("timed out"), "africastalking PoolTimeout"),
        (httpx.ConnectError("connection refused"), "africastalking ConnectError"),
        (httpx.RemoteProtocolError("server hung up"), "africastalking RemoteProtocolError"),
    ],
)
def test_timeouts_and_connection_errors_are_retried(
    fake: FakeAt, error: Exception, reason: str
) -> None:
    with pytest.raises(SendError) as raised:
        send(fake, error)
    assert (raised.value.reason, raised.value.retry) == (reason, True)


def test_the_request_has_a_ten_second_timeout(fake: FakeAt) -> None:
    send(fake, accepted())
    assert fake.requests[0].extensions["timeout"] == {
        "connect": 10.0,
        "read": 10.0,
        "write": 10.0,
        "pool": 10.0,
    }


@pytest.mark.parametrize(
    ("answer", "reason", "retry"),
    [
        (
            httpx.Response(200, text="<html>gateway</html>"),
            "africastalking unreadable answer",
            True,
        ),
        (
            httpx.Response(201, json=["not", "an", "answer"]),
            "africastalking unreadable answer",
            True,
        ),
        (
            httpx.Response(201, json={"SMSMessageData": "x"}),
            "africastalking unreadable answer",
            True,
        ),
        (
            httpx.Response(201, json={"SMSMessageData": {"Recipients": [{"statusCode": None}]}}),
            "africastalking unreadable answer",
            True,
        ),
        (
            httpx.Response(201, json={"SMSMessageData": {"Recipients": ["x"]}}),
            "africastalking unreadable answer",
            True,
        ),
        (
            httpx.Response(
                201, json={"SMSMessageData": {"Message": "InvalidSenderId", "Recipients": []}}
            ),
            "africastalking InvalidSenderId",
            False,
        ),
        (
            httpx.Response(
                201,
                json={"SMSMessageData": {"Message": f"Blocked {MEMBER}", "Recipients": []}},
            ),
            "africastalking no recipient",
            False,
        ),
    ],
)
def test_an_odd_answer_is_named_by_a_short_code(
    fake: FakeAt, answer: httpx.Response, reason: str, retry: bool
) -> None:
    with pytest.raises(SendError) as raised:
        send(fake, answer)
    assert (raised.value.reason, raised.value.retry) == (reason, retry)


def test_an_id_too_long_to_keep_is_not_kept(fake: FakeAt) -> None:
    assert send(fake, accepted(101, "x" * 65)) == at_send.Sent(provider_id=None)


def test_reasons_never_hold_the_number_or_the_text(fake: FakeAt) -> None:
    answers: list[Answer] = [
        refused(403, "InvalidPhoneNumber", number=REPORTER),
        refused(406, f"Blacklisted {REPORTER}", number=REPORTER),
        httpx.Response(400, text=f"Invalid phone number: {REPORTER}"),
        httpx.Response(503, text=BODY),
        httpx.ConnectError(f"cannot reach {REPORTER}"),
    ]
    for answer in answers:
        with pytest.raises(SendError) as raised:
            send(fake, answer, to=REPORTER)
        text = str(raised.value) + raised.value.reason
        assert not any(form in text for form in number_forms(REPORTER)), text
        assert "committee" not in text


def test_a_real_network_call_fails_loudly() -> None:
    real = AfricasTalkingProvider(
        username="sauti", api_key=API_KEY, url="https://api.africastalking.com/version1/messaging"
    )
    with pytest.raises(RuntimeError, match=r"api\.africastalking\.com"):
        real.send(OutboundMessage(to=MEMBER, body="hello"))


# -- settings -------------------------------------------------------------------------------


def at_settings(settings: Settings, **values: str) -> Settings:
    return settings.model_copy(update={"sauti_sms_provider": "africastalking", **values})


def test_build_refuses_without_the_account(settings: Settings) -> None:
    with pytest.raises(ValueError, match="needs AT_USERNAME, AT_API_KEY"):
        at_send.build(at_settings(settings))
    with pytest.raises(ValueError, match="needs AT_API_KEY"):
        at_send.build(at_settings(settings, at_username="sauti"))
    with pytest.raises(ValueError, match=r"SAUTI_SMS_PROVIDER|AT_USERNAME"):
        senders(at_settings(settings))


def test_the_sandbox_account_must_use_the_sandbox_api(settings: Settings) -> None:
    with pytest.raises(
        ValueError, match=r"sandbox account sends through AT_API_URL=https://api\.sandbox"
    ):
        at_send.build(at_settings(settings, at_username="sandbox", at_api_key=API_KEY))
    built = at_send.build(
        at_settings(settings, at_username="sandbox", at_api_key=API_KEY, at_api_url=API_URL)
    )
    assert built.url == MESSAGING_URL


def test_the_registry_builds_one_sender_for_its_countries(settings: Settings) -> None:
    chosen = at_settings(
        settings,
        sauti_sms_provider="CD=africastalking,RW=twilio,*=africastalking",
        at_username="sauti",
        at_api_key=API_KEY,
        at_sender_id="SAUTI",
        at_api_url="http://127.0.0.1:9",
    )
    built = senders(chosen)
    congo, every = built.for_number(MEMBER), built.for_number("+15005550006")
    assert congo is every
    assert isinstance(congo, AfricasTalkingProvider)
    assert (congo.name, congo.url, congo.sender_id) == (
        "africastalking",
        "http://127.0.0.1:9/version1/messaging",
        "SAUTI",
    )
    assert built.for_number("+250788123456").name == "twilio"


# -- through the worker ---------------------------------------------------------------------

# The workers' job context (sending with `provider` above) and their job runner.
ctx = worker_fixtures.ctx
worker_jobs = worker_fixtures.run_jobs


def queue(ctx: WorkerContext, *, to: str = MEMBER) -> int:
    with ctx.sessions.begin() as session:
        message = outbox.queue_sms(
            session=session,
            crypto=ctx.crypto,
            dedupe_key=f"test:{to}",
            to_e164=to,
            body=BODY,
            language="en",
            kind=MessageKind.ALERT if to == MEMBER else MessageKind.REPORTER_MESSAGE,
            recipient_kind=RecipientKind.MEMBER if to == MEMBER else RecipientKind.REPORTER,
            now=NOW,
        )
        assert message is not None
        return message.id


def test_the_worker_keeps_ats_id_and_waits_for_the_delivery_report(
    ctx: WorkerContext, fake: FakeAt, worker_jobs: Callable[[], None]
) -> None:
    sid = message_id()
    fake.answers = [accepted(101, sid)]
    enqueue_sends([queue(ctx)], connection=ctx.redis)
    worker_jobs()
    [row] = outbox_rows(ctx)
    assert (row.status, row.row.provider, row.row.provider_id, row.attempts) == (
        "sent",
        "africastalking",
        sid,
        1,
    )
    assert fake.form()["to"] == [MEMBER]


def test_retries_then_a_final_failure_drops_a_reporters_number(
    ctx: WorkerContext, fake: FakeAt, caplog: pytest.LogCaptureFixture
) -> None:
    message_id_ = queue(ctx, to=REPORTER)
    fake.answers = [
        refused(405, "InsufficientBalance", number=REPORTER),
        httpx.ReadTimeout("timed out"),
        httpx.Response(503, text="down"),
        refused(500, "InternalServerError", number=REPORTER),
        httpx.Response(429, text="slow down"),
    ]
    assert len(fake.answers) == MAX_ATTEMPTS
    results = []
    at: datetime = NOW
    for _ in range(MAX_ATTEMPTS):
        results.append(send_sms(message_id_, now=at))
        [row] = outbox_rows(ctx)
        at = row.row.next_attempt_at
    assert results == ["retry"] * (MAX_ATTEMPTS - 1) + ["failed"]
    [row] = outbox_rows(ctx)
    assert (row.status, row.to, row.row.to_enc, row.row.last_error) == (
        "failed",
        None,
        None,
        "africastalking http 429",
    )
    assert not any(form in caplog.text for form in number_forms(REPORTER))


def test_an_invalid_number_fails_at_once(ctx: WorkerContext, fake: FakeAt) -> None:
    fake.answers = [refused(403, "InvalidPhoneNumber", number=REPORTER)]
    assert send_sms(queue(ctx, to=REPORTER), now=NOW) == "failed"
    [row] = outbox_rows(ctx)
    assert (row.status, row.to, row.attempts, row.row.last_error) == (
        "failed",
        None,
        1,
        "africastalking status 403 InvalidPhoneNumber",
    )
