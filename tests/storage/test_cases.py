"""The case lifecycle: reports, lookups, added information, routing hand-off."""

from __future__ import annotations

import io
import random
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session

from storage import casenumber
from storage.cases import (
    InvalidReport,
    NoFreeNumber,
    StatusView,
    add_information,
    close_case,
    create_report,
    find_case,
    request_routing,
    status_view,
    unrouted_cases,
)
from storage.db import make_sessionmaker
from storage.models import Case, CaseEvent, EventKind, Severity
from storage.places import import_locations_csv
from storage.privacy import Crypto
from storage.severity import derive_severity

PHONE = "+243812345678"
ANSWERS = {
    "category": "illegal_tax",
    "hazard": "",
    "place_code": "cd-nk-walikale-bisie",
    "place_text": "",
    "when": "week",
    "danger_now": "no",
    "description": "Soldiers take a bag of cassiterite per week at the pit",
    "sms_updates": "no",
}
PLACES = (
    "code,name,parent_code,level\n"
    "cd,DR Congo,,country\n"
    "cd-nk,North Kivu,cd,province\n"
    "cd-nk-walikale,Walikale,cd-nk,territory\n"
    "cd-nk-walikale-bisie,Bisie,cd-nk-walikale,site\n"
)


@pytest.fixture
def places(session: Session) -> None:
    import_locations_csv(session=session, source=io.StringIO(PLACES))


def _report(
    session: Session,
    crypto: Crypto,
    now: datetime,
    *,
    rng: random.Random | None = None,
    contact: str | None = None,
    base: Mapping[str, str] = ANSWERS,
    submission_key: str | None = None,
    **answers: str,
) -> Case:
    return create_report(
        session=session,
        crypto=crypto,
        pseudonym=crypto.pseudonym(PHONE),
        channel="ussd",
        language="sw",
        answers={**base, **answers},
        contact_e164=contact,
        flow_version="v1",
        rng=rng or random.Random(),
        now=now,
        submission_key=submission_key,
    )


def _events(session: Session, case: Case) -> list[CaseEvent]:
    query = select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)
    return list(session.scalars(query))


@pytest.mark.parametrize(
    ("category", "hazard", "danger_now", "severity"),
    [
        ("other", None, True, Severity.CRITICAL),
        ("accident", None, False, Severity.HIGH),
        ("violence", None, False, Severity.HIGH),
        ("sexual_violence", None, False, Severity.HIGH),
        ("ohs_hazard", "collapse", False, Severity.HIGH),
        ("ohs_hazard", "bad_air", False, Severity.HIGH),
        ("ohs_hazard", "no_ppe", False, Severity.MEDIUM),
        ("child_labour", None, False, Severity.MEDIUM),
        ("illegal_tax", None, False, Severity.MEDIUM),
        ("mineral_fraud", None, False, Severity.MEDIUM),
        ("other", None, False, Severity.LOW),
    ],
)
def test_severity_rules(
    category: str, hazard: str | None, danger_now: bool, severity: Severity
) -> None:
    assert derive_severity(category=category, hazard=hazard, danger_now=danger_now) == severity


@pytest.mark.usefixtures("places")
def test_report_is_stored_with_number_place_and_received_event(
    session: Session, crypto: Crypto, now: datetime
) -> None:
    case = _report(session, crypto, now, danger_now="yes")
    session.commit()
    assert casenumber.is_valid(case.number)
    assert (case.status, case.severity, case.occurred) == ("received", "critical", "week")
    assert case.location_id is not None
    assert case.place_text_enc is None
    assert case.pseudonym == crypto.pseudonym(PHONE)
    [event] = _events(session, case)
    assert (event.kind, event.actor, event.at) == ("received", "reporter", now)
    assert event.data == {"channel": "ussd", "severity": "critical", "itsci_level": 2}


def test_free_text_is_encrypted_in_the_row(session: Session, crypto: Crypto, now: datetime) -> None:
    case = _report(session, crypto, now, place_text="Near the Mpama river")
    session.commit()
    row = session.execute(
        text("SELECT description_enc, place_text_enc FROM cases WHERE id = :id"), {"id": case.id}
    ).one()
    description, place = bytes(row[0]), bytes(row[1])
    assert b"cassiterite" not in description
    assert b"Mpama" not in place
    assert crypto.decrypt(description) == ANSWERS["description"]
    assert crypto.decrypt(place) == "Near the Mpama river"


def test_unknown_place_code_keeps_the_place_text(
    session: Session, crypto: Crypto, now: datetime
) -> None:
    case = _report(session, crypto, now, place_code="cd-nowhere", place_text="Kilometre 45")
    assert case.location_id is None
    assert case.place_text_enc is not None
    assert crypto.decrypt(case.place_text_enc) == "Kilometre 45"
    assert _events(session, case)[0].data["unknown_place_code"] == "cd-nowhere"


def test_contact_is_kept_encrypted_only_with_consent(
    session: Session, crypto: Crypto, now: datetime
) -> None:
    wanted = _report(session, crypto, now, contact=PHONE, sms_updates="yes")
    declined = _report(session, crypto, now, contact=PHONE, sms_updates="no")
    no_number = _report(session, crypto, now, contact=None, sms_updates="yes")
    session.commit()
    assert wanted.consent_updates
    assert wanted.contact_enc is not None
    assert crypto.decrypt(wanted.contact_enc) == PHONE
    assert (declined.consent_updates, declined.contact_enc) == (False, None)
    assert (no_number.consent_updates, no_number.contact_enc) == (False, None)
    stored = session.execute(text("SELECT contact_enc FROM cases WHERE contact_enc IS NOT NULL"))
    assert all(PHONE[1:].encode() not in bytes(row[0]) for row in stored)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("category", "gossip"),
        ("when", "yesterday"),
        ("danger_now", "maybe"),
        ("hazard", "Bad Air!"),
    ],
)
def test_answers_outside_the_vocabulary_are_refused(
    session: Session, crypto: Crypto, now: datetime, field: str, value: str
) -> None:
    with pytest.raises(InvalidReport) as refused:
        _report(session, crypto, now, base={**ANSWERS, field: value})
    assert refused.value.field == field


def test_a_phone_number_is_never_accepted_as_pseudonym(
    session: Session, crypto: Crypto, now: datetime
) -> None:
    with pytest.raises(InvalidReport, match="pseudonym"):
        create_report(
            session=session,
            crypto=crypto,
            pseudonym=PHONE,
            channel="sms",
            language="en",
            answers=ANSWERS,
            contact_e164=None,
            flow_version="v1",
            rng=random.Random(),
            now=now,
        )


def test_a_taken_number_is_drawn_again(session: Session, crypto: Crypto, now: datetime) -> None:
    first = _report(session, crypto, now, rng=random.Random(5))
    second = _report(session, crypto, now, rng=random.Random(5))
    session.commit()
    assert first.number != second.number
    assert second.number == _numbers(seed=5, count=2)[1]
    assert len(_events(session, second)) == 1


def test_numbers_running_out_raises(session: Session, crypto: Crypto, now: datetime) -> None:
    _report(session, crypto, now, rng=random.Random(5))

    class Stuck(random.Random):
        def randrange(self, *args: object, **kwargs: object) -> int:
            return int(_numbers(seed=5, count=1)[0][:9])

    with pytest.raises(NoFreeNumber):
        _report(session, crypto, now, rng=Stuck())


def test_a_repeated_submission_files_one_report(
    session: Session, crypto: Crypto, now: datetime
) -> None:
    first = _report(session, crypto, now, rng=random.Random(5), submission_key="hop-1")
    again = _report(session, crypto, now, rng=random.Random(5), submission_key="hop-1")
    other = _report(session, crypto, now, rng=random.Random(5), submission_key="hop-2")
    session.commit()
    assert again.id == first.id
    assert other.id != first.id
    assert other.number != first.number
    assert session.scalar(select(func.count()).select_from(Case)) == 2
    assert len(_events(session, first)) == 1


def test_concurrent_submissions_of_one_hop_file_one_report(
    engine: Engine, crypto: Crypto, now: datetime
) -> None:
    factory = make_sessionmaker(engine)
    threads = 6
    for round_number in range(3):
        key = f"send-{round_number}"
        barrier = threading.Barrier(threads)

        def send(key: str = key, barrier: threading.Barrier = barrier) -> int:
            barrier.wait(timeout=10)  # (SQLite then runs them one by one: BEGIN IMMEDIATE)
            with factory() as session:
                case = _report(session, crypto, now, submission_key=key)
                session.commit()
                return case.id

        with ThreadPoolExecutor(threads) as pool:
            filed = set(pool.map(lambda _: send(), range(threads)))
        with factory() as session:
            stored = session.scalars(select(Case.id).where(Case.submission_key == key)).all()
            assert len(stored) == 1
            assert filed == set(stored)
            events = select(func.count()).select_from(CaseEvent)
            assert session.scalar(events.where(CaseEvent.case_id == stored[0])) == 1


def _numbers(*, seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    return [casenumber.new_number(rng) for _ in range(count)]


def test_find_case_accepts_what_people_type(
    session: Session, crypto: Crypto, now: datetime
) -> None:
    case = _report(session, crypto, now)
    session.commit()
    assert find_case(session=session, number=casenumber.display(case.number)) == case
    assert find_case(session=session, number=case.number.replace("", " ").strip()) == case
    assert find_case(session=session, number="123") is None
    assert find_case(session=session, number="4821773501") is None


def test_status_view_shows_the_latest_committee_message(
    session: Session, crypto: Crypto, now: datetime
) -> None:
    case = _report(session, crypto, now)
    assert status_view(session=session, crypto=crypto, case=case) == StatusView(
        number=case.number, status="received", outcome=None, message=None
    )
    for minutes, body in ((5, "We are on our way"), (60, "The shaft is closed")):
        session.add(
            CaseEvent(
                case_id=case.id,
                at=now + timedelta(minutes=minutes),
                kind=EventKind.MESSAGE,
                actor="member:1",
                body_enc=crypto.encrypt(body),
                data={},
            )
        )
    session.add(
        CaseEvent(
            case_id=case.id, at=now + timedelta(hours=2), kind="note", actor="member:1", data={}
        )
    )
    session.flush()
    view = status_view(session=session, crypto=crypto, case=case)
    assert view.message == "The shaft is closed"


def test_added_information_is_an_encrypted_event(
    session: Session, crypto: Crypto, now: datetime
) -> None:
    case = _report(session, crypto, now)
    later = now + timedelta(hours=1)
    event = add_information(
        session=session,
        crypto=crypto,
        case=case,
        text="  Two more trucks today ",
        channel="sms",
        now=later,
    )
    session.commit()
    assert (event.kind, event.actor, event.data) == ("info_added", "reporter", {"channel": "sms"})
    assert event.body_enc is not None
    assert crypto.decrypt(event.body_enc) == "Two more trucks today"
    assert case.updated_at == later
    with pytest.raises(InvalidReport):
        add_information(session=session, crypto=crypto, case=case, text="   ", channel="sms")


@pytest.mark.parametrize("outcome", ["resolved", "persistent", "unfounded", "duplicate"])
def test_the_status_of_a_closed_case_carries_its_outcome(
    session: Session, crypto: Crypto, now: datetime, outcome: str
) -> None:
    case = _report(session, crypto, now)
    close_case(
        session=session, crypto=crypto, case=case, actor="member:1", outcome=outcome, note=None,
        now=now,
    )  # fmt: skip
    view = status_view(session=session, crypto=crypto, case=case)
    assert (view.status, view.outcome) == (f"closed.{outcome}", outcome)


def test_added_information_says_whether_the_reporting_phone_sent_it(
    session: Session, crypto: Crypto, now: datetime
) -> None:
    case = _report(session, crypto, now)
    same, other, unknown = (
        add_information(
            session=session,
            crypto=crypto,
            case=case,
            text=text,
            channel="ussd",
            now=now,
            pseudonym=pseudonym,
        )
        for text, pseudonym in (
            ("From my phone", crypto.pseudonym(PHONE)),
            ("From my cousin's", crypto.pseudonym("+243990000001")),
            ("From the console", None),
        )
    )
    assert [e.data for e in (same, other, unknown)] == [
        {"channel": "ussd", "same_phone": True},
        {"channel": "ussd", "same_phone": False},
        {"channel": "ussd"},
    ]
    assert all(e.notified_at is None for e in (same, other, unknown))
    with pytest.raises(InvalidReport):
        add_information(
            session=session, crypto=crypto, case=case, text="x", channel="ussd",
            pseudonym="+243990000001",
        )  # fmt: skip


def test_request_routing_happens_once(session: Session, crypto: Crypto, now: datetime) -> None:
    case = _report(session, crypto, now)
    session.commit()
    assert request_routing(session=session, case_id=case.id, now=now)
    assert not request_routing(session=session, case_id=case.id, now=now + timedelta(minutes=1))
    session.commit()
    session.refresh(case)
    assert case.routing_requested_at == now
    kinds = [event.kind for event in _events(session, case)]
    assert kinds == ["received", "routing_requested"]


def test_request_routing_of_a_missing_case_changes_nothing(session: Session, now: datetime) -> None:
    assert not request_routing(session=session, case_id=424242, now=now)


def test_unrouted_cases_lists_old_received_unrouted_reports(
    session: Session, crypto: Crypto, now: datetime
) -> None:
    old = _report(session, crypto, now - timedelta(minutes=10))
    older = _report(session, crypto, now - timedelta(minutes=20))
    routed = _report(session, crypto, now - timedelta(minutes=30))
    routed.status, routed.routed_at = "routed", now
    _report(session, crypto, now)
    session.commit()
    found = unrouted_cases(session=session, older_than=now - timedelta(minutes=5), limit=10)
    assert found == [older.id, old.id]
    assert unrouted_cases(session=session, older_than=now, limit=1) == [older.id]


def test_timestamps_come_back_as_utc(
    session: Session, crypto: Crypto, engine_now: datetime
) -> None:
    case = _report(session, crypto, engine_now)
    session.commit()
    session.expire_all()
    stored = session.get(Case, case.id)
    assert stored is not None
    assert stored.created_at == engine_now
    assert stored.created_at.tzinfo == UTC


@pytest.fixture
def engine_now() -> datetime:
    """A time given in another zone, which must be stored as the same instant."""
    return datetime(2026, 11, 26, 14, 30, tzinfo=UTC).astimezone(datetime.now().astimezone().tzinfo)


def test_naive_datetimes_are_refused(session: Session, crypto: Crypto) -> None:
    with pytest.raises(StatementError, match="naive datetime"):
        _report(session, crypto, datetime(2026, 11, 26, 12, 0))


def test_the_same_hop_adding_information_at_once_in_several_sessions_adds_it_once(
    engine: Engine, crypto: Crypto, now: datetime
) -> None:
    """Several requests for the same hop at the same instant (a provider's retry racing
    the first attempt, each in its own process): one event, and each request is answered
    with it."""
    factory = make_sessionmaker(engine)
    with factory() as session:
        case_id = _report(session, crypto, now).id
        session.commit()
    threads = 6
    for round_number in range(4):
        key = f"hop-{round_number}"
        barrier = threading.Barrier(threads)

        def add(key: str = key, barrier: threading.Barrier = barrier) -> int:
            barrier.wait(timeout=10)  # (SQLite then runs them one by one: BEGIN IMMEDIATE)
            with factory() as session:
                case = session.get_one(Case, case_id)
                event = add_information(
                    session=session,
                    crypto=crypto,
                    case=case,
                    text="The second shaft is flooding too",
                    channel="ussd",
                    submission_key=key,
                )
                session.commit()
                return event.id

        with ThreadPoolExecutor(threads) as pool:
            answered = set(pool.map(lambda _: add(), range(threads)))
        with factory() as session:
            stored = session.scalars(
                select(CaseEvent.id).where(CaseEvent.submission_key == key)
            ).all()
        assert len(stored) == 1
        assert answered == set(stored)
