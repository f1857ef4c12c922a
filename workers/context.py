"""What a job needs (database, keys, Redis, catalogs, the SMS provider), built once per
worker process."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import redis
from sqlalchemy.orm import Session, sessionmaker

from flows.i18n import Catalogs, available_languages
from gateway.settings import Settings
from storage.db import make_engine, make_sessionmaker
from storage.keys import load_crypto
from storage.privacy import Crypto
from workers import providers
from workers.providers import SmsProvider
from workers.ratelimit import RateLimit


@dataclass(frozen=True)
class WorkerContext:
    settings: Settings
    sessions: sessionmaker[Session]
    crypto: Crypto
    redis: redis.Redis
    catalogs: Catalogs
    provider: SmsProvider
    rate_limit: RateLimit

    def close(self) -> None:
        bind = self.sessions.kw.get("bind")
        if bind is not None:
            bind.dispose()
        self.redis.close()


_current: WorkerContext | None = None


@cache
def message_catalogs(languages: tuple[str, ...]) -> Catalogs:
    """The catalogs of `languages` and of every language that has one, read once a process:
    focal points read alerts and replies in their own language, which need not be one
    offered to reporters."""
    return Catalogs.load([*languages, *available_languages()])


def build(settings: Settings, *, provider: SmsProvider | None = None) -> WorkerContext:
    connection = redis.Redis.from_url(settings.redis_url)
    sender = provider or providers.build(settings)
    return WorkerContext(
        settings=settings,
        sessions=make_sessionmaker(make_engine(settings.db_url)),
        crypto=load_crypto(settings),
        redis=connection,
        catalogs=message_catalogs(settings.languages),
        provider=sender,
        rate_limit=RateLimit(connection, name=sender.name, per_second=settings.sauti_sms_rate),
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
