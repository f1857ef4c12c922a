"""The webhooks' asyncio engine on PostgreSQL: the same repository functions run on it,
and a pooled connection is pinged only after it sat idle (the PostgreSQL pass)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from storage import db, prefs

pytestmark = pytest.mark.anyio

PSEUDONYM = "b" * 64


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    if not database_url.startswith("postgresql"):
        pytest.skip("the asyncio engine is PostgreSQL's (SQLite runs in the loop)")
    found = db.make_async_engine(database_url)
    yield found
    await found.dispose()


def test_sqlite_has_no_asyncio_engine() -> None:
    with pytest.raises(ValueError, match="PostgreSQL"):
        db.make_async_engine("sqlite:///var/x.db")


async def test_a_repository_function_runs_on_it(engine: AsyncEngine) -> None:
    sessions = db.make_async_sessionmaker(engine)
    now = datetime.now(UTC)
    async with sessions.begin() as session:
        await session.run_sync(
            lambda s: prefs.set_language(session=s, pseudonym=PSEUDONYM, language="sw", now=now)
        )
    async with sessions() as session:
        found = await session.run_sync(lambda s: prefs.get_prefs(session=s, pseudonym=PSEUDONYM))
    assert found is not None
    assert found.language == "sw"


async def test_a_connection_is_pinged_only_after_it_sat_idle(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    pings: list[object] = []
    real = db._ping

    def counted(connection: Any) -> None:
        pings.append(connection)
        real(connection)

    monkeypatch.setattr(db, "_ping", counted)
    async with engine.connect() as conn:  # a new connection: tried first
        await conn.exec_driver_sql("SELECT 2")
    async with engine.connect() as conn:  # back a moment ago: not tried
        await conn.exec_driver_sql("SELECT 3")
    assert len(pings) == 1
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)
    async with engine.connect() as conn:  # idle past the bound: tried again
        await conn.exec_driver_sql("SELECT 4")
    assert len(pings) == 2


async def test_a_dead_pooled_connection_is_replaced_before_use(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with engine.connect() as conn:
        await conn.exec_driver_sql("SELECT 1")
        raw = await conn.get_raw_connection()
        first = raw.driver_connection
    await first.close()  # as a database restart leaves it
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)
    async with engine.connect() as conn:
        assert (await conn.exec_driver_sql("SELECT 5")).scalar() == 5
        raw = await conn.get_raw_connection()
        assert raw.driver_connection is not first
