"""Revision 0011: a case may say it was reported by WhatsApp, on SQLite without rebuilding
`cases` (which would delete every event and assignment by cascade) and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from storage.db import make_engine
from storage.migrate import current, downgrade, upgrade
from tests.storage.test_migrations import _head, empty_url  # noqa: F401

AT = {"at": datetime(2026, 12, 9, 9, 0, tzinfo=UTC)}
CASE = (
    "INSERT INTO cases (id, number, category, severity, status, occurred, danger_now, channel,"
    " language, pseudonym, consent_updates, is_test, flow_version, created_at, updated_at)"
    " VALUES (:id, :number, 'accident', 'high', 'received', 'today', false, :channel, 'sw',"
    " 'p', false, false, 'v1', :at, :at)"
)


def add_case(engine: Engine, case_id: int, channel: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(CASE), {**AT, "id": case_id, "number": f"{case_id:010d}", "channel": channel}
        )
        conn.execute(
            text(
                "INSERT INTO case_events (case_id, at, kind, actor, data) VALUES"
                " (:id, :at, 'received', 'reporter', '{}')"
            ),
            {**AT, "id": case_id},
        )


def rows(engine: Engine) -> tuple[list[tuple[int, str]], int]:
    with engine.connect() as conn:
        cases = [
            tuple(row) for row in conn.execute(text("SELECT id, channel FROM cases ORDER BY id"))
        ]
        events = conn.scalar(text("SELECT count(*) FROM case_events"))
    return cases, int(events or 0)


def test_0011_cases_take_whatsapp_and_keep_their_events(empty_url: str) -> None:  # noqa: F811
    upgrade(empty_url, "0010")
    engine = make_engine(empty_url)
    add_case(engine, 1, "sms")
    with pytest.raises(IntegrityError):
        add_case(engine, 2, "whatsapp")
    upgrade(empty_url)
    assert current(empty_url) == _head()
    assert rows(engine) == ([(1, "sms")], 1)  # nothing lost, no event deleted by cascade
    add_case(engine, 2, "whatsapp")
    for channel in ("fax", "WhatsApp"):
        with pytest.raises(IntegrityError):
            add_case(engine, 3, channel)
    with engine.connect() as conn:
        problems = (
            conn.exec_driver_sql("PRAGMA integrity_check").scalar() if _sqlite(engine) else "ok"
        )
    assert problems == "ok"
    engine.dispose()
    downgrade(empty_url, "0010")
    engine = make_engine(empty_url)
    assert rows(engine) == ([(1, "sms"), (2, "sms")], 2)  # filed under SMS, events kept
    with pytest.raises(IntegrityError):
        add_case(engine, 3, "whatsapp")
    engine.dispose()
    upgrade(empty_url)
    assert current(empty_url) == _head()


def _sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"
