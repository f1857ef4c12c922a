"""When it happened kept as days fixed at submission, in the reporters' zone: each answer
to its range, the day read across a zone boundary, a filed report carrying its days, and
revision 0019 filling them for cases filed before it, in place, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import random
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from storage.cases import REPORTERS_ZONE, create_report, occurred_dates
from storage.db import make_engine
from storage.migrate import current, downgrade, upgrade
from storage.places import import_locations_csv
from storage.privacy import Crypto
from tests.storage.test_migrations import _columns, _head, empty_url  # noqa: F401

LUBUMBASHI = ZoneInfo("Africa/Lubumbashi")
# 22:30 UTC on 6 December is already 7 December at 00:30 in UTC+2.
LATE = datetime(2026, 12, 6, 22, 30, tzinfo=UTC)
NOON = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("answer", "first", "last"),
    [
        ("today", date(2026, 12, 6), date(2026, 12, 6)),
        ("week", date(2026, 11, 30), date(2026, 12, 6)),
        ("month", date(2026, 11, 7), date(2026, 12, 6)),
        ("earlier", None, date(2026, 11, 6)),
    ],
)
def test_each_answer_is_its_range_of_days(answer: str, first: date | None, last: date) -> None:
    assert occurred_dates(answer, NOON, LUBUMBASHI) == (first, last)


def test_the_day_is_the_reporters_not_utcs() -> None:
    """Half past midnight in Walikale is the next day there, whatever UTC says."""
    assert occurred_dates("today", LATE, LUBUMBASHI) == (date(2026, 12, 7), date(2026, 12, 7))
    assert occurred_dates("today", LATE, UTC) == (date(2026, 12, 6), date(2026, 12, 6))
    assert occurred_dates("week", LATE, LUBUMBASHI) == (date(2026, 12, 1), date(2026, 12, 7))


def test_an_unknown_answer_is_refused() -> None:
    with pytest.raises(ValueError, match="yesterday"):
        occurred_dates("yesterday", NOON, LUBUMBASHI)


def test_a_filed_report_keeps_its_days(session: Session, crypto: Crypto) -> None:
    import_locations_csv(
        session=session,
        source=io.StringIO("code,name,parent_code,level\ncd,DR Congo,,country\n"),
    )
    case = create_report(
        session=session,
        crypto=crypto,
        pseudonym=crypto.pseudonym("+243812345678"),
        channel="ussd",
        language="en",
        answers={"category": "accident", "place_code": "cd", "when": "today"},
        contact_e164=None,
        flow_version="v1",
        rng=random.Random(),
        now=LATE,
    )
    session.commit()
    session.refresh(case)
    assert REPORTERS_ZONE.key == "Africa/Lubumbashi"
    assert (case.occurred_from, case.occurred_to) == (date(2026, 12, 7), date(2026, 12, 7))


CASE = (
    "INSERT INTO cases (id, number, category, severity, status, occurred, danger_now, channel,"
    " language, pseudonym, consent_updates, is_test, flow_version, created_at, updated_at)"
    " VALUES (:id, :number, 'accident', 'high', 'received', :occurred, false, 'ussd',"
    " 'sw', 'p', false, false, 'v1', :at, :at)"
)
EXISTING = [  # (answer, created at) -> (first day, last day)
    ("today", LATE, "2026-12-07", "2026-12-07"),
    ("week", NOON, "2026-11-30", "2026-12-06"),
    ("month", NOON, "2026-11-07", "2026-12-06"),
    ("earlier", NOON, None, "2026-11-06"),
]


def _day(value: object) -> str | None:
    return None if value is None else str(value)[:10]


def test_0019_fills_existing_cases_in_place_and_goes(empty_url: str) -> None:  # noqa: F811
    upgrade(empty_url, "0018")
    engine = make_engine(empty_url)
    with engine.begin() as conn:
        for n, (answer, at, _, _) in enumerate(EXISTING, start=1):
            conn.execute(
                text(CASE),
                {"id": n, "number": f"{n:010d}", "occurred": answer, "at": at.replace(tzinfo=None)},
            )
            conn.execute(
                text(
                    "INSERT INTO case_events (case_id, at, kind, actor, data) VALUES"
                    " (:id, :at, 'received', 'reporter', '{}')"
                ),
                {"id": n, "at": at.replace(tzinfo=None)},
            )
    engine.dispose()
    upgrade(empty_url)
    assert current(empty_url) == _head()
    engine = make_engine(empty_url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT occurred_from, occurred_to FROM cases ORDER BY id")).all()
        events = conn.scalar(text("SELECT count(*) FROM case_events"))
    assert [(_day(a), _day(b)) for a, b in rows] == [(f, t) for _, _, f, t in EXISTING]
    assert events == len(EXISTING)  # nothing deleted by cascade
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    engine.dispose()
    downgrade(empty_url, "0018")
    engine = make_engine(empty_url)
    assert not {"occurred_from", "occurred_to"} & _columns(engine, "cases")
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM cases")) == len(EXISTING)
        assert conn.scalar(text("SELECT count(*) FROM case_events")) == len(EXISTING)
    engine.dispose()
