"""Revision 0013 on SQLite and PostgreSQL: the recordings table, its checks, its link to a
case (gone with the case), and a downgrade that removes it and nothing else."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from storage.db import make_engine
from storage.migrate import current, downgrade, upgrade
from tests.storage.test_migration_whatsapp_reports import add_case
from tests.storage.test_migrations import _head, empty_url  # noqa: F401

AT = datetime(2026, 12, 11, 9, 0, tzinfo=UTC)
RECORDING = (
    "INSERT INTO call_recordings (ref, case_id, provider, provider_id, dedupe_key, url_enc,"
    " status, created_at) VALUES (:ref, :case_id, :provider, NULL, :ref, :url, :status, :at)"
)


def add_recording(
    engine: Engine,
    ref: str,
    *,
    case_id: int | None = None,
    provider: str = "twilio",
    status: str = "pending",
) -> None:
    values = {
        "ref": ref,
        "case_id": case_id,
        "provider": provider,
        "status": status,
        "url": b"ciphertext",
        "at": AT,
    }
    with engine.begin() as conn:
        conn.execute(text(RECORDING), values)


def refs(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.scalars(text("SELECT ref FROM call_recordings ORDER BY id")))


def test_0013_recordings_table_checks_and_link(empty_url: str) -> None:  # noqa: F811
    upgrade(empty_url, "0012")
    engine = make_engine(empty_url)
    assert "call_recordings" not in inspect(engine).get_table_names()
    add_case(engine, 1, "voice")
    engine.dispose()

    upgrade(empty_url)
    assert current(empty_url) == _head()
    engine = make_engine(empty_url)
    columns = {column["name"]: column for column in inspect(engine).get_columns("call_recordings")}
    owner = columns["owner"]  # the caller's pseudonym until a case takes the recording
    assert (owner["nullable"], getattr(owner["type"], "length", None)) == (True, 64)
    add_recording(engine, "aaaaaaaaaaaa", case_id=1)
    add_recording(engine, "bbbbbbbbbbbb", provider="africastalking")
    with pytest.raises(IntegrityError):
        add_recording(engine, "aaaaaaaaaaaa")  # the ref (and the dedupe key) is unique
    with pytest.raises(IntegrityError):
        add_recording(engine, "cccccccccccc", status="lost")
    with pytest.raises(IntegrityError):
        add_recording(engine, "dddddddddddd", provider="fax")
    with pytest.raises(IntegrityError):
        add_recording(engine, "eeeeeeeeeeee", case_id=99)  # no such case
    with engine.connect() as conn:
        attempts, deleted = conn.execute(
            text("SELECT attempts, provider_deleted FROM call_recordings WHERE ref = :r"),
            {"r": "bbbbbbbbbbbb"},
        ).one()
    assert (attempts, bool(deleted)) == (0, False)

    with engine.begin() as conn:  # a case deleted takes its recordings along
        conn.execute(text("DELETE FROM case_events WHERE case_id = 1"))
        conn.execute(text("DELETE FROM cases WHERE id = 1"))
    assert refs(engine) == ["bbbbbbbbbbbb"]
    engine.dispose()

    downgrade(empty_url, "0012")
    engine = make_engine(empty_url)
    assert "call_recordings" not in inspect(engine).get_table_names()
    assert "voice_prompts" in inspect(engine).get_table_names()
    engine.dispose()
    upgrade(empty_url)
    assert current(empty_url) == _head()
