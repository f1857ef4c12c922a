"""What a job needs (database, keys, Redis, catalogs, the SMS provider), built once per
worker process."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import cache

import redis
from sqlalchemy.orm import Session, sessionmaker

from flows.i18n import Catalogs, available_languages
from gateway.settings import Settings
from storage import translations
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
    provider: SmsProvider
    rate_limit: RateLimit
    live: LiveCatalogs = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "live", LiveCatalogs(self.settings.languages))

    @property
    def catalogs(self) -> Catalogs:
        """The message catalogs as the console last uploaded them (see LiveCatalogs)."""
        return self.live.get(self.sessions)

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


class LiveCatalogs:
    """Message catalogs with the console's uploads, re-checked at most every
    `CHECK_SECONDS`: a translation uploaded in the console reaches alerts, digests and
    command replies within that time, in every process, without a restart.

    The check is one indexed query (`storage.translations.stamp`); the catalogs are
    parsed again only when an upload is newer than the ones in use.
    """

    CHECK_SECONDS = 30.0

    def __init__(self, languages: tuple[str, ...]) -> None:
        self.languages = languages
        self._catalogs: Catalogs | None = None
        self._stamp: int | None = None
        self._checked = 0.0

    def get(self, sessions: sessionmaker[Session]) -> Catalogs:
        now = time.monotonic()
        if self._catalogs is not None and now - self._checked < self.CHECK_SECONDS:
            return self._catalogs
        with sessions() as session:
            stamp = translations.stamp(session=session)
            if self._catalogs is None or stamp != self._stamp:
                self._catalogs = (
                    message_catalogs(self.languages)
                    if stamp is None
                    else translations.service_catalogs(
                        session=session, languages=[*self.languages, *available_languages()]
                    )
                )
                self._stamp = stamp
        self._checked = now
        return self._catalogs


_live: dict[tuple[str, tuple[str, ...]], LiveCatalogs] = {}


def live_catalogs(sessions: sessionmaker[Session], settings: Settings) -> Catalogs:
    """The catalogs with uploads, for code outside a job (SMS commands in the web process)."""
    key = (settings.db_url, settings.languages)
    found = _live.get(key)
    if found is None:
        found = _live[key] = LiveCatalogs(settings.languages)
    return found.get(sessions)


def build(settings: Settings, *, provider: SmsProvider | None = None) -> WorkerContext:
    connection = redis.Redis.from_url(settings.redis_url)
    sender = provider or providers.build(settings)
    return WorkerContext(
        settings=settings,
        sessions=make_sessionmaker(make_engine(settings.db_url)),
        crypto=load_crypto(settings),
        redis=connection,
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
