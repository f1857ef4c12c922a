"""Engines, sessions and the declarative base shared by every model."""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import CheckConstraint, Connection, DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

# Stable constraint names, so migrations can refer to them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SQLITE_BUSY_TIMEOUT_MS = 5000
# An asyncio connection back from the pool is tried first only when it sat idle this long:
# one that served a hop a moment ago is alive, and a ping is a round trip of its own.
PING_AFTER_IDLE_SECONDS = 1.0


class Base(DeclarativeBase):
    """Declarative base; every table hangs off this metadata."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python.

    SQLite keeps no offset, so values are stored as UTC and marked UTC on the way back.
    Naive datetimes are refused: a wall-clock time of unknown zone is a bug.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where UTC is required")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    """Return the current time, timezone-aware UTC."""
    return datetime.now(UTC)


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # The sqlite3 module opens transactions lazily and breaks SAVEPOINT; let SQLAlchemy
    # emit BEGIN itself (see _sqlite_begin) so transactions and savepoints behave.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        # Overwrite deleted content so erased ciphertext does not linger in free pages.
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    # IMMEDIATE takes the write lock up front, so concurrent writers queue on busy_timeout
    # instead of failing at once when a read transaction tries to become a write one.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine for a SQLite or PostgreSQL URL with the project's connection settings."""
    # Errors never quote bound parameters: they can hold personal text, and errors get logged.
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(_psycopg(url), **kwargs)


def _psycopg(url: str) -> str:
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def make_async_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An asyncio engine (psycopg 3's own asyncio connections) for a PostgreSQL URL.

    The webhooks' database work runs on it: waiting on PostgreSQL is waiting on the event
    loop, not a thread queueing for the interpreter lock behind the loop. The SQL is the
    same: `AsyncSession.run_sync` runs the repositories' synchronous functions on it. A
    pooled connection is pinged only after PING_AFTER_IDLE_SECONDS idle, not on every
    checkout.
    """
    if not url.startswith("postgresql"):
        raise ValueError("the asyncio engine is for PostgreSQL (SQLite runs in the loop)")
    kwargs.setdefault("hide_parameters", True)
    engine = create_async_engine(_psycopg(url), **kwargs)
    event.listen(engine.sync_engine, "checkin", _idle_since)
    event.listen(engine.sync_engine, "checkout", _ping_if_idle)
    return engine


def _idle_since(_dbapi_connection: Any, record: Any) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """Try a connection that sat idle (a database restarted meanwhile leaves it dead); a
    dead one is replaced by a new connection before anything runs on it."""
    since = record.info.get("idle_since")
    if since is not None and time.monotonic() - since < PING_AFTER_IDLE_SECONDS:
        return
    try:
        _ping(dbapi_connection)
    except Exception as exc:
        raise DisconnectionError("the pooled connection did not answer") from exc


def _ping(dbapi_connection: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("SELECT 1")
    finally:
        cursor.close()


def make_async_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """The asyncio twin of `make_sessionmaker`."""
    return async_sessionmaker(bind=engine, expire_on_commit=False)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Return a session factory whose objects stay readable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def one_of(column: str, values: Iterable[str]) -> CheckConstraint:
    """Constrain a string column to a fixed vocabulary; the constraint is named after the column."""
    allowed = ", ".join(f"'{value}'" for value in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=column)


def expire_loaded(session: Session, model: type[Any]) -> None:
    """Expire the loaded objects of `model` after a bulk UPDATE changed rows behind them.

    Bulk UPDATEs here are conditional claims (`WHERE status = ...`); the session flushed
    before running them, so expiring loses nothing and the next access reads the row.
    """
    for instance in list(session.identity_map.values()):
        if isinstance(instance, model):
            session.expire(instance)
