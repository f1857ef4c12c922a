"""Everything a request needs, built once when the app starts."""

from __future__ import annotations

import asyncio
import logging
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import redis
import redis.asyncio as aredis
from redis.asyncio import Redis as AsyncRedis
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session, sessionmaker

from flows.engine import Bundle
from flows.i18n import Catalogs
from flows.loader import load_bundle, shipped_bundle
from gateway.metrics import Metrics
from gateway.phones import Pseudonyms
from gateway.prompts.index import PromptIndex
from gateway.prompts.needed import Sources
from storage import flowstore, redis_connect, translations
from storage.db import make_async_engine, make_async_sessionmaker, make_engine, make_sessionmaker
from storage.keys import load_crypto
from storage.places import PlaceTree
from storage.privacy import Crypto
from storage.sessions import SessionStore
from storage.settings import Settings
from workers.queues import AsyncEnqueuer

log = logging.getLogger(__name__)

REFRESH_SECONDS = 10.0
# A hop costs a couple of Redis round trips of well under a millisecond; a Redis that has
# not answered in this long is treated as down, so the caller gets the apology screen
# before the USSD gateway gives up on the hop.
REDIS_TIMEOUT_SECONDS = 2.0
# The conversation's own client has no timeout on each read: the whole hop (its Redis
# read and write, any database work) runs within this, and past it the caller gets the
# apology screen, still within the USSD gateway's deadline.
HOP_TIMEOUT_SECONDS = 3.0
PLACES_REFRESH_SECONDS = 60.0
# Connections the webhooks' asyncio engine keeps open (PostgreSQL): enough for every hop a
# busy process has in flight to find one waiting, since one opened per transaction beyond
# the pool costs more than the transaction.
ASYNC_POOL_SIZE = 16
ASYNC_POOL_OVERFLOW = 16
T = TypeVar("T")


@dataclass
class Runtime:
    """Long-lived services; the only mutable parts are the caches refreshed in the background.

    `aredis` (with a timeout on every read) serves the console and the other webhooks;
    `hop_redis` serves the conversation alone, each hop within HOP_TIMEOUT_SECONDS.
    `async_sessions` is set on PostgreSQL: the webhooks' transactions run on it.
    """

    settings: Settings
    crypto: Crypto
    sessions: sessionmaker[Session]
    redis: redis.Redis
    aredis: aredis.Redis
    hop_redis: AsyncRedis
    enqueuer: AsyncEnqueuer
    store: SessionStore
    catalogs: Catalogs
    metrics: Metrics
    places: PlaceTree
    bundle: Bundle
    pseudonyms: Pseudonyms
    bundles: dict[str, Bundle] = field(default_factory=dict)
    voice_prompts: PromptIndex = field(default_factory=PromptIndex)
    rng: random.Random = field(default_factory=random.SystemRandom)
    inline_db: bool = False
    async_sessions: async_sessionmaker[AsyncSession] | None = None
    places_loaded_at: float = 0.0
    catalogs_stamp: int | None = None

    async def db(self, func: Callable[..., T], /, *args: Any) -> T:
        """Run a short database call from a coroutine.

        On SQLite (a local file, one writer at a time) the call runs right here: it takes
        about a millisecond, less than handing it to a thread and back, and threads would
        only queue for the file lock. Over the network (PostgreSQL) it runs in a thread so
        the event loop keeps answering other hops meanwhile.
        """
        if self.inline_db:
            return func(*args)
        return await asyncio.to_thread(func, *args)

    async def transaction(self, func: Callable[..., T], /, *args: Any) -> T:
        """Run `func(session, *args)` in one transaction (committed when it returns).

        On SQLite it runs right here, as `db` does. On PostgreSQL the same function runs
        on an asyncio connection (`AsyncSession.run_sync`): no thread, and the event loop
        answers other hops while PostgreSQL works.
        """
        if self.async_sessions is not None:
            async with self.async_sessions.begin() as session:
                return await session.run_sync(func, *args)
        if self.inline_db:
            return self._in_transaction(func, *args)
        return await asyncio.to_thread(self._in_transaction, func, *args)

    def _in_transaction(self, func: Callable[..., T], /, *args: Any) -> T:
        with self.sessions.begin() as session:
            return func(session, *args)

    def bundle_for(self, version: str) -> Bundle | None:
        """The compiled bundle a session is pinned to, if this process knows it."""
        return self.bundles.get(version)

    async def load_bundle_version(self, version: str) -> Bundle | None:
        def fetch() -> Bundle | None:
            with self.sessions() as session:
                row = flowstore.bundle_by_version(session=session, version=version)
                return load_bundle(row.texts) if row is not None else None

        bundle = await asyncio.to_thread(fetch)
        if bundle is not None:
            self.bundles[bundle.version] = bundle
        return bundle

    async def refresh(self) -> None:
        """Pick up a newly published bundle, uploaded catalogs, published voice prompts and,
        every minute, newly imported places.

        Compiling flows and loading the place tree cost far more than a hop, so each is done
        only when it may have changed: the bundle when its published version differs, the
        catalogs when the newest upload differs.
        """
        places_due = time.monotonic() - self.places_loaded_at >= PLACES_REFRESH_SECONDS
        bundle, places, catalogs = await self.db(self._read_current, places_due)
        self.bundles.setdefault(bundle.version, bundle)
        self.bundle = self.bundles[bundle.version]
        if places is not None:
            self.places = places
            self.places_loaded_at = time.monotonic()
        if catalogs is not None:
            self.catalogs, self.catalogs_stamp = catalogs
        await asyncio.to_thread(self.refresh_prompts)

    def refresh_prompts(self) -> bool:
        """Bring `voice_prompts` up to date: one aggregate that reads no audio, and what is
        published read again only when that changed (`PromptIndex.refresh`). The refresh
        loop runs it in a thread even on SQLite, since a reload reads every prompt's row."""
        with self.sessions() as session:
            sources = Sources(self.bundle, self.catalogs, self.places)
            return self.voice_prompts.refresh(session, sources)

    def _read_current(
        self, places_due: bool
    ) -> tuple[Bundle, PlaceTree | None, tuple[Catalogs, int | None] | None]:
        with self.sessions() as session:
            version = flowstore.published_version(session=session)
            bundle = self.bundles.get(version or "") or current_bundle(session)
            stamp = translations.stamp(session=session)
            catalogs = None
            if stamp != self.catalogs_stamp:
                found = translations.service_catalogs(
                    session=session, languages=self.settings.languages
                )
                catalogs = (found, stamp)
            return bundle, PlaceTree.load(session) if places_due else None, catalogs

    async def close(self) -> None:
        await self.aredis.aclose()
        await self.hop_redis.aclose()
        self.redis.close()
        if self.async_sessions is not None:
            bind = self.async_sessions.kw.get("bind")
            if bind is not None:
                await bind.dispose()
        bind = self.sessions.kw.get("bind")
        if bind is not None:
            bind.dispose()


def current_bundle(session: Session) -> Bundle:
    row = flowstore.published_bundle(session=session)
    return load_bundle(row.texts) if row is not None else shipped_bundle()


def _pool_options(url: str) -> dict[str, int]:
    """SQLite takes one writer at a time: a single pooled connection makes this process's
    threads queue for it in order, instead of polling SQLite's lock with sleeps."""
    return {"pool_size": 1, "max_overflow": 0} if url.startswith("sqlite") else {}


def _async_sessions(url: str) -> async_sessionmaker[AsyncSession] | None:
    """The webhooks' asyncio sessions on PostgreSQL; None on SQLite (it runs in the loop)."""
    if url.startswith("sqlite"):
        return None
    engine = make_async_engine(url, pool_size=ASYNC_POOL_SIZE, max_overflow=ASYNC_POOL_OVERFLOW)
    return make_async_sessionmaker(engine)


def _share_the_interpreter() -> None:
    """Hand the GIL over more often than the default 5 ms.

    Database calls run in threads while the event loop answers hops; with the default
    interval a short query waits whole intervals for the lock behind a busy loop.
    """
    sys.setswitchinterval(0.0005)


def build_runtime(settings: Settings) -> Runtime:
    """Connect to the database and Redis named by `settings` (REDIS_URL must be resolved)."""
    _share_the_interpreter()
    sessions = make_sessionmaker(make_engine(settings.db_url, **_pool_options(settings.db_url)))
    try:
        with sessions() as session:
            bundle = current_bundle(session)
            places = PlaceTree.load(session)
            catalogs = translations.service_catalogs(session=session, languages=settings.languages)
            stamp = translations.stamp(session=session)
    except DBAPIError as exc:
        raise RuntimeError(
            f"cannot read the database ({type(exc.orig).__name__}): "
            "is it reachable, and migrated with `sauti db upgrade`?"
        ) from exc
    timeout = REDIS_TIMEOUT_SECONDS
    async_redis = redis_connect.connect_async(
        settings.redis_url, socket_timeout=timeout, socket_connect_timeout=timeout
    )
    hop_redis = redis_connect.connect_async(
        settings.redis_url, checked=False, socket_connect_timeout=timeout
    )
    sync_redis = redis_connect.connect(
        settings.redis_url, socket_timeout=timeout, socket_connect_timeout=timeout
    )
    crypto = load_crypto(settings)
    runtime = Runtime(
        settings=settings,
        crypto=crypto,
        sessions=sessions,
        redis=sync_redis,
        aredis=async_redis,
        hop_redis=hop_redis,
        enqueuer=AsyncEnqueuer(sync_redis, hop_redis),
        store=SessionStore(async_redis, crypto=crypto),
        catalogs=catalogs,
        catalogs_stamp=stamp,
        metrics=Metrics(),
        places=places,
        bundle=bundle,
        pseudonyms=Pseudonyms(crypto, default_region=settings.sauti_default_region),
        inline_db=settings.db_url.startswith("sqlite"),
        async_sessions=_async_sessions(settings.db_url),
        bundles={bundle.version: bundle},
        places_loaded_at=time.monotonic(),
        voice_prompts=PromptIndex(settings.voice_fallback, sessions),
    )
    runtime.refresh_prompts()
    return runtime
