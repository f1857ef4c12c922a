"""The migrations build exactly the schema the models describe."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

import storage.models  # noqa: F401  (registers every table)
from storage.db import Base, make_engine
from storage.migrate import current, downgrade, make_config, upgrade
from tests.storage.conftest import BACKENDS, POSTGRES_URL


def _head() -> str | None:
    return ScriptDirectory.from_config(make_config("sqlite://")).get_current_head()


def test_models_and_migrations_agree(engine: Engine) -> None:
    """Fails when a model changed without a migration (or the other way round)."""
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_database_is_at_head(db_url: str) -> None:
    assert current(db_url) == _head()


def test_upgrade_twice_is_harmless(db_url: str) -> None:
    upgrade(db_url)
    assert current(db_url) == _head()


def test_downgrade_to_base_and_back(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'round-trip.db'}"
    upgrade(url)
    downgrade(url, "base")
    engine = make_engine(url)
    assert inspect(engine).get_table_names() == ["alembic_version"]
    engine.dispose()
    upgrade(url)
    assert current(url) == _head()


def test_sqlite_connections_have_the_safety_pragmas(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'pragmas.db'}")
    with engine.connect() as conn:
        pragmas = {
            name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "foreign_keys", "secure_delete", "busy_timeout")
        }
    engine.dispose()
    assert pragmas == {
        "journal_mode": "wal",
        "foreign_keys": 1,
        "secure_delete": 1,
        "busy_timeout": 5000,
    }


def test_added_information_keys_move_into_their_own_unique_column(tmp_path: Path) -> None:
    """0007 moves each `info_added` event's submission key out of its JSON data; when one
    key is on several events (the race the column now prevents), the earliest keeps it."""
    url = f"sqlite:///{tmp_path / 'event-keys.db'}"
    upgrade(url, "0006")
    engine = make_engine(url)
    at = "2026-11-27 04:00:00.000000"
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO cases (id, number, category, severity, status, occurred, channel,"
                " language, pseudonym, flow_version, created_at, updated_at) VALUES (1,"
                " '123456789', 'accident', 'high', 'received', 'today', 'ussd', 'en', 'p',"
                " 'v1', :at, :at)"
            ),
            {"at": at},
        )
        for event_id, kind, data in [
            (1, "received", '{"channel": "ussd"}'),
            (2, "info_added", '{"channel": "ussd", "submission": "k1"}'),
            (3, "info_added", '{"channel": "ussd", "submission": "k1"}'),
            (4, "info_added", '{"channel": "sms", "submission": "k2"}'),
            (5, "info_added", '{"channel": "sms"}'),
        ]:
            conn.execute(
                text(
                    "INSERT INTO case_events (id, case_id, at, kind, actor, data)"
                    " VALUES (:id, 1, :at, :kind, 'reporter', :data)"
                ),
                {"id": event_id, "at": at, "kind": kind, "data": data},
            )
    upgrade(url)
    with engine.connect() as conn:
        keys = dict(conn.execute(text("SELECT id, submission_key FROM case_events")).all())
    assert keys == {1: None, 2: "k1", 3: None, 4: "k2", 5: None}
    downgrade(url, "0006")
    with engine.connect() as conn:
        data = dict(conn.execute(text("SELECT id, data FROM case_events")).all())
    engine.dispose()
    assert '"submission": "k1"' in data[2]
    assert '"submission": "k2"' in data[4]


def test_information_added_before_0008_counts_as_told_and_new_kinds_are_allowed(
    tmp_path: Path,
) -> None:
    """0008: upgrading alerts nobody about old added information (it is marked told when it
    was added); the outbox takes the confirmation and info_alert kinds, and downgrading
    removes those rows before the old check comes back."""
    url = f"sqlite:///{tmp_path / 'notified.db'}"
    upgrade(url, "0007")
    engine = make_engine(url)
    at = "2026-11-27 04:00:00.000000"
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO cases (id, number, category, severity, status, occurred, channel,"
                " language, pseudonym, flow_version, created_at, updated_at) VALUES (1,"
                " '123456789', 'accident', 'high', 'received', 'today', 'ussd', 'en', 'p',"
                " 'v1', :at, :at)"
            ),
            {"at": at},
        )
        for event_id, kind in [(1, "received"), (2, "info_added")]:
            conn.execute(
                text(
                    "INSERT INTO case_events (id, case_id, at, kind, actor, data)"
                    " VALUES (:id, 1, :at, :kind, 'reporter', '{}')"
                ),
                {"id": event_id, "at": at, "kind": kind},
            )
    upgrade(url)
    outbox = (
        "INSERT INTO outbox_messages (dedupe_key, recipient_kind, to_pseudonym, body_enc,"
        " language, kind, status, attempts, next_attempt_at, created_at, updated_at) VALUES"
        " (:key, 'reporter', 'p', x'00', 'en', :kind, 'queued', 0, :at, :at, :at)"
    )
    with engine.begin() as conn:
        notified = dict(conn.execute(text("SELECT id, notified_at FROM case_events")).all())
        for kind in ("confirmation", "info_alert", "alert"):
            conn.execute(text(outbox), {"key": kind, "kind": kind, "at": at})
    assert notified == {1: None, 2: at}
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(text(outbox), {"key": "bad", "kind": "postcard", "at": at})
    downgrade(url, "0007")
    with engine.connect() as conn:
        kinds = list(conn.scalars(text("SELECT kind FROM outbox_messages")))
    engine.dispose()
    assert kinds == ["alert"]


@pytest.fixture(params=BACKENDS)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database never migrated: a new SQLite file, then a new PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    schema = f"migration_test_{secrets.token_hex(6)}"
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    yield url.render_as_string(hide_password=False)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def _columns(engine: Engine, table: str) -> set[str]:
    return {column["name"] for column in inspect(engine).get_columns(table)}


def test_0009_members_and_messages_get_a_channel_and_lose_it_on_downgrade(empty_url: str) -> None:
    """0009 on SQLite and PostgreSQL: existing members and messages are 'sms' (the member's
    table is altered in place although the outbox references it), the checks refuse other
    channels, and a downgrade removes the columns and keeps the rows."""
    upgrade(empty_url, "0008")
    engine = make_engine(empty_url)
    at = {"at": datetime(2026, 12, 1, 9, 0, tzinfo=UTC)}
    member = (
        "INSERT INTO committee_members (id, committee_id, name, phone, phone_pseudonym,"
        " language, created_at, updated_at{extra}) VALUES (:id, 1, 'Focal point', :phone, 'p',"
        " 'sw', :at, :at{value})"
    )
    message = (
        "INSERT INTO outbox_messages (dedupe_key, recipient_kind, member_id, to_pseudonym,"
        " body_enc, language, kind, status, attempts, next_attempt_at, created_at,"
        " updated_at{extra}) VALUES (:key, 'member', 1, 'p', :body, 'sw', 'alert', 'queued', 0,"
        " :at, :at, :at{value})"
    )
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
            at,
        )
        conn.execute(text(member.format(extra="", value="")), {**at, "id": 1, "phone": "+1"})
        conn.execute(text(message.format(extra="", value="")), {**at, "key": "old", "body": b"x"})
    upgrade(empty_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT channel FROM committee_members")).all() == [("sms",)]
        assert conn.execute(text("SELECT channel, channel_note FROM outbox_messages")).all() == [
            ("sms", None)
        ]
    channel = {"extra": ", channel", "value": ", :channel"}
    with engine.begin() as conn:
        conn.execute(
            text(member.format(**channel)), {**at, "id": 2, "phone": "+2", "channel": "whatsapp"}
        )
        conn.execute(
            text(message.format(**channel)),
            {**at, "key": "new", "body": b"y", "channel": "whatsapp"},
        )
    for statement, values in (
        (member, {"id": 3, "phone": "+3"}),
        (message, {"key": "bad", "body": b"z"}),
    ):
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(text(statement.format(**channel)), {**at, **values, "channel": "pigeon"})
    downgrade(empty_url, "0008")
    assert "channel" not in _columns(engine, "committee_members")
    assert not {"channel", "channel_note"} & _columns(engine, "outbox_messages")
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM committee_members")) == 2
        assert conn.scalar(text("SELECT count(*) FROM outbox_messages")) == 2
    engine.dispose()
    upgrade(empty_url)
    assert current(empty_url) == _head()


def test_0010_the_outbox_takes_replies_and_drops_them_on_downgrade(empty_url: str) -> None:
    """0010 on SQLite and PostgreSQL: the outbox takes the `reply` kind (answers to an
    inbound SMS sent through the outbox), still refuses unknown kinds and keeps its other
    checks; a downgrade removes the replies before the old check comes back."""
    upgrade(empty_url, "0009")
    engine = make_engine(empty_url)
    at = {"at": datetime(2026, 12, 8, 9, 0, tzinfo=UTC)}
    message = (
        "INSERT INTO outbox_messages (dedupe_key, recipient_kind, to_pseudonym, body_enc,"
        " language, kind, status, attempts, next_attempt_at, created_at, updated_at, channel)"
        " VALUES (:key, 'reporter', 'p', :body, 'en', :kind, 'queued', 0, :at, :at, :at,"
        " :channel)"
    )

    def insert(key: str, kind: str, channel: str = "sms") -> None:
        with engine.begin() as conn:
            conn.execute(
                text(message), {**at, "key": key, "kind": kind, "body": b"x", "channel": channel}
            )

    insert("old", "alert")
    with pytest.raises(IntegrityError):
        insert("early", "reply")
    upgrade(empty_url)
    insert("answer", "reply")
    for key, kind, channel in (("bad", "postcard", "sms"), ("pigeon", "reply", "pigeon")):
        with pytest.raises(IntegrityError):
            insert(key, kind, channel)
    downgrade(empty_url, "0009")
    with engine.connect() as conn:
        assert list(conn.scalars(text("SELECT dedupe_key FROM outbox_messages"))) == ["old"]
    with pytest.raises(IntegrityError):
        insert("again", "reply")
    engine.dispose()
    upgrade(empty_url)
    assert current(empty_url) == _head()
