"""An encryption key removed before rotating breaks no webhook: the reporter's status check
still answers, without the committee's message, and the error is logged."""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator

import pytest
import redis
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.release import prepare
from storage import cases
from storage.db import make_engine, make_sessionmaker, utcnow
from storage.keys import load_crypto
from storage.settings import Settings
from tests.conftest import AT_TOKEN
from tests.gateway.conftest import UssdPhone

NEW_KEY = "q1f3bM0m8oQ2n0lJ7XlE5v0QeG2tq8cRr8m3yO9pB6Y="
REPORTER = "+243812345678"
MESSAGE = "We visit the pit on Friday"


def _case_with_message(settings: Settings) -> str:
    """File a case with a committee message under the configured (old) key."""
    crypto = load_crypto(settings)
    engine = make_engine(settings.db_url)
    try:
        with make_sessionmaker(engine).begin() as session:
            case = cases.create_report(
                session=session,
                crypto=crypto,
                pseudonym=crypto.pseudonym(REPORTER),
                channel="ussd",
                language="en",
                answers={"category": "accident", "when": "today", "description": "a wall fell"},
                contact_e164=None,
                flow_version="v1",
                rng=random.Random(7),
                now=utcnow(),
            )
            cases.message_reporter(
                session=session,
                crypto=crypto,
                case=case,
                actor="user:a",
                text=MESSAGE,
                now=utcnow(),
            )
            return case.number
    finally:
        engine.dispose()


@pytest.fixture
def filed(settings: Settings, redis_client: redis.Redis) -> str:
    prepare(settings)
    return _case_with_message(settings)


@pytest.fixture
def client_with(settings: Settings, filed: str) -> Iterator[TestClient]:
    """The service started with only the new key: the old one was removed too early."""
    new_only = settings.model_copy(update={"sauti_encryption_key": NEW_KEY})
    with TestClient(create_app(new_only)) as client:
        yield client


def _status(client: TestClient, number: str) -> str:
    phone = UssdPhone(client=client, number=REPORTER, token=AT_TOKEN)
    screen = phone.dial()
    if "English" in screen:
        screen = phone.choose("English")
    phone.choose("Check a report")
    return phone.press(number)


def test_the_status_check_answers_without_the_unreadable_message(
    filed: str, client_with: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="storage.cases"):
        screen = _status(client_with, filed)

    assert screen.startswith("END Case ")
    assert "Received, waiting for the committee" in screen
    assert MESSAGE not in screen
    assert "matches no configured encryption key" in caplog.text
