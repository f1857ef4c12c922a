"""A per-provider send rate limit shared by every worker process, kept in Redis.

Fixed one-second windows: each send takes a slot by incrementing the counter of the
current second; past the limit it waits for the next second. Simple and atomic (INCR),
and a window's burst is bounded by the limit.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import redis

KEY_PREFIX = "sauti:sms-rate"
MAX_WAIT_SECONDS = 30.0


class RateLimit:
    """At most `per_second` sends a second under `name`, across processes."""

    def __init__(self, connection: redis.Redis, *, name: str, per_second: int) -> None:
        if per_second < 1:
            raise ValueError("per_second must be at least 1")
        self.connection = connection
        self.name = name
        self.per_second = per_second

    def try_acquire(self, now: float) -> float:
        """Take a slot in the second of `now`; return 0.0, or how long until the next second."""
        window = int(now)
        key = f"{KEY_PREFIX}:{self.name}:{window}"
        with self.connection.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, 5)
            count, _ = pipe.execute()
        if int(count) <= self.per_second:
            return 0.0
        return window + 1 - now

    def acquire(
        self,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        max_wait: float = MAX_WAIT_SECONDS,
    ) -> bool:
        """Wait for a slot; False when none came within `max_wait` seconds."""
        waited = 0.0
        while (wait := self.try_acquire(clock())) > 0:
            if waited + wait > max_wait:
                return False
            sleep(wait)
            waited += wait
        return True
