"""A case closed as a duplicate of another: its reporter, who asked for SMS news, gets the
original's news from then on (the committee's messages and the original's closing, under
their own case number), once per phone; a status check on the duplicate's number shows the
original's status and latest message."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage.casenumber import display
from storage.cases import create_report
from storage.keys import load_crypto
from storage.models import Case, OutboxMessage
from storage.outbox import message_body, recipient
from storage.settings import Settings
from tests.gateway.conftest import SmsPhone
from tests.gateway.test_commands import WALIKALE_FR, phone  # noqa: F401
from tests.gateway.test_sms_follow_up import sms_in
from workers import queues
from workers.context import current, message_catalogs
from workers.routing import route_report
from workers.texts import reporter_closed_text, reporter_message_text

ORIGINAL_REPORTER, DUPLICATE_REPORTER = "+243990000061", "+243990000062"


@pytest.fixture
def report(
    settings: Settings, db: sessionmaker[Session], run_jobs: Callable[[], None]
) -> Callable[..., str]:
    """A routed report whose reporter asked for SMS news; its number, displayed."""
    crypto = load_crypto(settings)
    rng = random.Random(21)

    def file(reporter: str, place: str, language: str = "en") -> str:
        with db.begin() as session:
            case = create_report(
                session=session,
                crypto=crypto,
                pseudonym=crypto.pseudonym(reporter),
                channel="ussd",
                language=language,
                answers={
                    "category": "illegal_tax",
                    "place_code": place,
                    "when": "today",
                    "danger_now": "no",
                    "sms_updates": "yes",
                },
                contact_e164=reporter,
                flow_version="v1",
                rng=rng,
                now=datetime.now(UTC),
            )
        queues.enqueue(queues.ROUTING, route_report, case.id, connection=current().redis)
        run_jobs()
        return display(case.number)

    return file


def reporter_news(db: sessionmaker[Session], settings: Settings) -> list[tuple[str, str, str]]:
    """(kind, to, body) of each message to a reporter but the case number's confirmation."""
    crypto = load_crypto(settings)
    with db() as session:
        query = select(OutboxMessage).where(
            OutboxMessage.recipient_kind == "reporter", OutboxMessage.kind != "confirmation"
        )
        return [
            (
                row.kind,
                recipient(crypto=crypto, message=row) or "",
                message_body(crypto=crypto, message=row),
            )
            for row in session.scalars(query.order_by(OutboxMessage.id))
        ]


def contact_kept(db: sessionmaker[Session], number: str) -> bool:
    with db() as session:
        case = session.scalar(select(Case).where(Case.number == number.replace("-", "")))
        assert case is not None
        return case.contact_enc is not None


def test_the_duplicate_reporter_gets_the_original_news_and_status(
    app_client: TestClient,
    phone: Callable[[str], SmsPhone],  # noqa: F811
    report: Callable[..., str],
    db: sessionmaker[Session],
    settings: Settings,
) -> None:
    en, fr = message_catalogs(("en",)).translator("en"), message_catalogs(("en",)).translator("fr")
    original = report(ORIGINAL_REPORTER, "cd-nk-walikale-mpama")
    duplicate = report(DUPLICATE_REPORTER, "cd-nk-walikale-bisie", "fr")
    focal = phone(WALIKALE_FR)
    focal.send(f"CLOSE {duplicate} duplicate {original} same barrier")
    assert contact_kept(db, duplicate)
    # It asks nothing yet: its reporter is asked at the original's closing.
    closing = reporter_closed_text(fr, duplicate.replace("-", ""), "duplicate", choice=False)
    assert reporter_news(db, settings) == [("closing", DUPLICATE_REPORTER, closing)]

    focal.send(f"MSG {original} The police remove the barrier tomorrow")
    said = "The police remove the barrier tomorrow"
    assert reporter_news(db, settings)[1:] == [
        (
            "reporter_message",
            ORIGINAL_REPORTER,
            reporter_message_text(en, original.replace("-", ""), said),
        ),
        (
            "reporter_message",
            DUPLICATE_REPORTER,
            reporter_message_text(fr, duplicate.replace("-", ""), said),
        ),
    ]

    reporter = sms_in(app_client, DUPLICATE_REPORTER, "en")
    status = reporter.send(f"STATUS {duplicate}").splitlines()
    assert status[:2] == [
        f"Case {duplicate}: Sent to the committee",
        f"Committee: {said}",
    ]

    focal.send(f"CLOSE {original} resolved Barrier gone")
    assert reporter_news(db, settings)[3:] == [
        (
            "closing",
            ORIGINAL_REPORTER,
            reporter_closed_text(en, original.replace("-", ""), "resolved"),
        ),
        (
            "closing",
            DUPLICATE_REPORTER,
            reporter_closed_text(fr, duplicate.replace("-", ""), "resolved"),
        ),
    ]
    assert not contact_kept(db, duplicate)
    assert not contact_kept(db, original)
    closed = reporter.send(f"STATUS {duplicate}").splitlines()
    assert closed[0] == f"Case {duplicate}: Closed - the problem was resolved"


def test_the_same_phone_reporting_twice_hears_once(
    phone: Callable[[str], SmsPhone],  # noqa: F811
    report: Callable[..., str],
    db: sessionmaker[Session],
    settings: Settings,
) -> None:
    original = report(ORIGINAL_REPORTER, "cd-nk-walikale-mpama")
    duplicate = report(ORIGINAL_REPORTER, "cd-nk-walikale-bisie")
    focal = phone(WALIKALE_FR)
    focal.send(f"CLOSE {duplicate} duplicate {original}")
    focal.send(f"MSG {original} We are on it")
    messages = [n for n in reporter_news(db, settings) if n[0] == "reporter_message"]
    assert [(kind, to) for kind, to, _ in messages] == [("reporter_message", ORIGINAL_REPORTER)]
    assert original.replace("-", "") in messages[0][2]
