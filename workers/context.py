"""What a job needs (database, keys, Redis, catalogs, the senders), built once per worker
process. The senders are handed in by whoever starts the worker (`sauti worker` builds
them from `gateway.channels.registry`), and so are the recorders that fetch spoken answers:
this package knows no provider."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import cache

import redis
from sqlalchemy.orm import Session, sessionmaker

from flows.i18n import Catalogs, available_languages
from storage import redis_connect, translations
from storage.db import make_engine, make_sessionmaker
from storage.keys import load_crypto
from storage.privacy import Crypto
from storage.settings import Settings
from workers.outbound import Sender, Senders
from workers.ratelimit import RateLimit
from workers.recorders import Recorders


@dataclass(frozen=True)
class WorkerContext:
    settings: Settings
    sessions: sessionmaker[Session]
    crypto: Crypto
    redis: redis.Redis
    senders: Senders
    recorders: Recorders = field(default_factory=Recorders)
    live: LiveCatalogs = field(init=False)
    rate_limits: dict[str, RateLimit] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "live", LiveCatalogs(self.settings.languages))
        limits = {
            sender.name: RateLimit(
                self.redis, name=sender.name, per_second=self.settings.sauti_sms_rate
            )
            for sender in self.senders
        }
        object.__setattr__(self, "rate_limits", limits)

    def rate_limit(self, sender: Sender) -> RateLimit:
        """The shared (all workers) rate limit of a sender."""
        return self.rate_limits[sender.name]

    @property
    def catalogs(self) -> Catalogs:
        """The message catalogs as last refreshed by `current()` (see LiveCatalogs)."""
        return self.live.current

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

    `refresh` runs one indexed query (`storage.translations.stamp`) and parses the catalogs
    again only when an upload is newer than the ones in use. It opens its own database
    session, so it is called between transactions (at the start of a job or a command),
    never inside one: on SQLite every transaction takes the write lock. `current` never
    touches the database.
    """

    CHECK_SECONDS = 30.0

    def __init__(self, languages: tuple[str, ...]) -> None:
        self.languages = languages
        self._catalogs: Catalogs | None = None
        self._stamp: int | None = None
        self._checked = 0.0

    @property
    def current(self) -> Catalogs:
        return self._catalogs or message_catalogs(self.languages)

    def refresh(self, sessions: sessionmaker[Session]) -> Catalogs:
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


def live_for(settings: Settings) -> LiveCatalogs:
    """The one LiveCatalogs of this process for a database and a set of languages."""
    key = (settings.db_url, settings.languages)
    found = _live.get(key)
    if found is None:
        found = _live[key] = LiveCatalogs(settings.languages)
    return found


def live_catalogs(sessions: sessionmaker[Session], settings: Settings) -> Catalogs:
    """The catalogs with uploads, refreshed if due: call it outside a transaction."""
    return live_for(settings).refresh(sessions)


def build(
    settings: Settings, *, senders: Senders, recorders: Recorders | None = None
) -> WorkerContext:
    connection = redis_connect.connect(settings.redis_url)
    return WorkerContext(
        settings=settings,
        sessions=make_sessionmaker(make_engine(settings.db_url)),
        crypto=load_crypto(settings),
        redis=connection,
        senders=senders,
        recorders=recorders or Recorders(),
    )


def use(context: WorkerContext | None) -> None:
    """Install the context jobs in this process run with (the worker command and tests)."""
    global _current
    if _current is not None and _current is not context:
        _current.close()
    _current = context


def current() -> WorkerContext:
    """The context of this process; jobs call it first, before any transaction, so this is
    where a newly uploaded translation is picked up."""
    if _current is None:
        raise RuntimeError("no worker context: jobs run under `sauti worker`")
    _current.live.refresh(_current.sessions)
    return _current
