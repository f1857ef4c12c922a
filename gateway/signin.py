"""Checking a password, shared by the console's sign-in form and the API's token route.

Failed sign-ins are audited and throttled: after `FAILURE_LIMIT` failures within
`FAILURE_WINDOW` seconds for one username, or from one client address, further attempts
are refused until the window ends, whether or not the password is right.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from datetime import datetime

from redis.asyncio import Redis

from gateway.runtime import Runtime
from storage.models import Role
from storage.users import audit, authenticate, is_username

FAILURE_LIMIT = 5
FAILURE_WINDOW = 15 * 60
THROTTLED = "too many failed sign-ins: wait 15 minutes before trying again"
_PREFIX = "sauti:login-failures:"
# The audit actor of an attempt whose username could not be one (too long, odd characters).
MALFORMED_ACTOR = "(malformed username)"


@dataclass(frozen=True, slots=True)
class Outcome:
    """A sign-in attempt's result: the role when the password was right, or why not."""

    role: Role | None
    throttled: bool = False


def _throttle_keys(username: str, ip_hash: str | None) -> list[str]:
    keys = [_PREFIX + "user:" + hashlib.sha256(username.encode()).hexdigest()]
    if ip_hash is not None:
        keys.append(_PREFIX + "ip:" + ip_hash)
    return keys


async def _throttled(redis: Redis, keys: list[str]) -> bool:
    counts = await redis.mget(keys)
    return any(int(count or 0) >= FAILURE_LIMIT for count in counts)


async def _count_failure(redis: Redis, keys: list[str]) -> None:
    async with redis.pipeline(transaction=True) as pipe:
        for key in keys:
            pipe.incr(key)
            pipe.ttl(key)
        results = await pipe.execute()
    # A fixed window: the first failure starts it, later ones do not extend it.
    for key, ttl in zip(keys, results[1::2], strict=True):
        if ttl < 0:
            await redis.expire(key, FAILURE_WINDOW)


def actor_name(username: str) -> str:
    return username if is_username(username) else MALFORMED_ACTOR


def _check(
    runtime: Runtime, username: str, password: str, ip_hash: str | None, now: datetime, via: str
) -> Role | None:
    """Check the password and audit the attempt in one transaction; return the role."""
    with runtime.sessions.begin() as session:
        user = authenticate(session=session, username=username, password=password, now=now)
        action = "auth.login" if user is not None else "auth.login_failed"
        audit(
            session=session,
            actor=actor_name(username),
            action=action,
            now=now,
            ip_hash=ip_hash,
            data={"via": via},
        )
        return None if user is None else Role(user.role)


def _audit_throttled(
    runtime: Runtime, username: str, ip_hash: str | None, now: datetime, via: str
) -> None:
    with runtime.sessions.begin() as session:
        audit(
            session=session,
            actor=actor_name(username),
            action="auth.throttled",
            now=now,
            ip_hash=ip_hash,
            data={"via": via},
        )


async def sign_in(
    runtime: Runtime,
    *,
    username: str,
    password: str,
    ip_hash: str | None,
    now: datetime,
    via: str,
) -> Outcome:
    """Check one attempt against the throttle and the password; audit it either way."""
    keys = _throttle_keys(username, ip_hash)
    if await _throttled(runtime.aredis, keys):
        await runtime.db(_audit_throttled, runtime, username, ip_hash, now, via)
        return Outcome(role=None, throttled=True)
    # Hashing takes tens of milliseconds of CPU: keep it off the event loop.
    role = await asyncio.to_thread(_check, runtime, username, password, ip_hash, now, via)
    if role is None:
        await _count_failure(runtime.aredis, keys)
        return Outcome(role=None)
    await runtime.aredis.delete(keys[0])
    return Outcome(role=role)
