"""What a job needs (database, keys, Redis), built once per worker process."""

from __future__ import annotations

from dataclasses import dataclass

import redis
from sqlalchemy.orm import Session, sessionmaker

from gateway.settings import Settings
from storage.db import make_engine, make_sessionmaker
from storage.keys import load_crypto
from storage.privacy import Crypto


@dataclass(frozen=True)
class WorkerContext:
    settings: Settings
    sessions: sessionmaker[Session]
    crypto: Crypto
    redis: redis.Redis

    def close(self) -> None:
        bind = self.sessions.kw.get("bind")
        if bind is not None:
            bind.dispose()
        self.redis.close()


_current: WorkerContext | None = None


def build(settings: Settings) -> WorkerContext:
    return WorkerContext(
        settings=settings,
        sessions=make_sessionmaker(make_engine(settings.db_url)),
        crypto=load_crypto(settings),
        redis=redis.Redis.from_url(settings.redis_url),
    )


def use(context: WorkerContext | None) -> None:
    """Install the context jobs in this process run with (the worker command and tests)."""
    global _current
    if _current is not None and _current is not context:
        _current.close()
    _current = context


def current() -> WorkerContext:
    global _current
    if _current is None:
        _current = build(Settings())
    return _current
