"""A running app on the test database and Redis, and phones that talk to it like providers do."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import redis
from fastapi.testclient import TestClient
from rq import SimpleWorker
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from twilio.request_validator import RequestValidator

from gateway.app import create_app
from gateway.channels.registry import senders
from gateway.release import prepare
from storage.db import make_engine, make_sessionmaker
from storage.keys import load_crypto
from storage.models import OutboxMessage
from storage.outbox import message_body, recipient
from storage.settings import Settings
from workers import context, queues

OPTION = re.compile(r"^(\d+) (.+)$", re.MULTILINE)


def settle(client: TestClient) -> None:
    """Wait for the work a request handed to the background (routing enqueues)."""
    client.portal.call(client.app.state.conversation.settle_background)


def option(screen: str, label: str) -> str:
    """The key of the option whose label starts with `label` on this screen."""
    for key, text in OPTION.findall(screen):
        if text.startswith(label):
            return str(key)
    raise AssertionError(f"no option {label!r} on screen:\n{screen}")


@pytest.fixture
def app_client(settings: Settings, redis_client: redis.Redis) -> Iterator[TestClient]:
    prepare(settings)
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def db(settings: Settings) -> Iterator[sessionmaker[Session]]:
    """Sessions on the test database, for looking at what the service stored."""
    engine = make_engine(settings.db_url)
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture
def run_jobs(settings: Settings, redis_client: redis.Redis) -> Iterator[object]:
    """Run every queued job to completion in this process (RQ's SimpleWorker, burst mode)."""
    context.use(context.build(settings, senders=senders(settings)))

    def run() -> None:
        names = [queues.queue(n, connection=redis_client) for n in queues.ALL]
        SimpleWorker(names, connection=redis_client).work(burst=True)

    yield run
    context.use(None)


def outbox_texts(settings: Settings, kind: str | None = None) -> list[dict[str, str | None]]:
    """Every outbox message (of `kind`), in order, read from the database in clear: `to`
    (None once a reporter's number was dropped), `body` and `kind`. Behind the suite's
    public URL the console file masks reporters and withholds alert texts, so what was
    sent is read here."""
    crypto = load_crypto(settings)
    engine = make_engine(settings.db_url)
    try:
        with make_sessionmaker(engine)() as session:
            query = select(OutboxMessage).order_by(OutboxMessage.id)
            if kind is not None:
                query = query.where(OutboxMessage.kind == kind)
            return [
                {
                    "to": recipient(crypto=crypto, message=row),
                    "body": message_body(crypto=crypto, message=row),
                    "kind": row.kind,
                }
                for row in session.scalars(query)
            ]
    finally:
        engine.dispose()


@dataclass
class UssdPhone:
    """Posts exactly what Africa's Talking posts: all inputs so far joined by '*'."""

    client: TestClient
    number: str
    token: str
    session_id: str = ""
    inputs: list[str] = field(default_factory=list)
    last: str = ""
    network_code: str = "63001"  # MCC 630: a network in the DRC

    def post(self, text: str, session_id: str | None = None) -> str:
        response = self.client.post(
            f"/ussd/africastalking?token={self.token}",
            data={
                "sessionId": session_id or self.session_id,
                "serviceCode": "*384*123#",
                "phoneNumber": self.number,
                "networkCode": self.network_code,
                "text": text,
            },
        )
        settle(self.client)
        assert response.status_code == 200, response.text
        assert response.text.startswith(("CON ", "END "))
        return response.text

    def dial(self, *pre: str) -> str:
        self.session_id = "ATUid_" + secrets.token_hex(8)
        self.inputs = list(pre)
        self.last = self.post("*".join(self.inputs))
        return self.last

    def press(self, key: str) -> str:
        self.inputs.append(key)
        self.last = self.post("*".join(self.inputs))
        return self.last

    def choose(self, label: str) -> str:
        return self.press(option(self.last, label))


@dataclass
class SmsPhone:
    """Posts signed Twilio webhooks from one number."""

    client: TestClient
    number: str
    token: str
    public_url: str
    sent: int = 0

    def form(self, body: str, sid: str | None = None) -> dict[str, str]:
        self.sent += 1
        return {
            "MessageSid": sid or "SM" + secrets.token_hex(16),
            "AccountSid": "AC" + "0" * 32,
            "From": self.number,
            "To": "+15005550006",
            "Body": body,
            "NumMedia": "0",
            "NumSegments": "1",
            "SmsStatus": "received",
            "ApiVersion": "2010-04-01",
        }

    def post_form(self, form: dict[str, str], *, path: str = "/sms/twilio") -> tuple[int, str]:
        signature = RequestValidator(self.token).compute_signature(self.public_url + path, form)
        response = self.client.post(path, data=form, headers={"X-Twilio-Signature": signature})
        settle(self.client)
        return response.status_code, response.text

    def send(self, body: str, sid: str | None = None) -> str:
        status, text = self.post_form(self.form(body, sid))
        assert status == 200, text
        return reply_text(text)


def reply_text(twiml: str) -> str:
    found = re.search(r"<Message>(.*)</Message>", twiml, re.DOTALL)
    if found is None:
        return ""
    from html import unescape

    return unescape(found.group(1))
