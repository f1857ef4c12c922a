"""Revision 0016: the case actions table, on SQLite and PostgreSQL: an action belongs to a
case and a committee, is numbered once per case, has one of four statuses, goes with its
case, and the downgrade drops the table and keeps the cases."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from storage.db import make_engine
from storage.migrate import current, downgrade, upgrade
from tests.storage.test_migration_whatsapp_reports import add_case, rows
from tests.storage.test_migrations import _head, empty_url  # noqa: F401

AT = datetime(2026, 12, 12, 11, 0, tzinfo=UTC)
ACTION = (
    "INSERT INTO case_actions (case_id, committee_id, n, what_enc, owner, due_on, status,"
    " created_by, created_at) VALUES (:case, 1, :n, :what, 'member:1', :due, :status,"
    " 'member:1', :at)"
)


def add_committee(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO locations (id, code, name, level, path) VALUES"
                " (1, 'cd', 'DR Congo', 'country', '/cd/')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO committees (id, code, name, level, location_id, language, timezone,"
                " ack_deadlines, digest_at, created_at, updated_at) VALUES (1, 'cd-national',"
                " 'National', 'national', 1, 'sw', 'Africa/Kinshasa', '{}', '18:00', :at, :at)"
            ),
            {"at": AT},
        )


def add_action(engine: Engine, case_id: int, n: int, status: str = "planned") -> None:
    values = {"case": case_id, "n": n, "what": b"ciphertext", "due": date(2026, 12, 20)}
    with engine.begin() as conn:
        conn.execute(text(ACTION), {**values, "status": status, "at": AT})


def count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(text("SELECT count(*) FROM case_actions")) or 0)


def test_0016_actions_come_and_go_with_their_cases(empty_url: str) -> None:  # noqa: F811
    upgrade(empty_url, "0015")
    engine = make_engine(empty_url)
    add_committee(engine)
    add_case(engine, 1, "sms")
    assert "case_actions" not in inspect(engine).get_table_names()
    engine.dispose()
    upgrade(empty_url)
    assert current(empty_url) == _head()
    engine = make_engine(empty_url)
    add_action(engine, 1, 1)
    add_action(engine, 1, 2, "verified")
    with pytest.raises(IntegrityError):  # one number once per case
        add_action(engine, 1, 2)
    with pytest.raises(IntegrityError):
        add_action(engine, 1, 3, "forgotten")
    with pytest.raises(IntegrityError):  # no such case
        add_action(engine, 9, 1)
    add_case(engine, 2, "ussd")
    add_action(engine, 2, 1, "missed")
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA foreign_keys=ON")
        conn.execute(text("DELETE FROM case_events WHERE case_id = 2"))
        conn.execute(text("DELETE FROM cases WHERE id = 2"))
    assert count(engine) == 2  # gone with its case
    engine.dispose()
    downgrade(empty_url, "0015")
    engine = make_engine(empty_url)
    assert "case_actions" not in inspect(engine).get_table_names()
    assert rows(engine) == ([(1, "sms")], 1)
    engine.dispose()
    upgrade(empty_url)
    assert current(empty_url) == _head()
