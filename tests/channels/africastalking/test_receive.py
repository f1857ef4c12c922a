"""Inbound SMS from Africa's Talking, posted as AT posts them: the conversation answers
through the outbox (AT takes no answer in the response), one answer per message id
whatever the repeats, a 503 whenever the service cannot take the message (so AT delivers
it again and nothing is lost), 403 without the token, 400 with a short reason for a
callback of another shape, never a 500."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable

import httpx
import pytest
import redis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from rq import SimpleWorker
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from gateway.channels import answers
from gateway.channels.africastalking import receive
from gateway.channels.africastalking.send import AfricasTalkingProvider
from gateway.channels.console.send import ConsoleProvider
from storage import outbox
from storage.keys import load_crypto
from storage.models import Case, CommitteeMember, OutboxMessage
from storage.settings import Settings
from tests.channels.africastalking.conftest import AtSms, message_id, reply_rows
from tests.conftest import TWILIO_TOKEN
from tests.gateway.conftest import SmsPhone, option
from tests.gateway.test_sms import case_number, report_by_sms, speak_english
from tests.workers.conftest import console_lines
from workers import context, queues
from workers.outbound import Senders

REPORTER = "+250788123456"
RW_NETWORK = "63510"  # MCC 635: a network in Rwanda
CD_REPORTER = "+243812345678"
WALIKALE_SW = "+243810000001"  # walikale-local's focal point (storage/seed/committees.yaml)


@pytest.fixture
def sms(at_phone: Callable[..., AtSms]) -> AtSms:
    return at_phone(REPORTER, RW_NETWORK)


def sms_jobs(redis_client: redis.Redis) -> list[tuple[object, ...]]:
    return [tuple(job.args) for job in queues.queue(queues.SMS, connection=redis_client).jobs]


def test_a_message_is_answered_through_the_outbox(
    sms: AtSms, db: sessionmaker[Session], settings: Settings, redis_client: redis.Redis
) -> None:
    response = sms.post(sms.form("hello"))
    assert (response.status_code, response.content) == (200, b"")
    [row] = reply_rows(db)
    assert (row.kind, row.recipient_kind, row.status, row.channel, row.member_id) == (
        "reply",
        "reporter",
        "queued",
        "sms",
        None,
    )
    crypto = load_crypto(settings)
    assert outbox.recipient(crypto=crypto, message=row) == REPORTER
    assert "English" in outbox.message_body(crypto=crypto, message=row)
    assert sms_jobs(redis_client) == [(row.id,)]


def test_a_report_by_africas_talking_sms(sms: AtSms, db: sessionmaker[Session]) -> None:
    final = report_by_sms(sms)
    assert final.startswith("Report sent.")
    with db() as session:
        case = session.scalars(select(Case)).one()
    assert case.number == case_number(final).replace("-", "")
    assert (case.channel, case.category, case.consent_updates) == ("sms", "illegal_tax", True)
    assert case.contact_enc is not None


def test_one_conversation_whichever_sms_provider_brings_the_message(
    app_client: TestClient, sms: AtSms
) -> None:
    twilio = SmsPhone(app_client, REPORTER, TWILIO_TOKEN, "https://sauti.example.org")
    screen = twilio.send("hello")
    assert sms.send(option(screen, "English")).startswith("Sauti")
    assert twilio.send("REPORT").startswith("What happened?")


def test_a_number_without_its_country_code_is_read_in_the_networks_country(
    at_phone: Callable[..., AtSms], db: sessionmaker[Session], settings: Settings
) -> None:
    at_phone("0788123456", RW_NETWORK).send("hello")
    crypto = load_crypto(settings)
    [row] = reply_rows(db)
    assert outbox.recipient(crypto=crypto, message=row) == REPORTER
    assert row.to_pseudonym == crypto.pseudonym(REPORTER)


def test_a_repeated_id_is_answered_once(
    sms: AtSms, db: sessionmaker[Session], redis_client: redis.Redis
) -> None:
    speak_english(sms)
    before = len(reply_rows(db))
    form = sms.form("REPORT")
    for _ in range(3):
        response = sms.post(form)
        assert (response.status_code, response.content) == (200, b"")
    rows = reply_rows(db)
    assert len(rows) == before + 1
    assert len(sms_jobs(redis_client)) == before + 1
    screen = sms.last_reply()
    assert screen.startswith("What happened?")
    # The conversation stepped once: the next message answers the first question.
    assert not sms.send(option(screen, "Illegal tax")).startswith("What happened?")


def test_a_repeat_while_the_first_delivery_is_at_work_is_asked_again(
    sms: AtSms, app_client: TestClient, db: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(answers, "REPEAT_WAIT", 0.2)
    form = sms.form("hello")
    store = app_client.app.state.runtime.store
    # Another delivery of the same message holds its id and has not answered yet.
    assert app_client.portal.call(store.claim_message, f"africastalking:{form['id']}", 60)
    assert sms.post(form).status_code == 503
    assert reply_rows(db) == []


def test_a_failed_conversation_is_a_503_and_the_next_attempt_is_taken_afresh(
    sms: AtSms, app_client: TestClient, db: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    conversation = app_client.app.state.conversation
    real = conversation.sms
    calls: list[str] = []

    async def failing_once(msg: object) -> str | None:
        calls.append("called")
        if len(calls) == 1:
            raise RuntimeError("the conversation failed")
        return await real(msg)

    monkeypatch.setattr(conversation, "sms", failing_once)
    form = sms.form("hello")
    assert sms.post(form).status_code == 503
    assert reply_rows(db) == []
    assert sms.post(form).status_code == 200
    assert len(calls) == 2
    assert "English" in sms.last_reply()


def test_a_database_failure_is_a_503_and_the_next_attempt_queues_the_same_answer(
    sms: AtSms, app_client: TestClient, db: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    speak_english(sms)
    before = len(reply_rows(db))
    conversation = app_client.app.state.conversation
    real_sms, real_queue = conversation.sms, outbox.queue_sms
    answered: list[str] = []
    failures = [OperationalError("INSERT", {}, Exception("database is locked"))]

    async def counting(msg: object) -> str | None:
        answered.append("answered")
        return await real_sms(msg)

    def failing_once(**kwargs: object) -> OutboxMessage | None:
        if failures:
            raise failures.pop()
        return real_queue(**kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(conversation, "sms", counting)
    monkeypatch.setattr(receive.outbox, "queue_sms", failing_once)
    form = sms.form("REPORT")
    assert sms.post(form).status_code == 503
    assert len(reply_rows(db)) == before
    assert sms.post(form).status_code == 200
    assert len(reply_rows(db)) == before + 1
    assert answered == ["answered"]  # worked out once, remembered for the next attempt
    assert sms.last_reply().startswith("What happened?")


def test_redis_out_of_reach_is_a_503_and_nothing_is_queued(
    sms: AtSms, app_client: TestClient, db: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    async def unreachable(key: str) -> str | None:
        raise redis.ConnectionError("Connection refused")

    monkeypatch.setattr(app_client.app.state.runtime.store, "get_reply", unreachable)
    response = sms.post(sms.form("hello"))
    assert (response.status_code, response.text) == (503, "temporarily unavailable")
    assert reply_rows(db) == []


def refusals(app_client: TestClient, reason: str) -> float:
    for line in app_client.get("/metrics").text.splitlines():
        if line.startswith(f'sauti_refused_total{{reason="{reason}"}}'):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


@pytest.mark.parametrize("token", ["", "wrong-token", "test-at-token-0123456789abcdeF"])
def test_without_the_token_a_message_is_refused_and_counted(
    sms: AtSms, app_client: TestClient, db: sessionmaker[Session], token: str
) -> None:
    response = sms.post(sms.form("hello"), token=token)
    assert (response.status_code, response.text) == (403, "forbidden")
    assert refusals(app_client, "at_token") == 1.0
    assert reply_rows(db) == []


def _without(name: str) -> Callable[[dict[str, str]], list[tuple[str, str]]]:
    return lambda form: [(k, v) for k, v in form.items() if k != name]


def _twice(name: str) -> Callable[[dict[str, str]], list[tuple[str, str]]]:
    return lambda form: [*form.items(), (name, form[name])]


def _with(name: str, value: str) -> Callable[[dict[str, str]], list[tuple[str, str]]]:
    return lambda form: [(k, value if k == name else v) for k, v in form.items()]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (_without("from"), "missing from"),
        (_without("id"), "missing id"),
        (_without("text"), "missing text"),
        (lambda form: [("to", form["to"])], "missing from, id, text"),
        (_twice("id"), "id appears more than once"),
        (_twice("from"), "from appears more than once"),
        (_twice("text"), "text appears more than once"),
        (_twice("networkCode"), "networkCode appears more than once"),
        (_with("id", ""), "id is not a message id (1 to 100 visible characters)"),
        (_with("id", "x" * 101), "id is not a message id (1 to 100 visible characters)"),
        (_with("id", "two words"), "id is not a message id (1 to 100 visible characters)"),
        (_with("id", "caf\u00e9"), "id is not a message id (1 to 100 visible characters)"),
        (_with("from", ""), "from is not a phone number"),
        (_with("from", "Sauti"), "from is not a phone number"),
        (_with("from", "+243812345678&text=x"), "from is not a phone number"),
    ],
)
def test_a_callback_of_another_shape_gets_400_and_a_short_reason(
    sms: AtSms,
    app_client: TestClient,
    db: sessionmaker[Session],
    change: Callable[[dict[str, str]], list[tuple[str, str]]],
    reason: str,
) -> None:
    body = urllib.parse.urlencode(change(sms.form("hello")))
    response = sms.post(body)
    assert (response.status_code, response.text) == (400, reason)
    assert REPORTER not in response.text
    assert refusals(app_client, "at_fields") == 1.0
    assert reply_rows(db) == []


@pytest.mark.parametrize(
    "change",
    [
        _without("to"),
        _without("date"),
        _without("linkId"),
        _without("networkCode"),
        _with("networkCode", "not-a-network"),
        _with("networkCode", "99999"),
        _with("date", "yesterday"),
        lambda form: [*form.items(), ("cost", "KES 1.00"), ("cost", "again")],
        _with("text", "\x00\x1b hello \u200b"),
        _with("text", ""),
        _with("text", "x" * 5000),
    ],
)
def test_odd_or_missing_optional_fields_are_still_answered(
    sms: AtSms,
    db: sessionmaker[Session],
    settings: Settings,
    change: Callable[[dict[str, str]], list[tuple[str, str]]],
) -> None:
    response = sms.post(urllib.parse.urlencode(change(sms.form("hello"))))
    assert (response.status_code, response.content) == (200, b"")
    [row] = reply_rows(db)
    assert outbox.recipient(crypto=load_crypto(settings), message=row) == REPORTER


def test_a_plus_posted_without_url_encoding_still_names_the_number(
    sms: AtSms, db: sessionmaker[Session], settings: Settings
) -> None:
    # "+" unencoded in a form body reads as a space.
    body = f"from=+250788123456&to=40404&text=hello&id={message_id()}&networkCode=63510"
    assert sms.post(body).status_code == 200
    [row] = reply_rows(db)
    assert outbox.recipient(crypto=load_crypto(settings), message=row) == REPORTER


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        (b'{"from": "+250788123456"}', {"content-type": "application/json"}, 415),
        (b"a=" + b"x" * 70_000, {"content-type": "application/x-www-form-urlencoded"}, 413),
        (b"%ff%fe=%00&from", {"content-type": "application/x-www-form-urlencoded"}, 400),
        (b"&".join(b"f%d=1" % i for i in range(300)), {}, 400),
    ],
)
def test_a_body_that_is_no_form_is_refused_without_a_500(
    app_client: TestClient, body: bytes, headers: dict[str, str], status: int
) -> None:
    response = app_client.post(
        "/sms/africastalking?token=test-at-token-0123456789abcdef", content=body, headers=headers
    )
    assert response.status_code == status


def test_a_focal_point_is_answered_by_sms_in_their_language_linked_to_nobody(
    at_phone: Callable[..., AtSms], db: sessionmaker[Session], settings: Settings
) -> None:
    """The row of an answer ties no member to what they texted (a focal point may report
    too): kept as one to a reporter, in the member's language, by the channel it came."""
    with db.begin() as session:
        # Alerts reach this member by WhatsApp; the answer to an SMS goes back by SMS.
        session.execute(
            update(CommitteeMember)
            .where(CommitteeMember.phone == WALIKALE_SW)
            .values(channel="whatsapp")
        )
    at_phone(WALIKALE_SW).send("LIST")
    [row] = reply_rows(db)
    assert (row.recipient_kind, row.member_id, row.channel, row.language) == (
        "reporter",
        None,
        "sms",
        "sw",
    )
    assert outbox.recipient(crypto=load_crypto(settings), message=row) == WALIKALE_SW


def test_stop_is_confirmed_although_nothing_else_will_be_sent(
    sms: AtSms, db: sessionmaker[Session], settings: Settings, run_jobs: Callable[[], None]
) -> None:
    speak_english(sms)
    assert "no more SMS" in sms.send("STOP")
    stopped = reply_rows(db)[-1]
    assert stopped.status == "queued"
    run_jobs()
    with db() as session:
        found = session.get(OutboxMessage, stopped.id)
        assert found is not None
        assert (found.status, found.to_enc) == ("delivered", None)
    assert console_lines(settings.console_outbox)[-1]["to"] != REPORTER  # masked


class FakeAt:
    """Africa's Talking's messaging API at the HTTP client: takes every message."""

    def __init__(self) -> None:
        self.sent: list[dict[str, str]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        form = dict(urllib.parse.parse_qsl(request.content.decode()))
        self.sent.append(form)
        recipient = {"statusCode": 101, "number": form["to"], "messageId": message_id()}
        return httpx.Response(201, json={"SMSMessageData": {"Recipients": [recipient]}})


def test_the_answer_goes_through_the_provider_of_the_numbers_country(
    at_phone: Callable[..., AtSms],
    settings: Settings,
    db: sessionmaker[Session],
    redis_client: redis.Redis,
) -> None:
    fake = FakeAt()
    client = httpx.Client(transport=httpx.MockTransport(fake))
    at = AfricasTalkingProvider(
        username="sauti", api_key="k", url="https://api.example/version1/messaging", client=client
    )
    console = ConsoleProvider(settings.console_outbox, in_clear=False)
    context.use(context.build(settings, senders=Senders({"CD": at, "*": console})))
    try:
        at_phone(CD_REPORTER).send("hello")
        at_phone(REPORTER, RW_NETWORK).send("hello")
        names = [queues.queue(n, connection=redis_client) for n in queues.ALL]
        SimpleWorker(names, connection=redis_client).work(burst=True)
    finally:
        context.use(None)
    assert [form["to"] for form in fake.sent] == [CD_REPORTER]
    [line] = console_lines(settings.console_outbox)
    assert json.dumps(line).count("withheld") == 1  # the answer may quote the reporter
    by_provider = {row.provider: row for row in reply_rows(db)}
    assert by_provider["africastalking"].status == "sent"
    assert by_provider["africastalking"].provider_id.startswith("ATXid_")  # type: ignore[union-attr]
    assert by_provider["console"].status == "delivered"


AT_FIELDS = st.sampled_from(["from", "to", "text", "date", "id", "linkId", "networkCode", "x"])
FUZZ = hypothesis_settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))


@FUZZ
@given(
    pairs=st.lists(st.tuples(AT_FIELDS, st.text(max_size=120)), max_size=10),
    sender=st.from_regex(r"\+?(243|250|257)?[0-9]{6,10}", fullmatch=True),
)
def test_any_fields_get_200_or_a_400_never_a_5xx(
    app_client: TestClient, pairs: list[tuple[str, str]], sender: str
) -> None:
    for form in (pairs, [("from", sender), ("id", message_id()), ("text", "hi"), *pairs]):
        response = app_client.post(
            "/sms/africastalking?token=test-at-token-0123456789abcdef",
            content=urllib.parse.urlencode(form),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code in (200, 400), response.text
        if response.status_code == 200:
            assert response.content == b""
