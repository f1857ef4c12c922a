"""Retention erases the personal content of cases closed long ago, and nothing else."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from storage import cases, outbox, retention
from storage.db import make_sessionmaker
from storage.models import (
    AuditEntry,
    Case,
    CaseEvent,
    EventKind,
    MessageKind,
    OutboxMessage,
    OutboxStatus,
    RecipientKind,
)
from storage.privacy import Crypto, is_pseudonym
from storage.settings import Settings

CONTACT = "+243990000077"
MEMBER_PHONE = "+243810000099"
DAYS = 365
DESCRIPTION = "Soldiers at the barrier took money from my brother"
PLACE_TEXT = "behind the church of Bisie"


def _closed_case(
    session: Session,
    crypto: Crypto,
    make_case: Callable[..., Case],
    *,
    closed: datetime,
    category: str = "illegal_tax",
) -> Case:
    """A report with every kind of personal content, closed at `closed`, with its SMS."""
    case = make_case(
        category=category,
        contact=CONTACT,
        at=closed - timedelta(days=20),
        description=DESCRIPTION,
        place_text=PLACE_TEXT,
    )
    at = closed - timedelta(days=10)
    cases.add_note(session=session, crypto=crypto, case=case, actor="user:a", text="a note", now=at)
    cases.message_reporter(
        session=session, crypto=crypto, case=case, actor="user:a", text="we went", now=at
    )
    cases.add_information(
        session=session,
        crypto=crypto,
        case=case,
        text="more detail",
        channel="sms",
        now=at,
        submission_key=f"hop-of-{case.number}",
    )
    for recipient_kind, to, kind in (
        (RecipientKind.REPORTER, CONTACT, MessageKind.REPORTER_MESSAGE),
        (RecipientKind.MEMBER, MEMBER_PHONE, MessageKind.ALERT),
    ):
        outbox.queue_sms(
            session=session,
            crypto=crypto,
            dedupe_key=f"{case.number}:{recipient_kind}",
            to_e164=to,
            body=f"Case {case.number}: {DESCRIPTION}",
            language="en",
            kind=kind,
            recipient_kind=recipient_kind,
            case_id=case.id,
            now=at,
        )
    cases.close_case(
        session=session,
        crypto=crypto,
        case=case,
        actor="user:a",
        outcome="resolved",
        note="the closing note",
        now=closed,
    )
    session.commit()
    return case


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_sessionmaker(engine)


@pytest.fixture
def closed_case(
    session: Session,
    crypto: Crypto,
    make_case: Callable[..., Case],
    demo_places: None,
    now: datetime,
) -> Callable[..., Case]:
    def make(*, days_ago: int, category: str = "illegal_tax") -> Case:
        closed = now - timedelta(days=days_ago)
        return _closed_case(session, crypto, make_case, closed=closed, category=category)

    return make


def _purge(
    sessions: sessionmaker[Session], crypto: Crypto, now: datetime, **kw: int
) -> dict[str, int]:
    done = retention.purge_expired(sessions=sessions, crypto=crypto, days=DAYS, now=now, **kw)
    return done.as_dict()


def _fresh(
    sessions: sessionmaker[Session], case_id: int
) -> tuple[Case, list[CaseEvent], list[OutboxMessage]]:
    with sessions() as session:
        case = session.get_one(Case, case_id)
        events = list(session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id)))
        messages = list(
            session.scalars(select(OutboxMessage).where(OutboxMessage.case_id == case_id))
        )
    return case, events, messages


def test_purge_erases_every_personal_value_of_a_case_closed_long_ago(
    sessions: sessionmaker[Session], crypto: Crypto, closed_case: Callable[..., Case], now: datetime
) -> None:
    old = closed_case(days_ago=DAYS + 1)
    pseudonym = old.pseudonym

    assert _purge(sessions, crypto, now) == {"cases": 1, "event_texts": 4, "messages": 2}

    case, events, messages = _fresh(sessions, old.id)
    assert (case.description_enc, case.place_text_enc, case.contact_enc) == (None, None, None)
    assert case.submission_key is None
    assert case.pseudonym != pseudonym
    assert is_pseudonym(case.pseudonym)
    assert [e.body_enc for e in events] == [None] * len(events)
    assert [e.submission_key for e in events] == [None] * len(events)
    assert [e.kind for e in events].count(EventKind.PURGED) == 1
    assert {m.to_enc for m in messages} == {None}
    assert {outbox.message_body(crypto=crypto, message=m) for m in messages} == {""}
    by_kind = {m.recipient_kind: m for m in messages}
    assert by_kind[RecipientKind.REPORTER].to_pseudonym == case.pseudonym
    assert by_kind[RecipientKind.MEMBER].to_pseudonym == crypto.pseudonym(MEMBER_PHONE)
    # Never sent: cancelled rather than left for the sender with no number.
    assert {m.status for m in messages} == {OutboxStatus.CANCELLED}


def test_purge_keeps_what_statistics_need(
    sessions: sessionmaker[Session], crypto: Crypto, closed_case: Callable[..., Case], now: datetime
) -> None:
    old = closed_case(days_ago=DAYS + 30, category="accident")
    fields = ("category", "hazard", "severity", "status", "outcome", "location_id", "occurred")
    dates = ("created_at", "updated_at", "routed_at", "acknowledged_at", "closed_at")
    before, events_before, _ = _fresh(sessions, old.id)

    _purge(sessions, crypto, now)

    after, events_after, _ = _fresh(sessions, old.id)
    assert [getattr(after, f) for f in fields + dates] == [
        getattr(before, f) for f in fields + dates
    ]
    kept = [(e.kind, e.at, e.actor, e.data) for e in events_after if e.kind != EventKind.PURGED]
    assert kept == [(e.kind, e.at, e.actor, e.data) for e in events_before]


def test_counts_by_category_and_status_are_the_same_after_a_purge(
    sessions: sessionmaker[Session], crypto: Crypto, closed_case: Callable[..., Case], now: datetime
) -> None:
    for days_ago, category in ((400, "accident"), (500, "violence"), (10, "accident")):
        closed_case(days_ago=days_ago, category=category)

    def counts() -> Counter[tuple[str, str, str]]:
        with sessions() as session:
            rows = session.execute(select(Case.category, Case.status, Case.severity))
            return Counter((r[0], r[1], r[2]) for r in rows)

    before = counts()
    assert _purge(sessions, crypto, now)["cases"] == 2
    assert counts() == before


def test_open_and_recently_closed_cases_are_left_alone(
    sessions: sessionmaker[Session],
    crypto: Crypto,
    closed_case: Callable[..., Case],
    make_case: Callable[..., Case],
    session: Session,
    now: datetime,
) -> None:
    recent = closed_case(days_ago=DAYS - 1)
    still_open = make_case(contact=CONTACT, at=now - timedelta(days=3 * DAYS))
    session.commit()
    before = {c.id: _fresh(sessions, c.id) for c in (recent, still_open)}

    assert _purge(sessions, crypto, now) == {"cases": 0, "event_texts": 0, "messages": 0}

    for case_id, (case, events, messages) in before.items():
        after, events_after, messages_after = _fresh(sessions, case_id)
        assert after.description_enc == case.description_enc is not None
        assert (after.contact_enc, after.pseudonym) == (case.contact_enc, case.pseudonym)
        assert [e.body_enc for e in events_after] == [e.body_enc for e in events]
        assert [m.body_enc for m in messages_after] == [m.body_enc for m in messages]
    with sessions() as check:
        assert check.scalar(select(func.count(AuditEntry.id))) == 0


def test_each_batch_writes_one_audit_entry_with_counts_only(
    sessions: sessionmaker[Session], crypto: Crypto, closed_case: Callable[..., Case], now: datetime
) -> None:
    for days_ago in (400, 401, 402):
        closed_case(days_ago=days_ago)

    assert _purge(sessions, crypto, now, batch=2)["cases"] == 3

    with sessions() as session:
        entries = list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
    assert [(e.actor, e.action, e.target) for e in entries] == [
        (retention.ACTOR, retention.ACTION, None)
    ] * 2
    assert [e.data for e in entries] == [
        {"cases": 2, "event_texts": 8, "messages": 4, "retention_days": DAYS},
        {"cases": 1, "event_texts": 4, "messages": 2, "retention_days": DAYS},
    ]


def test_a_second_run_changes_nothing(
    sessions: sessionmaker[Session], crypto: Crypto, closed_case: Callable[..., Case], now: datetime
) -> None:
    old = closed_case(days_ago=DAYS + 2)
    _purge(sessions, crypto, now)
    _, events, messages = _fresh(sessions, old.id)

    assert _purge(sessions, crypto, now + timedelta(days=1)) == {
        "cases": 0,
        "event_texts": 0,
        "messages": 0,
    }
    _, events_again, messages_again = _fresh(sessions, old.id)
    assert [(e.id, e.kind) for e in events_again] == [(e.id, e.kind) for e in events]
    assert [m.updated_at for m in messages_again] == [m.updated_at for m in messages]
    with sessions() as session:
        assert session.scalar(select(func.count(AuditEntry.id))) == 1


def test_a_dry_run_counts_what_the_purge_then_erases(
    sessions: sessionmaker[Session], crypto: Crypto, closed_case: Callable[..., Case], now: datetime
) -> None:
    closed_case(days_ago=400)
    closed_case(days_ago=20)
    before = retention.cutoff(now=now, days=DAYS)
    with sessions() as session:
        expected = retention.due_counts(session=session, before=before)

    assert (
        _purge(sessions, crypto, now)
        == expected.as_dict()
        == {
            "cases": 1,
            "event_texts": 4,
            "messages": 2,
        }
    )
    with sessions() as session:
        assert retention.due_counts(session=session, before=before).cases == 0


def test_two_runs_at_once_purge_each_case_once(
    sessions: sessionmaker[Session], crypto: Crypto, closed_case: Callable[..., Case], now: datetime
) -> None:
    made = [closed_case(days_ago=400 + n) for n in range(12)]
    results: list[dict[str, int]] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(_purge(sessions, crypto, now, batch=3))
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sum(r["cases"] for r in results) == len(made)
    assert sum(r["event_texts"] for r in results) == 4 * len(made)
    with sessions() as session:
        purged = session.scalars(select(CaseEvent.case_id).where(CaseEvent.kind == "purged"))
        assert sorted(purged) == sorted(c.id for c in made)


def test_a_retention_period_under_thirty_days_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 30 days"):
        retention.cutoff(now=datetime.now().astimezone(), days=29)
    with pytest.raises(ValidationError):
        Settings(sauti_retention_days=0)
    assert Settings().sauti_retention_days == DAYS


def _answer(session: Session, crypto: Crypto, *, queued: datetime, status: str) -> int:
    message = outbox.queue_sms(
        session=session,
        crypto=crypto,
        dedupe_key=f"answer:{queued.isoformat()}:{status}",
        to_e164="+243812345678",
        body='Your report: Illegal tax "Soldiers take 5000 francs"',
        language="en",
        kind=MessageKind.REPLY,
        recipient_kind=RecipientKind.REPORTER,
        now=queued,
    )
    assert message is not None
    message.status = status
    session.flush()
    return message.id


def test_answers_to_a_persons_sms_lose_number_and_text_after_thirty_days(
    sessions: sessionmaker[Session], crypto: Crypto, now: datetime
) -> None:
    """An answer belongs to no case (it may be the summary of a report being written):
    once done with, it is erased ANSWER_DAYS after it was queued, counted and once."""
    with sessions.begin() as session:
        old = _answer(session, crypto, queued=now - timedelta(days=31), status="delivered")
        unsent = _answer(session, crypto, queued=now - timedelta(days=31), status="queued")
        recent = _answer(session, crypto, queued=now - timedelta(days=5), status="delivered")
    with sessions() as session:
        assert retention.due_counts(session=session, before=now, now=now).messages == 1
    assert _purge(sessions, crypto, now)["messages"] == 1
    with sessions() as session:
        rows = {m.id: m for m in session.scalars(select(OutboxMessage))}
    assert rows[old].to_enc is None
    assert outbox.message_body(crypto=crypto, message=rows[old]) == ""
    for kept in (unsent, recent):
        assert "5000 francs" in outbox.message_body(crypto=crypto, message=rows[kept])
    assert _purge(sessions, crypto, now)["messages"] == 0
