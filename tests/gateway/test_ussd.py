"""USSD end to end over HTTP, as Africa's Talking sends it, with real Redis and database."""

from __future__ import annotations

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from storage.keys import load_crypto
from storage.models import Case, CaseEvent
from storage.settings import Settings
from tests.conftest import AT_TOKEN
from tests.gateway.conftest import UssdPhone, option

NUMBER = "+243812345678"
DESCRIPTION = "Two diggers hurt when the shaft wall fell"


@pytest.fixture
def phone(app_client: TestClient) -> UssdPhone:
    return UssdPhone(client=app_client, number=NUMBER, token=AT_TOKEN)


def cases_in(db: sessionmaker[Session]) -> list[Case]:
    with db() as session:
        return list(session.scalars(select(Case).order_by(Case.id)))


def file_report(phone: UssdPhone, *, description: str = DESCRIPTION) -> str:
    """Dial, pick English on a first dial, and file a report; return the final screen."""
    screen = phone.dial()
    if "English" in screen:
        phone.choose("English")
    phone.choose("Report a problem")
    phone.choose("Accident")
    phone.choose("North Kivu")
    phone.choose("Walikale")
    phone.choose("Bisie")
    phone.choose("Today")
    phone.choose("Yes")
    phone.press(description)
    phone.choose("No")
    assert "Your report:" in phone.last
    return phone.choose("Send")


def case_number_in(screen: str) -> str:
    import re

    found = re.search(r"\d{3}-\d{3}-\d{4}", screen)
    assert found is not None, screen
    return found.group(0)


def test_first_dial_offers_languages_with_the_country_default_first(phone: UssdPhone) -> None:
    screen = phone.dial()
    assert screen.startswith("CON ")
    assert screen.index("Francais") < screen.index("English")


def test_full_report_gets_a_case_number_and_is_stored(
    phone: UssdPhone, db: sessionmaker[Session]
) -> None:
    final = file_report(phone)
    assert final.startswith("END Report sent.")
    number = case_number_in(final).replace("-", "")
    stored = cases_in(db)
    assert [c.number for c in stored] == [number]
    case = stored[0]
    assert (case.category, case.severity, case.occurred, case.danger_now) == (
        "accident",
        "critical",
        "today",
        True,
    )
    assert case.channel == "ussd"
    assert case.language == "en"
    assert case.description_enc is not None
    assert DESCRIPTION.encode() not in case.description_enc
    assert case.contact_enc is None


def test_status_check_shows_the_status_in_plain_words(phone: UssdPhone) -> None:
    number = case_number_in(file_report(phone))
    phone.dial()
    phone.choose("Check a report")
    final = phone.press(number.replace("-", ""))
    assert final.startswith("END ")
    assert number in final
    assert "Received" in final


def test_status_check_of_an_unknown_number_asks_again(phone: UssdPhone) -> None:
    phone.dial()  # a first dial: the language list
    phone.choose("English")
    phone.dial()
    phone.choose("Check a report")
    screen = phone.press("123-456-7890")
    assert screen.startswith("CON ")


def test_add_information_is_kept_encrypted_on_the_case(
    phone: UssdPhone, db: sessionmaker[Session]
) -> None:
    number = case_number_in(file_report(phone))
    phone.dial()
    phone.choose("Add information")
    phone.press(number)
    final = phone.press("The pit owner hid the injured")
    assert final.startswith("END ")
    assert number in final
    with db() as session:
        events = session.scalars(select(CaseEvent).where(CaseEvent.kind == "info_added")).all()
    assert len(events) == 1
    assert events[0].body_enc is not None
    assert b"pit owner" not in events[0].body_enc


def test_a_resent_hop_gets_the_same_screen_and_no_second_report(
    phone: UssdPhone, db: sessionmaker[Session]
) -> None:
    final = file_report(phone)
    again = phone.post("*".join(phone.inputs))
    assert again == final
    assert len(cases_in(db)) == 1


def test_a_resent_middle_hop_changes_nothing(phone: UssdPhone) -> None:
    phone.dial()
    phone.choose("English")
    first = phone.choose("Report a problem")
    assert phone.post("*".join(phone.inputs)) == first
    assert phone.choose("Accident").startswith("CON In which province?")


def test_a_dial_with_pre_entered_input_is_followed(phone: UssdPhone) -> None:
    phone.dial()
    phone.choose("English")  # the language is now remembered for this number
    screen = phone.dial("1")
    assert screen.startswith("CON What happened?")
    screen = phone.dial("1", "2")
    assert screen.startswith("CON In which province?")


def test_a_dropped_report_is_offered_again_on_the_next_dial(
    phone: UssdPhone, db: sessionmaker[Session]
) -> None:
    phone.dial()
    phone.choose("English")
    phone.choose("Report a problem")
    phone.choose("Violence")
    phone.choose("South Kivu")  # the session drops here: no further hop
    screen = phone.dial()
    assert "unfinished report" in screen
    screen = phone.choose("Continue")
    assert screen.startswith("CON In which territory?")
    phone.choose("Uvira")
    phone.choose("Lemera")
    phone.choose("This week")
    phone.choose("No")
    phone.choose("Skip")
    phone.choose("No")
    final = phone.choose("Send")
    assert final.startswith("END Report sent.")
    [case] = cases_in(db)
    assert case.category == "violence"
    assert case.severity == "high"


def test_a_star_typed_in_free_text_is_kept_in_the_text_never_an_answer(
    phone: UssdPhone, db: sessionmaker[Session], settings: Settings
) -> None:
    """Africa's Talking joins inputs with '*', so a typed '*' cannot be told from a
    separator: the rest of the hop is the text. What follows a star can never answer the
    SMS-news question or send the report unseen."""
    phone.dial()
    phone.choose("English")
    phone.choose("Report a problem")
    for label in ("Accident", "North Kivu", "Walikale", "Bisie", "Today", "Yes"):
        phone.choose(label)
    screen = phone.press("Men with guns*1*1")
    assert screen.startswith("CON Do you want SMS news")
    summary = phone.choose("No")
    assert '"Men with guns*1*1"' in summary
    assert cases_in(db) == []
    assert phone.choose("Send").startswith("END Report sent.")
    crypto = load_crypto(settings)
    with db() as session:
        case = session.scalars(select(Case)).one()
        assert case.description_enc is not None
        assert crypto.decrypt(case.description_enc) == "Men with guns*1*1"
        assert case.contact_enc is None
        assert case.consent_updates is False


def test_back_and_main_menu_keys(phone: UssdPhone) -> None:
    phone.dial()
    phone.choose("English")
    phone.choose("Report a problem")
    assert phone.press("0").startswith("CON Sauti")
    phone.choose("Report a problem")
    screen = phone.press("98")
    assert "Other" in screen
    assert phone.press("00").startswith("CON Sauti")


def test_invalid_input_re_prompts_and_never_ends_the_session(phone: UssdPhone) -> None:
    phone.dial()
    phone.choose("English")
    for junk in ("77", "abc", "", "\u202e\U0001f600", "9" * 500):
        screen = phone.press(junk)
        assert screen.startswith("CON "), screen
    assert option(screen, "Report a problem")


def test_a_report_submitted_enqueues_its_routing_job(
    phone: UssdPhone, redis_client: redis.Redis, run_jobs: object, db: sessionmaker[Session]
) -> None:
    file_report(phone)
    from rq import Queue

    assert Queue("routing", connection=redis_client).count == 1
    run_jobs()  # type: ignore[operator]
    [case] = cases_in(db)
    assert case.routing_requested_at is not None
    with db() as session:
        count = session.scalar(
            select(func.count()).select_from(CaseEvent).where(CaseEvent.kind == "routing_requested")
        )
    assert count == 1


def test_a_plus_sent_without_url_encoding_still_reads_the_country(app_client: TestClient) -> None:
    """curl -d phoneNumber=+243… turns the '+' into a space; the caller is still in CD."""
    body = "sessionId=S9&serviceCode=%2A384%2A123%23&phoneNumber=+243812345678&text="
    response = app_client.post(
        f"/ussd/africastalking?token={AT_TOKEN}",
        content=body,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.text.index("Francais") < response.text.index("English")


def test_the_submit_hop_retried_after_a_failed_save_files_one_report(
    phone: UssdPhone, db: sessionmaker[Session], redis_client: redis.Redis
) -> None:
    """The report was committed but the hop's state never reached Redis (an outage right
    then): the gateway's retry of 'Send' finds the report already filed."""
    file_report(phone)
    inputs = phone.inputs
    phone.dial()
    for key in inputs[1:-1]:  # the same report again, up to its summary
        phone.press(key)
    assert "Your report:" in phone.last
    before = {key: redis_client.dump(key) for key in redis_client.scan_iter(match="sauti:s:*")}
    first = phone.press(inputs[-1])
    for key, value in before.items():  # as if the last save had never happened
        redis_client.restore(key, 0, value, replace=True)
    for key in redis_client.scan_iter(match="sauti:h:*"):
        redis_client.delete(key)
    again = phone.post("*".join(phone.inputs))
    assert case_number_in(again) == case_number_in(first)
    assert len(cases_in(db)) == 2


def test_added_information_retried_after_a_failed_save_is_added_once(
    phone: UssdPhone, db: sessionmaker[Session], redis_client: redis.Redis
) -> None:
    number = case_number_in(file_report(phone))
    phone.dial()
    phone.choose("Add information")
    phone.press(number)
    before = {key: redis_client.dump(key) for key in redis_client.scan_iter(match="sauti:s:*")}
    phone.press("The pit owner hid the injured")
    for key, value in before.items():  # as if the last save had never happened
        redis_client.restore(key, 0, value, replace=True)
    for key in redis_client.scan_iter(match="sauti:h:*"):
        redis_client.delete(key)
    assert phone.post("*".join(phone.inputs)).startswith("END ")
    with db() as session:
        added = session.scalars(select(CaseEvent).where(CaseEvent.kind == "info_added")).all()
    assert len(added) == 1
