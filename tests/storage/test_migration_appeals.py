"""Revision 0015: a case keeps the reporter's answer to its closing and may be appealed, and
a committee may hold a case appealed to it, on SQLite without rebuilding `cases` (which
would delete every event and assignment by cascade) and on PostgreSQL; the downgrade puts
appealed cases back in progress and keeps every row."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from storage.db import make_engine
from storage.migrate import downgrade, upgrade
from tests.storage.test_migration_whatsapp_reports import add_case, rows
from tests.storage.test_migrations import empty_url  # noqa: F401

AT = {"at": datetime(2026, 12, 12, 10, 0, tzinfo=UTC)}
PLACE = (
    "INSERT INTO locations (id, code, name, level, path, active)"
    " VALUES (1, 'cd', 'RDC', 'country', '/cd/', true)"
)
COMMITTEE = (
    "INSERT INTO committees (id, code, name, level, location_id, categories, language,"
    " timezone, ack_deadlines, digest_at, active, created_at, updated_at) VALUES (1, 'cd-nat',"
    " 'National', 'national', 1, null, 'fr', 'Africa/Kinshasa', '{}', '18:00', true, :at, :at)"
)
ASSIGN = (
    "INSERT INTO case_assignments (id, case_id, committee_id, reason, assigned_at, active)"
    " VALUES (:id, :case, 1, :reason, :at, true)"
)


def _set(engine: Engine, sql: str, **values: object) -> None:
    with engine.begin() as conn:
        conn.execute(text(sql), {**AT, **values})


def _columns(engine: Engine) -> set[str]:
    return {column["name"] for column in inspect(engine).get_columns("cases")}


def _statuses(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        found = conn.execute(
            text(
                "SELECT c.status, a.reason FROM cases c JOIN case_assignments a"
                " ON a.case_id = c.id ORDER BY c.id"
            )
        )
        return [(row[0], row[1]) for row in found]


def _integrity_ok(engine: Engine) -> bool:
    if engine.dialect.name != "sqlite":
        return True
    with engine.connect() as conn:
        return conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"


def test_0015_cases_may_be_appealed_and_keep_the_answer(empty_url: str) -> None:  # noqa: F811
    upgrade(empty_url, "0014")
    engine = make_engine(empty_url)
    _set(engine, PLACE)
    _set(engine, COMMITTEE)
    add_case(engine, 1, "sms")
    with pytest.raises(IntegrityError):
        _set(engine, "UPDATE cases SET status = 'appealed' WHERE id = 1")
    with pytest.raises(IntegrityError):
        _set(engine, ASSIGN, id=1, case=1, reason="appealed")
    engine.dispose()

    upgrade(empty_url, "0015")
    engine = make_engine(empty_url)
    assert {"satisfaction", "satisfaction_at"} <= _columns(engine)
    assert rows(engine) == ([(1, "sms")], 1)  # nothing lost, no event deleted by cascade
    _set(engine, "UPDATE cases SET status = 'appealed', satisfaction = 'not_solved' WHERE id = 1")
    _set(engine, "UPDATE cases SET satisfaction_at = :at WHERE id = 1")
    _set(engine, ASSIGN, id=1, case=1, reason="appealed")
    for sql in (
        "UPDATE cases SET satisfaction = 'maybe' WHERE id = 1",
        "UPDATE cases SET status = 'reopened' WHERE id = 1",
        "UPDATE case_assignments SET reason = 'appeal' WHERE id = 1",
    ):
        with pytest.raises(IntegrityError):
            _set(engine, sql)
    assert _integrity_ok(engine)
    engine.dispose()

    downgrade(empty_url, "0014")
    engine = make_engine(empty_url)
    assert not {"satisfaction", "satisfaction_at"} & _columns(engine)
    assert rows(engine) == ([(1, "sms")], 1)
    assert _statuses(engine) == [("in_progress", "escalated")]
    with pytest.raises(IntegrityError):
        _set(engine, "UPDATE cases SET status = 'appealed' WHERE id = 1")
    assert _integrity_ok(engine)
    engine.dispose()
    upgrade(empty_url, "0015")
