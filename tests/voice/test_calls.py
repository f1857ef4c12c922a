"""The voice line end to end, as Twilio and Africa's Talking call it, on real Redis and a
real database: a report filed with keys alone, its case number read back digit by digit,
routed and alerted; a status check by keys; silence, wrong keys, a dropped call taken up
on the next; forged or tokenless requests refused; and nothing of the caller's number at
rest or in the logs."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage.models import Case, OutboxMessage
from storage.settings import Settings
from tests.conftest import AT_TOKEN
from tests.leaks import find_leaks, number_forms
from tests.voice.calls import Call, publish_prompts, query_of

NUMBER = "+243812345678"
PROVIDERS = ("twilio", "africastalking")


@pytest.fixture
def line(app_client: TestClient) -> TestClient:
    publish_prompts(app_client)
    return app_client


@pytest.fixture(params=PROVIDERS)
def call(request: pytest.FixtureRequest, line: TestClient) -> Call:
    return Call(line, NUMBER, provider=request.param)


def cases(db: sessionmaker[Session]) -> list[Case]:
    with db() as session:
        return list(session.scalars(select(Case).order_by(Case.id)))


def report(call: Call, *, news: str = "No") -> str:
    """Dial, choose English, file an accident at Bisie today by keys; the final words."""
    call.dial()
    if call.offers("English"):
        call.choose("English")
    call.choose("Report a problem")
    call.choose("Accident")
    if call.offers("DR Congo"):  # a withheld number names no country
        call.choose("DR Congo")
    for label in ("North Kivu", "Walikale", "Bisie", "Today", "Yes"):
        call.choose(label)
    assert "To go on, press the hash key." in call.words()
    call.press("#")  # the description is left for SMS or USSD
    call.choose(news)
    assert "Your report:" in call.words() or call.options()
    call.choose("Send")
    assert call.heard is not None
    assert call.heard.final
    return call.words()


def case_digits(call: Call) -> list[str]:
    """The case numbers said, digit clips in a row (Twilio pauses at the dashes; AT's
    XML has no pause)."""
    said = re.findall(r"\d{3} ?\d{3} ?\d{4}", call.digits_said())
    if call.provider == "twilio":
        assert all(" " in number for number in said)
    return [number.replace(" ", "") for number in said]


def test_a_report_by_keys_alone_is_filed_and_its_number_read_twice(
    call: Call, db: sessionmaker[Session], run_jobs: Callable[[], None]
) -> None:
    words = report(call)
    assert words.startswith("Report sent.")
    stored = cases(db)
    assert len(stored) == 1
    case = stored[0]
    assert (case.channel, case.category, case.language) == ("voice", "accident", "en")
    assert case.description_enc is None  # nothing was typed: nothing to keep
    spoken = case_digits(call)
    assert spoken == [case.number] * 2
    # The final screen hangs up (Twilio) or just ends (AT): nothing waits for a key.
    assert call.heard is not None
    assert call.heard.gather is None
    assert call.heard.redirect is None
    run_jobs()  # routing: the Walikale committee is alerted
    with db() as session:
        alerts = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "alert")).all()
    assert alerts


def test_a_status_check_by_keys_reads_the_status(call: Call) -> None:
    report(call)
    number = case_digits(call)[0]
    call.dial()
    call.choose("Check a report")
    assert call.heard is not None
    assert "digits" in call.words().lower()
    call.press(number + "#")
    words = call.words()
    assert "Received" in words
    assert case_digits(call)[0] == number


def test_silence_is_asked_again_then_the_caller_hears_goodbye(
    call: Call, settings: Settings
) -> None:
    call.dial()
    call.choose("English")
    menu = call.words()
    again = call.silence()
    assert "We did not hear a key." in call.words(again)
    assert menu in call.words(again)
    for _ in range(settings.sauti_voice_silences):
        call.silence()
    assert call.heard is not None
    assert call.heard.final
    assert "We did not hear you." in call.words()


def test_a_wrong_key_is_refused_and_the_menu_said_again(call: Call) -> None:
    call.dial()
    call.choose("English")
    call.press("7")
    assert call.words().startswith("Invalid choice") or "choice" in call.words().lower()
    assert "Report a problem" in call.words()
    call.press("*")
    assert "Report a problem" in call.words()


def test_a_repeated_request_is_answered_the_same_with_one_effect(
    call: Call, db: sessionmaker[Session]
) -> None:
    report(call)
    assert call.heard is not None
    last = call.history[-2]  # the confirmation screen
    assert last.gather is not None
    name = "Digits" if call.provider == "twilio" else "dtmfDigits"
    status, body = call.post(last.gather, {name: call.key_for_in(last, "Send")})
    assert status == 200
    assert len(cases(db)) == 1
    assert call.words(call._heard(status, body)).startswith("Report sent.")


def test_a_dropped_call_leaves_the_report_for_the_next_call(
    call: Call, db: sessionmaker[Session]
) -> None:
    call.dial()
    call.choose("English")
    for label in ("Report a problem", "Accident", "North Kivu"):
        call.choose(label)
    assert call.hang_up() == 200
    call.dial()
    words = call.words()
    assert "unfinished" in words.lower() or "continue" in words.lower(), words
    call.choose("Continue")
    assert "Walikale" in call.options()
    for label in ("Walikale", "Bisie", "Today", "Yes"):
        call.choose(label)
    call.press("#")
    call.choose("No")
    call.choose("Send")
    assert call.words().startswith("Report sent.")
    assert [case.channel for case in cases(db)] == ["voice"]


def test_forged_or_tokenless_calls_are_refused(line: TestClient) -> None:
    forged = line.post(
        "/voice/twilio",
        data={
            "CallSid": "CA" + "1" * 32,
            "AccountSid": "AC" + "0" * 32,
            "From": NUMBER,
            "To": "+243800000100",
            "CallStatus": "ringing",
        },
        headers={"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"},
    )
    assert forged.status_code == 403
    tokenless = line.post(
        "/voice/africastalking",
        data={"sessionId": "ATVId_1", "isActive": "1", "callerNumber": NUMBER},
    )
    assert tokenless.status_code == 403
    wrong = line.post(
        "/voice/africastalking?token=nope",
        data={"sessionId": "ATVId_1", "isActive": "1", "callerNumber": NUMBER},
    )
    assert wrong.status_code == 403


@pytest.mark.parametrize(
    "extra",
    [
        {"CallSid": "CA123"},
        {"Digits": "12<x>"},
        {"From": "sip:alice@example.org"},
        {"RecordingUrl": "https://example.org/a.wav"},
    ],
)
def test_a_signed_call_of_the_wrong_shape_is_refused_with_a_reason(
    line: TestClient, extra: dict[str, str]
) -> None:
    call = Call(line, NUMBER, provider="twilio")
    call.call_id = "CA" + "2" * 32
    status, body = call.post("/voice/twilio", extra)
    assert status == 400
    assert "is not" in body
    assert NUMBER not in body


@pytest.mark.parametrize(
    "extra",
    [{"isActive": "2"}, {"dtmfDigits": "1;DROP"}, {"callerNumber": "<script>"}],
)
def test_an_africas_talking_call_of_the_wrong_shape_is_refused_with_a_reason(
    line: TestClient, extra: dict[str, str]
) -> None:
    call = Call(line, NUMBER, provider="africastalking")
    call.call_id = "ATVId_" + "3" * 16
    status, body = call.post(f"/voice/africastalking?token={AT_TOKEN}", extra)
    assert status == 400
    assert body


def test_a_withheld_number_can_report_and_keeps_no_contact(
    line: TestClient, db: sessionmaker[Session]
) -> None:
    call = Call(line, "Anonymous", provider="twilio")
    report(call, news="Yes")
    [case] = cases(db)
    assert case.channel == "voice"
    assert case.contact_enc is None  # no number to send news to


def test_nothing_of_the_callers_number_is_kept_or_logged(
    call: Call,
    settings: Settings,
    redis_client: redis.Redis,
    run_jobs: Callable[[], None],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    report(call)
    call.hang_up()
    run_jobs()
    leaks = find_leaks(
        number_forms(NUMBER),
        database_url=settings.db_url,
        redis_client=redis_client,
        logs=caplog.text,
    )
    assert leaks == []


def test_every_prompt_played_is_in_its_languages_manifest(call: Call) -> None:
    report(call)
    for heard in call.history:
        call.words(heard)  # fails on a file the manifest does not list
    urls = {query_of(heard.gather or "").get("l") for heard in call.history if heard.gather}
    assert urls <= {"sw", "fr", "en"}


@pytest.mark.parametrize(
    ("provider", "withheld"),
    [
        ("twilio", "+266696687"),  # ANONYMOUS, as Twilio spells it on a keypad
        ("twilio", "+7378742833"),  # RESTRICTED
        ("twilio", "+8656696"),  # UNKNOWN
        ("twilio", "+2562533"),  # BLOCKED
        ("twilio", "+86282452253"),  # UNAVAILABLE (a valid number in China)
        ("twilio", "Anonymous"),
        ("africastalking", ""),
    ],
)
def test_withheld_callers_share_nothing_and_keep_no_contact(
    line: TestClient, db: sessionmaker[Session], provider: str, withheld: str
) -> None:
    first = Call(line, withheld, provider=provider)
    first.dial()
    first.choose("English")
    first.choose("Report a problem")
    first.choose("Violence")
    first.hang_up()
    second = Call(line, withheld, provider=provider)
    second.dial()
    assert "unfinished" not in second.words().lower()  # nobody else's draft
    report(second, news="Yes")
    [case] = cases(db)
    assert case.contact_enc is None  # no number to send news to
