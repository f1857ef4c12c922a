"""Queue names, the Redis connection for jobs, and enqueueing with retry defaults."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

import redis
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
