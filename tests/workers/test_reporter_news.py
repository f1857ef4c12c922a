"""What a reporter who asked for SMS news receives: the case number by SMS as soon as the
routing job handles the report, once, in their language, through the outbox; and every SMS
to them ends with how to follow the case by SMS, with their language's status keyword."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from flows import gsm
from flows.i18n import Catalogs
from gateway.keywords import WORDS_BY_LANGUAGE, Keyword, match
from storage.casenumber import display
from storage.models import Case, MessageKind, NumberPrefs, OutboxMessage
from storage.settings import Settings
from tests.workers.conftest import NOW, committee_yaml, console_lines, outbox_rows
from workers import queues
from workers.context import WorkerContext
from workers.reporters import queue_to_reporter
from workers.routing import route_report
from workers.sweep import sweep
from workers.texts import (
    CLOSING_CHOICE,
    MESSAGE,
    OUTCOME_FOR_REPORTER,
    SMS_SEGMENTS,
    confirmation_text,
    reporter_closed_text,
    reporter_message_text,
)

LANGUAGES = ("en", "fr", "sw", "rw", "rn", "ln")
CONTACT = "+243990000077"
MEMBER = "+243810000011"
MSG = "The committee visited the site on Monday with the mining service; the pit is closed."


@pytest.fixture
def committee(add_committees: Callable[[str], None]) -> None:
    add_committees(committee_yaml("walikale-local", "local", "cd-nk-walikale", [(MEMBER, "en")]))


@pytest.fixture(scope="module")
def catalogs() -> Catalogs:
    return Catalogs.load(LANGUAGES)


def status_word(lang: str) -> str:
    """The status keyword of a language, as gateway/keywords.py lists it first."""
    return WORDS_BY_LANGUAGE[lang][Keyword.STATUS][0]


def assert_follow_up(text: str, lang: str, number: str) -> None:
    """The SMS says to send the language's own status keyword and the case number, and
    that very phrase is what the SMS gateway reads as a status check."""
    phrase = f"{status_word(lang)} {number}"
    assert phrase in text, text
    found = match(phrase)
    assert found is not None
    assert (found.keyword, found.argument) == (Keyword.STATUS, number)
    assert gsm.segments(text) <= SMS_SEGMENTS


# A medium case of a committee with the default deadlines (storage/timelines.py).
IN_3_DAYS = {"within": "days", "days": "3"}


@pytest.mark.usefixtures("committee")
@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_routing_job_sends_the_case_number_in_the_reporters_language(
    ctx: WorkerContext,
    make_case: Callable[..., Case],
    run_jobs: Callable[[], None],
    settings: Settings,
    lang: str,
) -> None:
    case = make_case(contact=CONTACT, language=lang)
    queues.enqueue(queues.ROUTING, route_report, case.id, connection=ctx.redis)
    run_jobs()
    [sms] = outbox_rows(ctx, kind="confirmation")
    assert (sms.to, sms.language, sms.status) == (None, lang, "delivered")  # number dropped
    assert sms.row.recipient_kind == "reporter"
    assert sms.dedupe_key == f"confirmation:{case.id}"
    assert display(case.number) in sms.body
    assert sms.body == confirmation_text(ctx.catalogs.translator(lang), case.number, IN_3_DAYS)
    assert_follow_up(sms.body, lang, case.number)
    sent = [line for line in console_lines(settings.console_outbox) if line["body"] == sms.body]
    assert len(sent) == 1


@pytest.mark.usefixtures("committee")
def test_the_case_number_goes_out_once_however_often_the_jobs_run(
    ctx: WorkerContext,
    make_case: Callable[..., Case],
    run_jobs: Callable[[], None],
    settings: Settings,
) -> None:
    case = make_case(contact=CONTACT)
    assert route_report(case.id, now=NOW) is True
    assert route_report(case.id, now=NOW + timedelta(seconds=1)) is False
    queues.enqueue(queues.ROUTING, route_report, case.id, connection=ctx.redis)
    run_jobs()
    sweep(now=NOW + timedelta(minutes=5))
    run_jobs()
    with ctx.sessions() as session:
        rows = session.scalar(
            select(func.count()).where(OutboxMessage.dedupe_key == f"confirmation:{case.id}")
        )
    assert rows == 1
    number = f"STATUS {case.number}"
    to_reporter = [
        line for line in console_lines(settings.console_outbox) if number in line["body"]
    ]
    assert len(to_reporter) == 1
    assert [row.status for row in outbox_rows(ctx, kind="confirmation")] == ["delivered"]


@pytest.mark.usefixtures("committee")
def test_the_sweep_sends_it_for_a_report_whose_job_never_ran(
    ctx: WorkerContext, make_case: Callable[..., Case], run_jobs: Callable[[], None]
) -> None:
    case = make_case(contact=CONTACT)  # committed, but Redis never got its routing job
    sweep(now=NOW + timedelta(minutes=1))
    run_jobs()
    [sms] = outbox_rows(ctx, kind="confirmation")
    assert (sms.status, display(case.number) in sms.body) == ("delivered", True)


@pytest.mark.usefixtures("committee")
def test_no_sms_news_asked_no_sms(
    ctx: WorkerContext, make_case: Callable[..., Case], run_jobs: Callable[[], None]
) -> None:
    case = make_case()
    route_report(case.id, now=NOW)
    run_jobs()
    assert outbox_rows(ctx, kind="confirmation") == []
    assert [row.kind for row in outbox_rows(ctx)] == ["alert"]


def test_a_case_no_committee_takes_still_gets_its_number(
    ctx: WorkerContext, make_case: Callable[..., Case], run_jobs: Callable[[], None]
) -> None:
    case = make_case(contact=CONTACT)  # no committee at all: the admins' triage inbox
    route_report(case.id, now=NOW)
    run_jobs()
    with ctx.sessions() as session:
        stored = session.get(Case, case.id)
        assert stored is not None
        assert stored.triaged_at is not None
    assert [row.status for row in outbox_rows(ctx, kind="confirmation")] == ["delivered"]


@pytest.mark.usefixtures("committee")
def test_a_reporter_on_the_stop_list_gets_nothing(
    ctx: WorkerContext,
    make_case: Callable[..., Case],
    run_jobs: Callable[[], None],
    settings: Settings,
) -> None:
    with ctx.sessions.begin() as session:
        pseudonym = ctx.crypto.pseudonym(CONTACT)
        session.add(
            NumberPrefs(pseudonym=pseudonym, opted_out_at=NOW, created_at=NOW, updated_at=NOW)
        )
    case = make_case(contact=CONTACT)
    route_report(case.id, now=NOW)
    run_jobs()
    assert [(row.to, row.status) for row in outbox_rows(ctx, kind="confirmation")] == [
        (None, "cancelled")
    ]
    body = confirmation_text(ctx.catalogs.translator("en"), case.number, IN_3_DAYS)
    assert all(line["body"] != body for line in console_lines(settings.console_outbox))


@pytest.mark.usefixtures("committee")
def test_a_report_made_by_whatsapp_hears_back_by_whatsapp(
    ctx: WorkerContext, make_case: Callable[..., Case], run_jobs: Callable[[], None]
) -> None:
    # At two sites, so that neither is the other's incident (one short alert, no full one).
    by_whatsapp = make_case(contact=CONTACT)
    by_ussd = make_case(contact=CONTACT, place="cd-nk-walikale-bisie")
    with ctx.sessions.begin() as session:
        stored = session.get(Case, by_whatsapp.id)
        assert stored is not None
        stored.channel = "whatsapp"
    for case in (by_whatsapp, by_ussd):
        queues.enqueue(queues.ROUTING, route_report, case.id, connection=ctx.redis)
    run_jobs()
    sent = {row.row.case_id: row.row.channel for row in outbox_rows(ctx, kind="confirmation")}
    assert sent == {by_whatsapp.id: "whatsapp", by_ussd.id: "sms"}
    with ctx.sessions.begin() as session:
        case = session.get(Case, by_whatsapp.id)
        assert case is not None
        [message_id] = queue_to_reporter(
            session=session,
            crypto=ctx.crypto,
            case=case,
            key="test:msg",
            body=MSG,
            kind=MessageKind.REPORTER_MESSAGE,
            now=NOW,
        )
        queued = session.get(OutboxMessage, message_id)
        assert queued is not None
        assert queued.channel == "whatsapp"
    assert sorted(row.kind for row in outbox_rows(ctx, channel="sms")) == [
        "alert",
        "alert",
        "confirmation",
    ]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_sms_to_a_reporter_ends_with_the_status_keyword_of_their_language(
    catalogs: Catalogs, lang: str
) -> None:
    translator = catalogs.translator(lang)
    number = "4821773506"
    texts = [
        confirmation_text(translator, number),
        confirmation_text(translator, number, IN_3_DAYS),
        confirmation_text(translator, number, {"within": "hours", "hours": "2"}),
        reporter_message_text(translator, number, MESSAGE),
        reporter_message_text(translator, number, MESSAGE * 3),  # shortened, never the end
    ]
    for text in texts:
        assert_follow_up(text, lang, number)
        assert text.endswith(f"{status_word(lang)} {number}."), text
        assert display(number) in text


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_closing_sms_ends_with_the_reporters_choice_in_one_sms(
    catalogs: Catalogs, lang: str
) -> None:
    """The closing asks instead: its answer comes back by SMS (gateway/closing_answers.py)."""
    translator = catalogs.translator(lang)
    number = "4821773506"
    choice = gsm.transliterate(translator.gettext(CLOSING_CHOICE))
    for outcome in OUTCOME_FOR_REPORTER:
        text = reporter_closed_text(translator, number, outcome)
        assert text.endswith(choice), text
        assert display(number) in text
        assert gsm.segments(text) == 1, text


def test_a_committee_message_ends_a_sentence_before_the_follow_up(catalogs: Catalogs) -> None:
    text = reporter_message_text(catalogs.translator("en"), "4821773506", "We come on Friday")
    assert text == (
        "Sauti case 482-177-3506. The committee says: We come on Friday. "
        "To follow your case, send STATUS 4821773506."
    )
    assert MSG in reporter_message_text(catalogs.translator("en"), "4821773506", MSG)
