"""The whole stack as the Procfile runs it, each process a `sauti` command of its own, on this
machine's PostgreSQL (a database of its own, created and dropped here) and Redis (database
7 of the server at 127.0.0.1:6379, or an embedded redis-server when none answers there).

Without PostgreSQL at 127.0.0.1:5432 (or at `SAUTI_STACK_POSTGRES_URL`, a maintenance
database URL of a server where databases may be created) these tests are skipped, unless
`SAUTI_REQUIRE_STACK` is set: then they fail.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import psycopg
import pytest
import redis
from sqlalchemy.engine import make_url

from benchmarks.common import (
    Services,
    free_port,
    fresh_postgres,
    stack_env,
    stack_settings,
    start_stack,
    wait_up,
)
from benchmarks.system import Target
from gateway import embedded_redis
from gateway.release import prepare
from storage.settings import Settings

POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DATABASE_NAME = "sauti_stack"
REDIS_URL = "redis://127.0.0.1:6379/7"
READY_SECONDS = 40


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("SAUTI_REQUIRE_STACK"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture
def stack_database_url() -> Iterator[str]:
    """A new PostgreSQL database, dropped after the test."""
    admin_url = os.environ.get("SAUTI_STACK_POSTGRES_URL") or POSTGRES_ADMIN_URL
    try:
        psycopg.connect(admin_url, connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        where = make_url(admin_url).render_as_string(hide_password=True)
        _unavailable(f"PostgreSQL is not reachable at {where} ({type(exc).__name__})")
    with fresh_postgres(admin_url, DATABASE_NAME) as url:
        yield url


@pytest.fixture
def stack_redis_url(tmp_path: Path) -> Iterator[str]:
    """Database 7 of the machine's Redis, empty before and after; else an embedded server."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.ConnectionError:
        client.close()
        server = embedded_redis.start(tmp_path)
        try:
            yield server.url
        finally:
            server.stop()
        return
    client.flushdb()
    try:
        yield REDIS_URL
    finally:
        client.flushdb()
        client.close()


@dataclass
class Stack:
    services: Services
    settings: Settings
    target: Target


@pytest.fixture
def stack(stack_database_url: str, stack_redis_url: str, tmp_path: Path) -> Iterator[Stack]:
    """Release step, demo data, then web (2 uvicorn workers), one RQ worker and the
    scheduler, up and ready; every process stopped after, whatever happened."""
    env = stack_env(
        home=tmp_path / "home",
        database_url=stack_database_url,
        redis_url=stack_redis_url,
        port=free_port(),
        log_level="INFO",
    )
    services = Services(env, tmp_path / "logs")
    settings = stack_settings(env)
    try:
        services.run("release", "db", "upgrade")
        prepare(settings)
        start_stack(services, web_workers=2, workers=1)
        target = Target.of(env)
        try:
            asyncio.run(wait_up(target.base + "/readyz", timeout=READY_SECONDS))
        except RuntimeError:
            pytest.fail(f"the stack did not become ready:\n{services.log_text()}")
        yield Stack(services, settings, target)
    finally:
        services.stop()
