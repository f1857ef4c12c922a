"""The limits on the voice line: a caller past the day's reports hears, in their language
and digit by digit, when to call again, and their report stays theirs; the status checks
the same."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from storage.models import Case
from storage.settings import Settings
from tests.voice.calls import Call, publish_prompts
from tests.voice.test_calls import NUMBER, report

REPORTS = 2


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"sauti_limit_reports": REPORTS, "sauti_limit_status": 1})


@pytest.fixture
def line(app_client: TestClient) -> TestClient:
    publish_prompts(app_client)
    return app_client


def test_a_report_past_the_limit_is_kept_and_the_caller_told_when_to_call(
    line: TestClient, db: sessionmaker[Session]
) -> None:
    for _ in range(REPORTS):
        assert report(Call(line, NUMBER)).startswith("Report sent.")
    call = Call(line, NUMBER)
    words = report(call)
    assert words.startswith("This phone has sent many reports today.")
    assert "call again in" in words
    assert call.digits_said().split()[:1] == ["24"]  # "two four" from the digit clips
    assert words.endswith("Goodbye.")
    with db() as session:
        assert session.scalar(select(func.count(Case.id))) == REPORTS
    # The next call offers the kept report.
    again = Call(line, NUMBER)
    again.dial()
    assert "unfinished" in again.words().lower()


def test_status_checks_past_the_limit_are_refused_in_words(line: TestClient) -> None:
    call = Call(line, NUMBER, provider="africastalking")
    report(call)
    number = "".join(call.digits_said().split())[:10]
    for _ in range(2):
        call.dial()
        call.choose("Check a report")
        call.press(number + "#")
    words = call.words()
    assert words.startswith("Too many case checks from this phone.")
    assert call.heard is not None
    assert call.heard.final
