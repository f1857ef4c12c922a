"""Revision 0014: committees get first-action and closing deadlines (the defaults for those
that exist), cases get an ITSCI level (filled in by the rule for existing cases, the check
refusing anything but 1, 2, 3), on SQLite without rebuilding `cases` and on PostgreSQL; the
downgrade drops the columns and keeps every row."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from storage.db import make_engine
from storage.migrate import current, downgrade, upgrade
from tests.storage.test_migrations import _columns, _head, empty_url  # noqa: F401

AT = {"at": datetime(2026, 12, 12, 9, 0, tzinfo=UTC)}
CASE = (
    "INSERT INTO cases (id, number, category, severity, status, occurred, danger_now, channel,"
    " language, pseudonym, consent_updates, is_test, flow_version, created_at, updated_at"
    "{extra}) VALUES (:id, :number, :category, 'high', 'received', 'today', :danger, 'ussd',"
    " 'sw', 'p', false, false, 'v1', :at, :at{value})"
)
EXISTING = [  # (category, danger now) -> level
    ("sexual_violence", False, 1),
    ("child_labour", False, 1),
    ("violence", False, 1),
    ("accident", True, 1),
    ("accident", False, 2),
    ("illegal_tax", False, 2),
    ("mineral_fraud", False, 2),
    ("ohs_hazard", True, 2),
    ("ohs_hazard", False, 3),
    ("other", True, 3),
    ("other", False, 3),
]


def add_case(
    engine: Engine, case_id: int, category: str, danger: bool, level: int | None = None
) -> None:
    extra = {"extra": "", "value": ""} if level is None else {"extra": ", itsci_level"}
    extra.setdefault("value", ", :level")
    with engine.begin() as conn:
        conn.execute(
            text(CASE.format(**extra)),
            {
                **AT,
                "id": case_id,
                "number": f"{case_id:010d}",
                "category": category,
                "danger": danger,
                "level": level,
            },
        )
        conn.execute(
            text(
                "INSERT INTO case_events (case_id, at, kind, actor, data) VALUES"
                " (:id, :at, 'received', 'reporter', '{}')"
            ),
            {**AT, "id": case_id},
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
            AT,
        )


def _json(value: object) -> object:
    return json.loads(value) if isinstance(value, str) else value


def test_0014_deadlines_and_levels_come_and_go(empty_url: str) -> None:  # noqa: F811
    upgrade(empty_url, "0013")
    engine = make_engine(empty_url)
    add_committee(engine)
    for number, (category, danger, _) in enumerate(EXISTING, start=1):
        add_case(engine, number, category, danger)
    engine.dispose()
    upgrade(empty_url)
    assert current(empty_url) == _head()
    engine = make_engine(empty_url)
    with engine.connect() as conn:
        levels = conn.execute(text("SELECT itsci_level FROM cases ORDER BY id")).scalars().all()
        action, close = conn.execute(
            text("SELECT action_deadlines, close_deadlines FROM committees")
        ).one()
        events = conn.scalar(text("SELECT count(*) FROM case_events"))
    assert levels == [level for _, _, level in EXISTING]
    assert events == len(EXISTING)  # nothing deleted by cascade
    day = 86400
    assert _json(action) == {
        "critical": 2 * day,
        "high": 7 * day,
        "medium": 14 * day,
        "low": 30 * day,
    }
    assert _json(close) == {
        "critical": 7 * day,
        "high": 30 * day,
        "medium": 60 * day,
        "low": 90 * day,
    }
    add_case(engine, 50, "other", False, level=1)
    add_case(engine, 51, "other", False)  # the column's default
    for bad in (0, 4):
        with pytest.raises(IntegrityError):
            add_case(engine, 52, "other", False, level=bad)
    with engine.connect() as conn:
        assert conn.execute(
            text("SELECT itsci_level FROM cases WHERE id IN (50, 51) ORDER BY id")
        ).scalars().all() == [1, 3]
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    engine.dispose()
    downgrade(empty_url, "0013")
    engine = make_engine(empty_url)
    assert "itsci_level" not in _columns(engine, "cases")
    assert not {"action_deadlines", "close_deadlines"} & _columns(engine, "committees")
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM cases")) == len(EXISTING) + 2
        assert conn.scalar(text("SELECT count(*) FROM case_events")) == len(EXISTING) + 2
        assert conn.scalar(text("SELECT count(*) FROM committees")) == 1
    engine.dispose()
    upgrade(empty_url)
    assert current(empty_url) == _head()
