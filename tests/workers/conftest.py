"""Worker fixtures: the jobs' context on the test database and Redis, committees, reports,
and RQ's SimpleWorker to run what was enqueued."""

from __future__ import annotations

import io
import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import redis
from rq import SimpleWorker
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.channels.registry import senders
from storage.cases import create_report
from storage.committees import import_committees_yaml
from storage.models import Case, OutboxMessage
from storage.outbox import message_body, recipient
from storage.seed import load_demo_if_empty
from storage.settings import Settings
from workers import context, queues
from workers.context import WorkerContext
from workers.outbound import Sender, Senders

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
REPORTER = "+243990000042"


def committee_yaml(
    code: str,
    level: str,
    location: str,
    members: list[tuple[str, str]],
    *,
    deadlines: str = "",
    digest_at: str = "18:00",
    categories: str = "all",
) -> str:
    """One committee in the import format; `members` are (phone, language) pairs."""
    lines = [
        f"- code: {code}",
        f"  name: {code} committee",
        f"  level: {level}",
        f"  location: {location}",
        f"  categories: {categories}",
        "  language: sw",
        "  timezone: Africa/Lubumbashi",
        f'  digest_at: "{digest_at}"',
        "  members:",
        *(
            f'    - {{name: Member {phone}, phone: "{phone}", language: {lang}}}'
            for phone, lang in members
        ),
    ]
    if deadlines:
        lines.insert(7, f"  ack_deadlines: {{{deadlines}}}")
    return "\n".join(lines) + "\n"


@pytest.fixture
def provider() -> Sender | None:
    """The SMS provider jobs send with; None for the one settings name (the console)."""
    return None


@pytest.fixture
def ctx(
    settings: Settings, redis_client: redis.Redis, provider: Sender | None
) -> Iterator[WorkerContext]:
    """The context jobs run with, installed for this process."""
    chosen = senders(settings) if provider is None else Senders.only(provider)
    built = context.build(settings, senders=chosen)
    context.use(built)
    yield built
    context.use(None)


@pytest.fixture
def run_jobs(ctx: WorkerContext, redis_client: redis.Redis) -> Callable[[], None]:
    """Run every queued job to completion (RQ's SimpleWorker in burst mode)."""

    def run() -> None:
        names = [queues.queue(n, connection=redis_client) for n in queues.ALL]
        SimpleWorker(names, connection=redis_client).work(burst=True)

    return run


@pytest.fixture
def places(ctx: WorkerContext) -> None:
    """The demo place tree, without committees."""
    with ctx.sessions.begin() as session:
        load_demo_if_empty(session=session)


@pytest.fixture
def add_committees(ctx: WorkerContext, places: None) -> Callable[[str], None]:
    def add(text: str) -> None:
        with ctx.sessions.begin() as session:
            import_committees_yaml(
                session=session, crypto=ctx.crypto, source=io.StringIO(text), now=NOW
            )

    return add


@pytest.fixture
def make_case(ctx: WorkerContext, places: None) -> Callable[..., Case]:
    """Commit a report the way intake does; keywords override the answers."""
    rng = random.Random(3)

    def make(
        *,
        place: str = "cd-nk-walikale-mpama",
        category: str = "illegal_tax",
        at: datetime = NOW,
        contact: str | None = None,
        language: str = "en",
        **answers: str,
    ) -> Case:
        with ctx.sessions.begin() as session:
            return create_report(
                session=session,
                crypto=ctx.crypto,
                pseudonym=ctx.crypto.pseudonym(REPORTER),
                channel="ussd",
                language=language,
                answers={
                    "category": category,
                    "place_code": place,
                    "when": "today",
                    "danger_now": "no",
                    "description": "Soldiers take 2000 francs from every digger at the barrier",
                    "sms_updates": "yes" if contact else "no",
                    **answers,
                },
                contact_e164=contact,
                flow_version="v1",
                rng=rng,
                now=at,
            )

    return make


@dataclass(frozen=True)
class Sms:
    """An outbox row as the tests look at it: in clear."""

    id: int
    to: str | None
    body: str
    kind: str
    status: str
    language: str
    dedupe_key: str
    attempts: int
    row: OutboxMessage


def outbox_rows(ctx: WorkerContext, **filters: Any) -> list[Sms]:
    with ctx.sessions() as session:
        query = select(OutboxMessage).filter_by(**filters).order_by(OutboxMessage.id)
        return [_sms(ctx, session, row) for row in session.scalars(query)]


def _sms(ctx: WorkerContext, session: Session, row: OutboxMessage) -> Sms:
    return Sms(
        id=row.id,
        to=recipient(crypto=ctx.crypto, message=row),
        body=message_body(crypto=ctx.crypto, message=row),
        kind=row.kind,
        status=row.status,
        language=row.language,
        dedupe_key=row.dedupe_key,
        attempts=row.attempts,
        row=row,
    )


def console_lines(path: Path) -> list[dict[str, str]]:
    """What the console provider sent, one dict per SMS."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]
