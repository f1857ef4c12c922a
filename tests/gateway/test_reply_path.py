"""What a USSD hop costs on its reply path: the database only for the report (and for the
language of a number the cache knows nothing of), the language choice in Redis and then
through a job or with the report, routing enqueued on the asyncio client, and a report
whose enqueue failed left for the sweep, never lost."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
import redis
import redis.asyncio as aredis
from fastapi.testclient import TestClient
from rq import Queue
from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from storage.db import utcnow
from storage.keys import load_crypto
from storage.models import Case, NumberPrefs
from storage.privacy import Crypto
from storage.settings import Settings
from tests.conftest import AT_TOKEN
from tests.gateway.conftest import UssdPhone, settle
from tests.gateway.test_ussd import file_report
from workers import queues
from workers.queues import AsyncEnqueuer
from workers.sweep import sweep

NUMBER = "+243812345601"


@pytest.fixture
def phone(app_client: TestClient) -> UssdPhone:
    return UssdPhone(client=app_client, number=NUMBER, token=AT_TOKEN)


@pytest.fixture
def crypto(settings: Settings) -> Crypto:
    return load_crypto(settings)


@pytest.fixture
def statements(app_client: TestClient) -> Iterator[list[str]]:
    """Every SQL statement the app's engines run from now on (on PostgreSQL the webhooks'
    asyncio engine too)."""
    runtime = app_client.app.state.runtime  # type: ignore[attr-defined]
    engines = [runtime.sessions.kw["bind"]]
    if runtime.async_sessions is not None:
        engines.append(runtime.async_sessions.kw["bind"].sync_engine)
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(str(args[2]).lower())

    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    yield seen
    for engine in engines:
        event.remove(engine, "before_cursor_execute", record)


@pytest.fixture
def unreachable(app_client: TestClient) -> Iterator[None]:
    """Enqueues go to a Redis nobody listens on (the hop's own Redis stays up)."""
    runtime = app_client.app.state.runtime  # type: ignore[attr-defined]
    dead = "redis://127.0.0.1:1/0"
    real = runtime.enqueuer
    runtime.enqueuer = AsyncEnqueuer(redis.Redis.from_url(dead), aredis.Redis.from_url(dead))
    yield
    runtime.enqueuer = real


def prefs_of(db: sessionmaker[Session], crypto: Crypto, number: str) -> NumberPrefs | None:
    with db() as session:
        return session.get(NumberPrefs, crypto.pseudonym(number))


def test_choosing_a_language_writes_no_database_row_on_the_hop(
    phone: UssdPhone, statements: list[str]
) -> None:
    phone.dial()
    statements.clear()
    assert "Report a problem" in phone.choose("English")
    assert not [s for s in statements if s.startswith(("insert", "update", "delete"))]


def test_the_choice_reaches_the_database_through_a_job(
    phone: UssdPhone,
    db: sessionmaker[Session],
    crypto: Crypto,
    run_jobs: Callable[[], None],
    redis_client: redis.Redis,
) -> None:
    phone.dial()
    phone.choose("English")
    assert prefs_of(db, crypto, NUMBER) is None
    assert Queue(queues.MAINTENANCE, connection=redis_client).count == 1
    run_jobs()
    found = prefs_of(db, crypto, NUMBER)
    assert found is not None
    assert found.language == "en"


def test_a_never_seen_number_is_read_once_then_the_cache_says_so(
    phone: UssdPhone, statements: list[str]
) -> None:
    phone.dial()
    assert any("number_prefs" in s for s in statements)  # nothing cached yet: asked once
    statements.clear()
    assert "English" in phone.dial()  # still no choice: the cache says so
    assert statements == []


def test_a_choice_is_cached_for_the_next_dial_without_a_database_read(
    phone: UssdPhone, statements: list[str]
) -> None:
    phone.dial()
    phone.choose("English")
    statements.clear()
    assert "Report a problem" in phone.dial()
    assert statements == []


def test_a_choice_whose_job_was_lost_is_stored_with_the_report(
    phone: UssdPhone, db: sessionmaker[Session], crypto: Crypto, unreachable: None
) -> None:
    assert "Report sent" in file_report(phone)
    found = prefs_of(db, crypto, NUMBER)
    assert found is not None
    assert found.language == "en"


def test_a_report_whose_routing_enqueue_failed_is_sent_and_routed_by_the_sweep(
    app_client: TestClient,
    phone: UssdPhone,
    db: sessionmaker[Session],
    redis_client: redis.Redis,
    run_jobs: Callable[[], None],
    unreachable: None,
) -> None:
    """The report is committed before the reply; the enqueue fails beside the hop, the
    caller still reads the case number, and the sweep finds the case unrouted."""
    assert "Report sent" in file_report(phone)
    settle(app_client)
    with db() as session:
        [case] = session.scalars(select(Case)).all()
    assert case.routing_requested_at is None
    assert Queue(queues.ROUTING, connection=redis_client).count == 0
    assert sweep(now=utcnow() + timedelta(minutes=1))["unrouted"] == 1
    run_jobs()
    with db() as session:
        routed = session.get_one(Case, case.id)
    assert routed.routing_requested_at is not None


def test_routing_is_enqueued_for_the_workers(
    app_client: TestClient, phone: UssdPhone, redis_client: redis.Redis
) -> None:
    file_report(phone)
    settle(app_client)
    [job] = Queue(queues.ROUTING, connection=redis_client).jobs
    assert job.func_name == "workers.routing.route_report"
    assert job.retries_left == queues.DEFAULT_RETRY.max
