"""Africa's Talking SMS as it posts: a phone that sends inbound SMS callbacks and reads the
answer the service queued for it, and sent outbox rows to post delivery reports about."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage import outbox
from storage.keys import load_crypto
from storage.models import MessageKind, OutboxMessage, RecipientKind
from storage.privacy import Crypto
from storage.settings import Settings
from tests.conftest import AT_TOKEN
from tests.gateway.conftest import settle

NOW = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)
SHORT_CODE = "40404"


def at_id() -> str:
    """An inbound message id as Africa's Talking gives one."""
    return str(uuid.uuid4())


def message_id() -> str:
    """A sent message's id as Africa's Talking answers a send request with."""
    return "ATXid_" + secrets.token_hex(16)


@dataclass
class AtSms:
    """Posts Africa's Talking inbound SMS callbacks from one number; `send` returns the
    answer the service queued in the outbox for it."""

    client: TestClient
    db: sessionmaker[Session]
    crypto: Crypto
    number: str
    network_code: str = "63001"  # MCC 630: a network in the DRC
    token: str = AT_TOKEN

    def form(self, text: str, sid: str | None = None) -> dict[str, str]:
        return {
            "from": self.number,
            "to": SHORT_CODE,
            "text": text,
            "date": "2026-12-08 09:00:00",
            "id": sid or at_id(),
            "linkId": at_id(),
            "networkCode": self.network_code,
        }

    def post(self, form: dict[str, str] | str, *, token: str | None = None) -> httpx.Response:
        given = self.token if token is None else token
        path = "/sms/africastalking" + (f"?token={given}" if given else "")
        if isinstance(form, str):
            response = self.client.post(
                path, content=form, headers={"content-type": "application/x-www-form-urlencoded"}
            )
        else:
            response = self.client.post(path, data=form)
        settle(self.client)
        return response

    def send(self, text: str, sid: str | None = None) -> str:
        response = self.post(self.form(text, sid))
        assert response.status_code == 200, response.text
        assert response.content == b""
        return self.last_reply()

    def last_reply(self) -> str:
        found = replies(self.db, self.crypto, self.number)
        return found[-1] if found else ""


def replies(db: sessionmaker[Session], crypto: Crypto, number: str) -> list[str]:
    """The answers queued for `number`, in order."""
    with db() as session:
        query = (
            select(OutboxMessage)
            .where(
                OutboxMessage.kind == MessageKind.REPLY,
                OutboxMessage.to_pseudonym == crypto.pseudonym(number),
            )
            .order_by(OutboxMessage.id)
        )
        return [outbox.message_body(crypto=crypto, message=row) for row in session.scalars(query)]


def reply_rows(db: sessionmaker[Session]) -> list[OutboxMessage]:
    with db() as session:
        query = (
            select(OutboxMessage)
            .where(OutboxMessage.kind == MessageKind.REPLY)
            .order_by(OutboxMessage.id)
        )
        return list(session.scalars(query))


@pytest.fixture
def at_phone(
    app_client: TestClient, settings: Settings, db: sessionmaker[Session]
) -> Callable[..., AtSms]:
    crypto = load_crypto(settings)

    def make(number: str, network_code: str = "63001") -> AtSms:
        return AtSms(app_client, db, crypto, number, network_code)

    return make


@pytest.fixture
def sent_message(
    app_client: TestClient, settings: Settings, db: sessionmaker[Session]
) -> Callable[..., str]:
    """An outbox row Africa's Talking took, in SENT; return AT's id for it."""
    crypto = load_crypto(settings)

    def make(sid: str, *, to: str, reporter: bool = False) -> str:
        with db.begin() as session:
            message = outbox.queue_sms(
                session=session,
                crypto=crypto,
                dedupe_key=f"test:{sid}",
                to_e164=to,
                body="hello",
                language="en",
                kind=MessageKind.REPORTER_MESSAGE if reporter else MessageKind.ALERT,
                recipient_kind=RecipientKind.REPORTER if reporter else RecipientKind.MEMBER,
                now=NOW,
            )
            assert message is not None
            outbox.claim_for_sending(session=session, message_id=message.id, now=NOW)
            assert outbox.mark_sent(
                session=session,
                message_id=message.id,
                provider="africastalking",
                provider_id=sid,
                now=NOW,
            )
        return sid

    return make
