"""Delivery statuses that arrive before their message is known.

Twilio may call the status callback for a message before the worker that sent it has
recorded Twilio's id for it (the callback races the commit after the API call). Such a
status is held here, in Redis, under the provider's message id for an hour; the worker
applies whatever is held right after it records the id. The callback holds first and then
looks for the row again, and the worker commits first and then looks here, so in every
order of the two one of them sees the other's write.

A provider message id names no one; nothing else is kept.
"""

from __future__ import annotations

import redis

HOLD_SECONDS = 3600
_PREFIX = "sauti:early-status:"


def hold(client: redis.Redis, provider_id: str, status: str, error_code: str | None) -> None:
    """Keep `status` (and its error code) for `provider_id` until the worker takes it."""
    key = _PREFIX + provider_id
    with client.pipeline(transaction=True) as pipe:
        pipe.hset(key, status, error_code or "")
        pipe.expire(key, HOLD_SECONDS)
        pipe.execute()


def take(client: redis.Redis, provider_id: str) -> list[tuple[str, str | None]]:
    """The statuses held for `provider_id` (status, error code), removed as they are taken."""
    key = _PREFIX + provider_id
    with client.pipeline(transaction=True) as pipe:
        pipe.hgetall(key)
        pipe.delete(key)
        held, _ = pipe.execute()
    return [(s.decode(), e.decode() or None) for s, e in sorted(held.items())]
