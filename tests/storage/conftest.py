"""Storage fixtures.

Every database test runs on a fresh SQLite file and, when `SAUTI_TEST_DATABASE_URL` is
set, on PostgreSQL as well: a private schema migrated once per run and truncated after
each test, so storage tests never touch what other suites keep in the public schema.
Redis comes from the suite-wide `redis_url`; each test uses its own key prefix.
"""

from __future__ import annotations

import os
import random
import secrets
import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from redis.asyncio import Redis
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from storage.cases import create_report
from storage.db import Base, make_engine, make_sessionmaker
from storage.migrate import upgrade
from storage.models import Case
from storage.privacy import Crypto
from storage.seed import load_demo_if_empty
from storage.sessions import SessionStore

POSTGRES_URL = os.environ.get("SAUTI_TEST_DATABASE_URL", "")
BACKENDS = ["sqlite", "postgresql"] if POSTGRES_URL else ["sqlite"]
PSEUDONYM_KEY = b"storage-tests-pseudonym-key-0123456789"
ENCRYPTION_KEY = "n3ZQzJ6yQ0m2w2rWm9y0cU6f2m5V4k8xS1vJt7cY0aQ="
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test instead of migrating each time."""
    path = tmp_path_factory.mktemp("storage") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A URL whose search path is a fresh schema, migrated once."""
    schema = f"storage_test_{secrets.token_hex(6)}"
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    rendered = url.render_as_string(hide_password=False)
    upgrade(rendered)
    yield rendered
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def _truncate(url: str) -> None:
    engine = make_engine(url)
    tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database: SQLite, then PostgreSQL when configured."""
    if request.param == "sqlite":
        path = tmp_path / "sauti.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    url: str = request.getfixturevalue("postgres_url")
    yield url
    _truncate(url)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with make_sessionmaker(engine)() as session:
        yield session


@pytest.fixture
def engine_sessions(engine: Engine) -> Iterator[tuple[Session, Session]]:
    """Two independent sessions on one database, as two concurrent requests would hold."""
    factory = make_sessionmaker(engine)
    with factory() as first, factory() as second:
        yield first, second


@pytest.fixture
def crypto() -> Crypto:
    return Crypto(PSEUDONYM_KEY, ENCRYPTION_KEY)


@pytest.fixture
def rng() -> random.Random:
    return random.Random(20261126)


@pytest.fixture
def now() -> datetime:
    return NOW


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def async_redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def key_prefix(async_redis: Redis) -> AsyncIterator[str]:
    """A key prefix no other test shares; its keys are deleted afterwards."""
    prefix = f"test-{secrets.token_hex(6)}:"
    yield prefix
    keys = [key async for key in async_redis.scan_iter(match=f"{prefix}*")]
    if keys:
        await async_redis.delete(*keys)


@pytest.fixture
def store(async_redis: Redis, crypto: Crypto, key_prefix: str) -> SessionStore:
    """A store that encrypts what it keeps."""
    return SessionStore(async_redis, crypto=crypto, prefix=key_prefix)


REPORTER_PHONE = "+243990000042"


@pytest.fixture
def demo_places(session: Session) -> None:
    """The demo place tree (DR Congo, Rwanda, Burundi), without committees."""
    load_demo_if_empty(session=session)
    session.flush()


@pytest.fixture
def make_case(
    session: Session, crypto: Crypto, now: datetime, rng: random.Random
) -> Callable[..., Case]:
    """Build a report the way intake does; keywords override the answers."""

    def make(
        *,
        place: str = "cd-nk-walikale-mpama",
        category: str = "illegal_tax",
        danger_now: str = "no",
        contact: str | None = None,
        at: datetime | None = None,
        **answers: str,
    ) -> Case:
        return create_report(
            session=session,
            crypto=crypto,
            pseudonym=crypto.pseudonym(REPORTER_PHONE),
            channel="ussd",
            language="sw",
            answers={
                "category": category,
                "place_code": place,
                "when": "today",
                "danger_now": danger_now,
                "description": "Something happened at the pit",
                "sms_updates": "yes" if contact else "no",
                **answers,
            },
            contact_e164=contact,
            flow_version="v1",
            rng=rng,
            now=at or now,
        )

    return make
