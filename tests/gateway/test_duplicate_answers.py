"""The reporter of a case closed as a duplicate answers the original's outcome: not the
duplicate's own closing (which asks nothing), and only once the original is closed; then
"not solved" appeals the duplicate, and the original stays closed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage.appeals import awaits_answer
from storage.models import Case, Status
from storage.settings import Settings
from tests.conftest import TWILIO_TOKEN
from tests.gateway.conftest import SmsPhone
from tests.gateway.test_commands import WALIKALE_FR, phone  # noqa: F401
from tests.gateway.test_duplicate_news import (
    DUPLICATE_REPORTER,
    ORIGINAL_REPORTER,
    report,  # noqa: F401
    reporter_news,
)
from tests.gateway.test_sms_follow_up import PUBLIC
from workers.context import message_catalogs
from workers.texts import CLOSING_CHOICE, NOTHING_TO_ANSWER, answer_text, reporter_closed_text


def _case(db: sessionmaker[Session], number: str) -> tuple[str, bool]:
    """The case's status, and whether its reporter's answer is awaited now."""
    with db() as session:
        case = session.scalar(select(Case).where(Case.number == number.replace("-", "")))
        assert case is not None
        return case.status, awaits_answer(case, datetime.now(UTC))


def test_a_duplicate_is_answered_at_its_original_closing_and_not_before(
    app_client: TestClient,
    phone: Callable[[str], SmsPhone],  # noqa: F811
    report: Callable[..., str],  # noqa: F811
    db: sessionmaker[Session],
    settings: Settings,
) -> None:
    catalogs = message_catalogs(("en",))
    en = catalogs.translator("en")
    original = report(ORIGINAL_REPORTER, "cd-nk-walikale-mpama")
    duplicate = report(DUPLICATE_REPORTER, "cd-nk-walikale-bisie")
    focal = phone(WALIKALE_FR)
    focal.send(f"CLOSE {duplicate} duplicate {original} same barrier")

    # The duplicate's own closing asks nothing, and waits for no answer.
    closing = reporter_news(db, settings)[-1]
    plain = reporter_closed_text(en, duplicate.replace("-", ""), "duplicate", choice=False)
    assert closing == ("closing", DUPLICATE_REPORTER, plain)
    assert en.gettext(CLOSING_CHOICE) not in closing[2]
    assert _case(db, duplicate) == (Status.CLOSED, False)
    reporter = SmsPhone(
        client=app_client, number=DUPLICATE_REPORTER, token=TWILIO_TOKEN, public_url=PUBLIC
    )
    nothing = answer_text(en, NOTHING_TO_ANSWER, duplicate.replace("-", ""))
    assert reporter.send("2") == nothing
    assert _case(db, duplicate) == (Status.CLOSED, False)

    # The original's closing reaches the duplicate's reporter with the question ...
    focal.send(f"CLOSE {original} resolved Barrier gone")
    asked = reporter_closed_text(en, duplicate.replace("-", ""), "resolved")
    assert ("closing", DUPLICATE_REPORTER, asked) in reporter_news(db, settings)
    assert en.gettext(CLOSING_CHOICE) in asked
    assert _case(db, duplicate) == (Status.CLOSED, True)

    # ... and "not solved" appeals the duplicate, once; the original stays closed.
    assert "open again" in reporter.send("2")
    assert _case(db, duplicate)[0] == Status.APPEALED
    assert _case(db, original) == (Status.CLOSED, True)
