"""Queue names, the Redis connection for jobs, and enqueueing with retry defaults."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

import redis
import redis.asyncio as aredis
from rq import Queue, Retry

log = logging.getLogger(__name__)

ROUTING = "routing"
SMS = "sms"
MAINTENANCE = "maintenance"
ALL = (ROUTING, SMS, MAINTENANCE)

DEFAULT_RETRY = Retry(max=5, interval=[5, 15, 60, 300, 900])


def queue(name: str, *, connection: redis.Redis) -> Queue:
    return Queue(name, connection=connection)


def enqueue(
    name: str,
    func: Callable[..., Any],
    *args: Any,
    connection: redis.Redis,
    job_id: str | None = None,
) -> bool:
    """Enqueue a job by its ids; False (logged, not raised) when Redis is out of reach.

    Callers commit their rows before enqueueing, and the sweep finds any row whose job never
    made it, so a failed enqueue delays work but loses none.
    """
    try:
        queue(name, connection=connection).enqueue(
            func, *args, job_id=job_id, retry=DEFAULT_RETRY, result_ttl=3600, failure_ttl=7 * 86400
        )
    except redis.RedisError as exc:
        log.warning("enqueue %s on %s failed: %s", func.__name__, name, type(exc).__name__)
        return False
    return True


class AsyncEnqueuer:
    """Enqueue jobs from a coroutine, in one round trip of the asyncio Redis client.

    RQ has no asyncio client: the job is built and its writes staged by RQ on an unsent
    pipeline of the plain client (no command goes out), then sent on the asyncio client
    as one transaction, so the job a worker reads is the one `enqueue` would have made.
    """

    def __init__(self, connection: redis.Redis, aconnection: aredis.Redis) -> None:
        self._connection = connection
        self._aconnection = aconnection
        self._version: tuple[int, int, int] | None = None

    async def enqueue(self, name: str, func: Callable[..., Any], *args: Any) -> bool:
        """Enqueue as `enqueue` does; False (logged, not raised) when Redis is out of reach."""
        try:
            await self._send(name, func, args)
        except redis.RedisError as exc:
            log.warning("enqueue %s on %s failed: %s", func.__name__, name, type(exc).__name__)
            return False
        return True

    async def _send(self, name: str, func: Callable[..., Any], args: tuple[Any, ...]) -> None:
        if self._version is None:
            found = str((await self._aconnection.info("server"))["redis_version"])
            major, minor, patch = (int(part) for part in [*found.split("."), "0", "0"][:3])
            self._version = (major, minor, patch)
        queued = Queue(name, connection=self._connection)
        queued.redis_server_version = self._version
        job = queued.create_job(
            func, args=args, retry=DEFAULT_RETRY, result_ttl=3600, failure_ttl=7 * 86400
        )
        staged = self._connection.pipeline(transaction=True)
        queued.enqueue_job(job, pipeline=staged)
        async with self._aconnection.pipeline(transaction=True) as pipe:
            for command, options in staged.command_stack:
                pipe.execute_command(*command, **options)
            await pipe.execute()
        staged.reset()


def enqueue_at(
    when: datetime, name: str, func: Callable[..., Any], *args: Any, connection: redis.Redis
) -> bool:
    """Enqueue a job to run at `when` (a worker's scheduler moves it to its queue then);
    False (logged, not raised) when Redis is out of reach. The sweep is the safety net."""
    try:
        queue(name, connection=connection).enqueue_at(
            when, func, *args, result_ttl=3600, failure_ttl=7 * 86400
        )
    except redis.RedisError as exc:
        log.warning("enqueue_at %s on %s failed: %s", func.__name__, name, type(exc).__name__)
        return False
    return True
