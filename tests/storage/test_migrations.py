"""The migrations build exactly the schema the models describe."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

import storage.models  # noqa: F401  (registers every table)
from storage.db import Base, make_engine
from storage.migrate import current, downgrade, make_config, upgrade


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
