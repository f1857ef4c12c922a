"""Following a case by SMS, end to end through the webhooks, the database and RQ jobs: SMS
HELP names the keywords to send in the reader's language, a report sent by SMS ends with
`STATUS <case>` and its number also comes by SMS, the status check tells how a closed case
ended (USSD and SMS, six languages), and added information reaches the focal points."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from flows import gsm
from flows.sources import LANGUAGE_NAMES
from gateway.keywords import WORDS_BY_LANGUAGE, Keyword
from storage import cases
from storage.keys import load_crypto
from storage.models import Case, OutboxMessage
from storage.outbox import message_body
from storage.settings import Settings
from tests.conftest import AT_TOKEN, TWILIO_TOKEN
from tests.gateway.conftest import SmsPhone, UssdPhone, option
from tests.gateway.test_languages import before, pick, shown
from tests.gateway.test_sms import case_number, report_by_sms
from tests.gateway.test_ussd import case_number_in, file_report
from tests.leaks import number_forms
from workers.sweep import sweep
from workers.texts import INFO_ADDED, INFO_ADDED_SAME_PHONE

LANGUAGES = ("en", "fr", "sw", "rw", "rn", "ln")
PUBLIC = "https://sauti.example.org"
OUTCOME_LABELS = {
    "resolved": "Closed - the problem was resolved",
    "persistent": "Closed - the problem persists; the committee has done what it can",
    "unfounded": "Closed - the facts could not be confirmed",
    "duplicate": "Closed - it was already reported",
}


def word(lang: str, keyword: Keyword) -> str:
    """A language's own keyword, as gateway/keywords.py lists it first."""
    return WORDS_BY_LANGUAGE[lang][keyword][0]


def phone_of(index: int) -> str:
    return f"+2438123{index:05d}"


def sms_in(app_client: TestClient, number: str, lang: str) -> SmsPhone:
    """An SMS phone that has picked `lang` from the language list."""
    sms = SmsPhone(client=app_client, number=number, token=TWILIO_TOKEN, public_url=PUBLIC)
    screen = sms.send("hello")
    sms.send(option(screen, gsm.transliterate(LANGUAGE_NAMES[lang])))
    return sms


def reporter_sms(db: sessionmaker[Session], settings: Settings, kind: str) -> list[str]:
    """The bodies of the outbox rows of `kind` addressed to reporters, in clear."""
    crypto = load_crypto(settings)
    with db() as session:
        query = select(OutboxMessage).where(
            OutboxMessage.kind == kind, OutboxMessage.recipient_kind == "reporter"
        )
        return [message_body(crypto=crypto, message=row) for row in session.scalars(query)]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_sms_help_says_how_to_report_and_follow_by_sms_in_each_language(
    app_client: TestClient, lang: str
) -> None:
    sms = sms_in(app_client, phone_of(LANGUAGES.index(lang)), lang)
    reply = sms.send(word(lang, Keyword.HELP))
    assert reply == shown(
        lang,
        "Sauti is free and anonymous. Send REPORT to start a report, or STATUS and your case "
        "number to follow one.",
    )
    assert f" {word(lang, Keyword.REPORT)} " in reply
    assert f" {word(lang, Keyword.STATUS)} " in reply
    assert gsm.segments(reply) == 1


def test_the_ussd_help_still_says_what_to_dial(app_client: TestClient) -> None:
    phone = UssdPhone(client=app_client, number=phone_of(90), token=AT_TOKEN)
    phone.dial()
    phone.choose("English")
    screen = phone.choose("Help")
    assert screen == (
        "END Sauti is free and anonymous: we never ask your name or share your number.\n"
        "Keep your case number. To follow it, dial *384*123# and choose 2."
    )


def test_a_report_by_sms_ends_with_the_status_keyword_and_its_number_comes_by_sms(
    app_client: TestClient,
    db: sessionmaker[Session],
    settings: Settings,
    run_jobs: Callable[[], None],
) -> None:
    sms = SmsPhone(client=app_client, number="+250788123456", token=TWILIO_TOKEN, public_url=PUBLIC)
    final = report_by_sms(sms)
    number = case_number(final)
    assert final == (
        f"Report sent. Case {number}. Keep this number. To follow it, send STATUS {number}."
        " The committee answers within 3 days."
    )
    command = final.split("send ", 1)[1].split(".", 1)[0]  # "STATUS <case>", as the SMS says
    assert number in sms.send(command)
    run_jobs()
    digits = number.replace("-", "")
    assert reporter_sms(db, settings, "confirmation") == [
        f"Sauti got your report: case {number}. Keep this number: it is the only way to "
        f"check your case or add to it. The committee answers within 3 days. To follow your "
        f"case, send STATUS {digits}."
    ]


def test_information_added_by_sms_ends_with_the_status_keyword(app_client: TestClient) -> None:
    sms = SmsPhone(client=app_client, number="+250788123457", token=TWILIO_TOKEN, public_url=PUBLIC)
    number = case_number(report_by_sms(sms))
    screen = sms.send("00")
    sms.send(option(screen, "Add information"))
    sms.send(number)
    assert sms.send("They came back at night") == (
        f"Thank you. Added to case {number}. To follow it, send STATUS {number}."
    )


def closed_case(
    db: sessionmaker[Session], settings: Settings, lang: str, outcome: str, seed: int
) -> str:
    """A case reported in `lang` and closed with `outcome`; its number as shown."""
    crypto = load_crypto(settings)
    now = datetime.now(UTC)
    with db.begin() as session:
        case = cases.create_report(
            session=session,
            crypto=crypto,
            pseudonym=crypto.pseudonym(phone_of(50 + seed)),
            channel="ussd",
            language=lang,
            answers={"category": "accident", "when": "today", "danger_now": "no"},
            contact_e164=None,
            flow_version="v1",
            rng=random.Random(seed),
            now=now,
        )
        cases.close_case(
            session=session, crypto=crypto, case=case, actor="user:admin", outcome=outcome,
            note=None, now=now,
        )  # fmt: skip
        number = case.number
    return f"{number[:3]}-{number[3:6]}-{number[6:]}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_status_check_tells_how_a_closed_case_ended_by_ussd_and_sms(
    app_client: TestClient, db: sessionmaker[Session], settings: Settings, lang: str
) -> None:
    index = LANGUAGES.index(lang)
    for offset, outcome in enumerate(OUTCOME_LABELS):
        number = closed_case(db, settings, lang, outcome, seed=10 * index + offset)
        label = shown(lang, OUTCOME_LABELS[outcome])
        line = shown(lang, "Case {case}: {status}").format(case=number, status=label)

        ussd = UssdPhone(
            client=app_client, number=phone_of(20 + 4 * index + offset), token=AT_TOKEN
        )
        ussd.dial()
        pick(ussd, gsm.transliterate(LANGUAGE_NAMES[lang]))
        pick(ussd, shown(lang, "Check a report"))
        assert ussd.press(number.replace("-", "")) == "END " + line

        sms = sms_in(app_client, phone_of(60 + 4 * index + offset), lang)
        assert sms.send(f"{word(lang, Keyword.STATUS)} {number}") == line


def test_information_added_by_ussd_alerts_the_committee_without_naming_a_phone(
    app_client: TestClient,
    db: sessionmaker[Session],
    settings: Settings,
    run_jobs: Callable[[], None],
) -> None:
    reporter = UssdPhone(client=app_client, number=phone_of(99), token=AT_TOKEN)
    number = case_number_in(file_report(reporter))
    run_jobs()
    reporter.dial()
    reporter.choose("Add information")
    reporter.press(number.replace("-", ""))
    assert "Added to case" in reporter.press("The wall fell again this morning")
    assert sweep()["informed"] == 1
    run_jobs()
    crypto = load_crypto(settings)
    with db() as session:
        rows = session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "info_alert")
        ).all()
        alerted = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "alert"))
        # The members the report alerted (the local committee and, for a critical case,
        # the provincial one) hear of the information too, each once.
        assert sorted(row.member_id for row in rows) == sorted(row.member_id for row in alerted)
        assert {row.status for row in rows} == {"delivered"}
        case = session.scalars(select(Case).where(Case.number == number.replace("-", ""))).one()
        assert all(row.case_id == case.id for row in rows)
        bodies = [(row.language, message_body(crypto=crypto, message=row)) for row in rows]
    assert {"sw", "fr"} <= {lang for lang, _ in bodies}
    for lang, body in bodies:
        assert body.startswith(before(lang, INFO_ADDED, "case") + number), body
        # The reporter's own phone added it, and the alert says so (and only that).
        assert body.endswith(shown(lang, INFO_ADDED_SAME_PHONE).split("}")[-1]), body
        assert not any(form in body for form in number_forms(phone_of(99)))
        assert "wall fell" not in body
    assert sweep()["informed"] == 0
