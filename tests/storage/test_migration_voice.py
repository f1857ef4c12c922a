"""Revision 0012: the voice prompts table, and a case may say it was reported by voice, on
SQLite without rebuilding `cases` and on PostgreSQL; the downgrade files voice reports
under USSD and drops the prompts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from storage.db import make_engine
from storage.migrate import current, downgrade, upgrade
from tests.storage.test_migration_whatsapp_reports import add_case, rows
from tests.storage.test_migrations import _head, empty_url  # noqa: F401

PROMPT = (
    "INSERT INTO voice_prompts (language, file, message_id, context, part, text, source,"
    " status, audio, sha256, duration_ms, loudness_lufs, created_at)"
    " VALUES ('sw', :file, 'Welcome', 'text', 0, 'Karibu', :source, :status, :audio,"
    " :sha, 640, -19.0, :at)"
)
AT = datetime(2026, 12, 10, 9, 0, tzinfo=UTC)


def add_prompt(engine: Engine, file: str, source: str = "tts", status: str = "published") -> None:
    with engine.begin() as conn:
        conn.execute(
            text(PROMPT),
            {
                "file": file,
                "source": source,
                "status": status,
                "audio": b"RIFF",
                "sha": "0" * 64,
                "at": AT,
            },
        )


def test_0012_cases_take_voice_and_prompts_come_and_go(empty_url: str) -> None:  # noqa: F811
    upgrade(empty_url, "0011")
    engine = make_engine(empty_url)
    add_case(engine, 1, "whatsapp")
    with pytest.raises(IntegrityError):
        add_case(engine, 2, "voice")
    assert "voice_prompts" not in inspect(engine).get_table_names()
    engine.dispose()
    upgrade(empty_url)
    assert current(empty_url) == _head()
    engine = make_engine(empty_url)
    assert rows(engine) == ([(1, "whatsapp")], 1)  # nothing lost, no event deleted
    add_case(engine, 2, "voice")
    with pytest.raises(IntegrityError):
        add_case(engine, 3, "Voice")
    add_prompt(engine, "t-0123456789.wav")
    add_prompt(engine, "t-0123456789.wav", source="recorded", status="draft")
    with pytest.raises(IntegrityError):  # one row per (language, file, status)
        add_prompt(engine, "t-0123456789.wav")
    for source, status in (("robot", "published"), ("tts", "live")):
        with pytest.raises(IntegrityError):
            add_prompt(engine, "t-aaaaaaaaaa.wav", source=source, status=status)
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    engine.dispose()
    downgrade(empty_url, "0011")
    engine = make_engine(empty_url)
    assert rows(engine) == ([(1, "whatsapp"), (2, "ussd")], 2)  # filed under USSD
    assert "voice_prompts" not in inspect(engine).get_table_names()
    with pytest.raises(IntegrityError):
        add_case(engine, 3, "voice")
    engine.dispose()
    upgrade(empty_url)
    assert current(empty_url) == _head()
