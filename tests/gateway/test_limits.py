"""Abuse limits end to end: reports a day, status checks and inbound SMS an hour, sign-ins.

Everything runs against the real app, Redis and database; a window's end is simulated by
removing its Redis key, as its TTL would.
"""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import UTC, datetime

import pytest
import redis
from fastapi.testclient import TestClient
from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from gateway.limits import DAY, HOUR, Limit, Limits, window_key
from gateway.signin import Outcome, sign_in
from storage.casenumber import new_number
from storage.models import Case
from storage.settings import Settings
from tests.channels.twilio.phones import WhatsAppPhone
from tests.conftest import AT_TOKEN, TWILIO_TOKEN
from tests.gateway.conftest import SmsPhone, UssdPhone, option
from tests.gateway.test_ussd import case_number_in, file_report

NUMBER = "+243812345678"
# A well-formed case number (its check digit is right) that no case has.
UNKNOWN_CASE = new_number(random.Random(7))
OTHER = "+243899000111"
SMS_NUMBER = "+250788123456"
REPORTS, STATUS, SMS_IN = 2, 2, 3
LOGIN_FAILURES, LOGIN_WINDOW = 2, 120


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Small limits, so that a test reaches them in a few hops."""
    return settings.model_copy(
        update={
            "sauti_limit_reports": REPORTS,
            "sauti_limit_status": STATUS,
            "sauti_limit_sms_in": SMS_IN,
            "sauti_login_failures": LOGIN_FAILURES,
            "sauti_login_window": LOGIN_WINDOW,
        }
    )


def ussd(client: TestClient, number: str = NUMBER) -> UssdPhone:
    return UssdPhone(client=client, number=number, token=AT_TOKEN)


def sms(client: TestClient, number: str = SMS_NUMBER) -> SmsPhone:
    return SmsPhone(
        client=client, number=number, token=TWILIO_TOKEN, public_url="https://sauti.example.org"
    )


def key_of(client: TestClient, limit: Limit, number: str) -> str:
    pseudonym, _ = client.app.state.runtime.pseudonyms(number)  # type: ignore[attr-defined]
    return window_key(limit, pseudonym)


def cases_in(db: sessionmaker[Session]) -> list[Case]:
    with db() as session:
        return list(session.scalars(select(Case).order_by(Case.id)))


def refused(client: TestClient, reason: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(f'sauti_refused_total{{reason="{reason}"}}'):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def report_to_summary(phone: UssdPhone) -> str:
    """Dial and answer a report up to its summary."""
    if "English" in phone.dial():
        phone.choose("English")
    phone.choose("Report a problem")
    phone.choose("Violence")
    phone.choose("North Kivu")
    phone.choose("Walikale")
    phone.choose("Bisie")
    phone.choose("This week")
    phone.choose("No")
    phone.press("Men with guns took the pit")
    screen = phone.choose("No")
    assert "Your report:" in screen
    return screen


# -- reports -------------------------------------------------------------------------------


def test_a_report_past_the_daily_limit_is_kept_and_the_reporter_told_when_to_send_it(
    app_client: TestClient, db: sessionmaker[Session], redis_client: redis.Redis
) -> None:
    phone = ussd(app_client)
    filed = [case_number_in(file_report(phone)) for _ in range(REPORTS)]
    report_to_summary(phone)
    final = phone.choose("Send")
    assert final == (
        "END This phone has sent many reports today. Yours is kept: dial again in 24 h to send it."
    )
    assert [c.number for c in cases_in(db)] == [n.replace("-", "") for n in filed]
    key = key_of(app_client, Limit.REPORTS, NUMBER)
    assert DAY - 60 < int(redis_client.ttl(key)) <= DAY
    assert refused(app_client, "limit_reports") == 1
    # The same hop sent again gets the same answer and files nothing.
    assert phone.post("*".join(phone.inputs)) == final
    assert len(cases_in(db)) == REPORTS
    # Resent under a new session id: the same notice, nothing filed, no failed hop.
    again = UssdPhone(client=app_client, number=NUMBER, token=AT_TOKEN)
    assert again.dial(*phone.inputs) == final
    assert len(cases_in(db)) == REPORTS
    # Still within the window: the next dial offers the report, and refuses it again.
    assert "unfinished report" in phone.dial()


def test_the_kept_report_is_sent_once_the_window_ends(
    app_client: TestClient, db: sessionmaker[Session], redis_client: redis.Redis
) -> None:
    phone = ussd(app_client)
    for _ in range(REPORTS):
        file_report(phone)
    report_to_summary(phone)
    assert "dial again in 24 h" in phone.choose("Send")
    redis_client.delete(key_of(app_client, Limit.REPORTS, NUMBER))  # the window's TTL ran out
    assert "unfinished report" in phone.dial()
    screen = phone.choose("Continue")
    while "Your report:" not in screen:
        screen = phone.press("1")
    final = phone.choose("Send")
    assert final.startswith("END Report sent.")
    stored = cases_in(db)
    assert len(stored) == REPORTS + 1
    assert stored[-1].category == "violence"
    assert stored[-1].number == case_number_in(final).replace("-", "")


def test_the_kept_report_outlives_a_short_draft_ttl(
    app_client: TestClient, redis_client: redis.Redis
) -> None:
    phone = ussd(app_client)
    for _ in range(REPORTS):
        file_report(phone)
    report_to_summary(phone)
    phone.choose("Send")
    [draft] = redis_client.keys("sauti:d:*")
    assert int(redis_client.ttl(draft)) >= int(
        redis_client.ttl(key_of(app_client, Limit.REPORTS, NUMBER))
    )


def test_other_numbers_are_not_limited_by_one_numbers_reports(
    app_client: TestClient, db: sessionmaker[Session]
) -> None:
    phone = ussd(app_client)
    for _ in range(REPORTS):
        file_report(phone)
    report_to_summary(phone)
    assert "many reports" in phone.choose("Send")
    assert file_report(ussd(app_client, OTHER)).startswith("END Report sent.")
    assert len(cases_in(db)) == REPORTS + 1


def test_a_retried_submitting_hop_is_counted_once(
    app_client: TestClient, db: sessionmaker[Session], redis_client: redis.Redis
) -> None:
    """A gateway retry that reaches the service again after the report was stored (the
    first reply was lost) finds the same report, and does not use up the allowance."""
    phone = ussd(app_client)
    report_to_summary(phone)
    [session_key] = redis_client.keys("sauti:s:*")
    saved = redis_client.get(session_key)
    assert saved is not None
    first = phone.choose("Send")
    assert first.startswith("END Report sent.")
    # The retry: the session as it was before the submitting hop, no reply remembered.
    redis_client.delete(*redis_client.keys("sauti:h:*"))
    redis_client.set(session_key, saved, ex=300)
    assert phone.post("*".join(phone.inputs)) == first
    assert len(cases_in(db)) == 1
    assert redis_client.scard(key_of(app_client, Limit.REPORTS, NUMBER)) == 1
    # So the daily allowance still has room for REPORTS - 1 more.
    assert file_report(phone).startswith("END Report sent.")


# -- status checks -------------------------------------------------------------------------


def check(phone: UssdPhone, number: str) -> str:
    phone.dial()
    phone.choose("Check a report")
    return phone.press(number)


def test_status_checks_past_the_hourly_limit_end_with_a_clear_screen(
    app_client: TestClient, redis_client: redis.Redis
) -> None:
    phone = ussd(app_client)
    number = case_number_in(file_report(phone))
    for _ in range(STATUS):
        assert "Received" in check(phone, number)
    assert check(phone, number) == (
        "END Too many case checks from this phone. Please try again in 60 min."
    )
    assert refused(app_client, "limit_status") == 1
    other = ussd(app_client, OTHER)
    other.dial()
    other.choose("English")
    assert "Received" in check(other, number)
    key = key_of(app_client, Limit.STATUS, NUMBER)
    assert HOUR - 60 < int(redis_client.ttl(key)) <= HOUR
    redis_client.delete(key)
    assert "Received" in check(phone, number)


def test_unknown_case_numbers_count_as_checks(app_client: TestClient) -> None:
    """Guessing case numbers is what the status limit is for."""
    phone = ussd(app_client)
    phone.dial()
    phone.choose("English")
    phone.dial()
    phone.choose("Check a report")
    for _ in range(STATUS):
        assert phone.press(UNKNOWN_CASE).startswith("CON ")
    assert phone.press(UNKNOWN_CASE).startswith("END Too many case checks")


def test_the_limit_notice_is_in_the_callers_language(app_client: TestClient) -> None:
    phone = ussd(app_client)
    phone.dial()
    phone.choose("Francais")
    phone.dial()
    screen = phone.press("2")
    for _ in range(STATUS):
        screen = phone.press(UNKNOWN_CASE)
    assert phone.press(UNKNOWN_CASE) == (
        "END Trop de consultations de dossiers depuis ce téléphone. Réessayez dans 60 min."
    )
    assert screen.startswith("CON ")


# -- inbound SMS ---------------------------------------------------------------------------


def test_sms_past_the_hourly_limit_get_one_notice_then_no_reply(
    app_client: TestClient, redis_client: redis.Redis
) -> None:
    phone = sms(app_client)
    for _ in range(SMS_IN):
        assert phone.send("HELP")
    notice = phone.send("HELP")
    assert notice == "Too many SMS from this phone. Sauti will not reply for 60 min."
    status, body = phone.post_form(phone.form("HELP"))
    assert status == 200
    assert "<Message>" not in body
    assert refused(app_client, "limit_sms_in") == 2
    key = key_of(app_client, Limit.SMS_IN, SMS_NUMBER)
    assert HOUR - 60 < int(redis_client.ttl(key)) <= HOUR
    assert sms(app_client, "+250788000999").send("HELP")
    redis_client.delete(key)
    assert phone.send("HELP")


def test_whatsapp_messages_are_counted_apart_from_sms(
    app_client: TestClient, redis_client: redis.Redis
) -> None:
    phone = sms(app_client)
    for _ in range(SMS_IN):
        phone.send("HELP")
    assert phone.send("HELP").startswith("Too many SMS")
    whatsapp = WhatsAppPhone(app_client, SMS_NUMBER, TWILIO_TOKEN, "https://sauti.example.org")
    for _ in range(SMS_IN):
        assert not whatsapp.send("HELP").startswith("Too many")  # SMS used up, not WhatsApp
    assert whatsapp.send("HELP").startswith("Too many")
    assert whatsapp.send("HELP") == ""
    assert refused(app_client, "limit_whatsapp_in") == 2
    key = key_of(app_client, Limit.WHATSAPP_IN, SMS_NUMBER)
    assert HOUR - 60 < int(redis_client.ttl(key)) <= HOUR
    assert int(redis_client.get(key) or 0) == SMS_IN + 2
    assert int(redis_client.get(key_of(app_client, Limit.SMS_IN, SMS_NUMBER)) or 0) == SMS_IN + 1


def test_a_repeated_delivery_is_not_counted_again(app_client: TestClient) -> None:
    phone = sms(app_client)
    form = phone.form("HELP")
    for _ in range(SMS_IN + 2):
        status, body = phone.post_form(form)
        assert status == 200
        assert "<Message>" in body
    assert phone.send("HELP")


def _report_keys(client: TestClient) -> list[str]:
    """The keys a report by SMS takes, read off the same flows by USSD from the same country."""
    phone = ussd(client, "+250788555444")
    phone.dial()
    phone.choose("English")
    phone.dial()
    screen = phone.choose("Report a problem")
    keys: list[str] = []
    for label in ("Illegal tax", "Northern", "Rulindo", "Nyakabingo", "This month", "No"):
        keys.append(option(screen, label))
        screen = phone.press(keys[-1])
    keys.append("Soldiers take 2000 francs at the road block")
    screen = phone.press(keys[-1])
    keys.append(option(screen, "Yes"))
    screen = phone.press(keys[-1])
    return [*keys, option(screen, "Send")]  # not sent here: only the SMS report is filed


def test_a_report_sent_by_sms_past_the_sms_limit_is_still_filed(
    app_client: TestClient, db: sessionmaker[Session]
) -> None:
    keys = _report_keys(app_client)
    phone = sms(app_client)
    screen = phone.send("hello")
    phone.send(option(screen, "English"))
    assert phone.send("REPORT").startswith("What happened?")
    replies = [phone.send(key) for key in keys]
    assert replies[0].startswith("Too many SMS from this phone. Sauti will not reply for 60 min.")
    assert set(replies[1:]) == {""}
    [case] = cases_in(db)
    assert (case.channel, case.category) == ("sms", "illegal_tax")


# -- settings and privacy ------------------------------------------------------------------


def test_limits_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "SAUTI_LIMIT_REPORTS": "3",
        "SAUTI_LIMIT_STATUS": "7",
        "SAUTI_LIMIT_SMS_IN": "11",
        "SAUTI_LOGIN_FAILURES": "4",
        "SAUTI_LOGIN_WINDOW": "600",
    }.items():
        monkeypatch.setenv(name, value)
    found = Settings()
    assert (
        found.sauti_limit_reports,
        found.sauti_limit_status,
        found.sauti_limit_sms_in,
        found.sauti_login_failures,
        found.sauti_login_window,
    ) == (3, 7, 11, 4, 600)


def test_limits_log_no_number_and_keep_none_in_redis(
    app_client: TestClient, redis_client: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    phone = ussd(app_client)
    number = case_number_in(file_report(phone))
    with caplog.at_level(logging.INFO):
        for _ in range(STATUS + 1):
            check(phone, number)
    lines = [r.getMessage() for r in caplog.records if r.name == "gateway.limits"]
    assert len(lines) == 1
    assert lines[0].startswith("limit reached limit=status retry_after=")
    digits = NUMBER.lstrip("+")
    assert not any(digits[-9:] in r.getMessage() for r in caplog.records)
    keys = [k.decode() for k in redis_client.keys("sauti:limit:*")]
    assert keys
    assert not any(digits[-9:] in k for k in keys)


def test_sign_in_throttling_reads_its_settings(
    app_client: TestClient, redis_client: redis.Redis
) -> None:
    runtime = app_client.app.state.runtime  # type: ignore[attr-defined]

    async def attempt() -> Outcome:
        return await sign_in(
            runtime,
            username="nobody",
            password="wrong",
            ip_hash="a" * 64,
            now=datetime.now(UTC),
            via="api",
        )

    outcomes = [app_client.portal.call(attempt) for _ in range(LOGIN_FAILURES + 1)]
    assert [o.throttled for o in outcomes] == [False] * LOGIN_FAILURES + [True]
    assert 0 < outcomes[-1].retry_after <= LOGIN_WINDOW
    [address] = redis_client.keys("sauti:login-failures:ip:*")
    assert 0 < int(redis_client.ttl(address)) <= LOGIN_WINDOW


def test_a_limit_that_cannot_be_checked_lets_the_report_through(settings: Settings) -> None:
    """Never losing a report comes first: a counter out of reach refuses nothing."""

    async def check() -> list[bool]:
        unreachable = Redis.from_url("redis://127.0.0.1:1", socket_connect_timeout=0.5)
        limits = Limits(unreachable, settings)
        pseudonym = "0" * 64
        try:
            verdicts = [
                await limits.take(Limit.REPORTS, pseudonym, "hop"),
                await limits.count_sms(pseudonym),
            ]
        finally:
            await unreachable.aclose()
        return [v.allowed for v in verdicts]

    assert asyncio.run(check()) == [True, True]


def test_a_report_that_was_not_stored_gives_its_count_back(
    settings: Settings, redis_client: redis.Redis
) -> None:
    pseudonym = "1" * 64

    async def run() -> list[bool]:
        client = Redis.from_url(settings.redis_url)
        limits = Limits(client, settings)
        try:
            seen = [(await limits.take(Limit.REPORTS, pseudonym, hop)).allowed for hop in "ab"]
            await limits.give_back(Limit.REPORTS, pseudonym, "b")  # its commit failed
            seen.append((await limits.take(Limit.REPORTS, pseudonym, "c")).allowed)
            seen.append((await limits.take(Limit.REPORTS, pseudonym, "d")).allowed)
            seen.append((await limits.take(Limit.REPORTS, pseudonym, "a")).allowed)  # a retry
        finally:
            await client.aclose()
        return seen

    assert asyncio.run(run()) == [True, True, True, False, True]
    assert redis_client.scard(window_key(Limit.REPORTS, pseudonym)) == REPORTS
