"""Checking a password, shared by the console's sign-in form and the API's token route.

Failed sign-ins are audited and throttled: after `SAUTI_LOGIN_FAILURES` failures within
`SAUTI_LOGIN_WINDOW` seconds for one username, or from one client address, further
attempts are refused until the window ends, whether or not the password is right.
`FAILURE_LIMIT` and `FAILURE_WINDOW` are those settings' defaults.
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
_PREFIX = "sauti:login-failures:"
# The audit actor of an attempt whose username could not be one (too long, odd characters).
MALFORMED_ACTOR = "(malformed username)"


@dataclass(frozen=True, slots=True)
class Outcome:
    """A sign-in attempt's result: the role when the password was right, or why not."""

    role: Role | None
    throttled: bool = False
    retry_after: int = 0  # when throttled: seconds until the window ends


def _throttle_keys(username: str, ip_hash: str | None) -> list[str]:
    keys = [_PREFIX + "user:" + hashlib.sha256(username.encode()).hexdigest()]
    if ip_hash is not None:
        keys.append(_PREFIX + "ip:" + ip_hash)
    return keys


async def _throttled(redis: Redis, keys: list[str], limit: int) -> int:
    """Seconds until the throttle lifts (0: not throttled)."""
    counts = await redis.mget(keys)
    over = [key for key, count in zip(keys, counts, strict=True) if int(count or 0) >= limit]
    if not over:
        return 0
    return max([1, *[int(await redis.ttl(key)) for key in over]])


async def _count_failure(redis: Redis, keys: list[str], window: int) -> None:
    async with redis.pipeline(transaction=True) as pipe:
        for key in keys:
            pipe.incr(key)
            pipe.ttl(key)
        results = await pipe.execute()
    # A fixed window: the first failure starts it, later ones do not extend it.
    for key, ttl in zip(keys, results[1::2], strict=True):
        if ttl < 0:
            await redis.expire(key, window)


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
    settings = runtime.settings
    keys = _throttle_keys(username, ip_hash)
    wait = await _throttled(runtime.aredis, keys, settings.sauti_login_failures)
    if wait:
        await runtime.db(_audit_throttled, runtime, username, ip_hash, now, via)
        return Outcome(role=None, throttled=True, retry_after=wait)
    # Hashing takes tens of milliseconds of CPU: keep it off the event loop.
    role = await asyncio.to_thread(_check, runtime, username, password, ip_hash, now, via)
    if role is None:
        await _count_failure(runtime.aredis, keys, settings.sauti_login_window)
        return Outcome(role=None)
    await runtime.aredis.delete(keys[0])
    return Outcome(role=role)


def throttled_text(retry_after: int) -> str:
    """What a throttled caller is told: how long to wait, in whole minutes."""
    minutes = max(1, -(-retry_after // 60))
    unit = "minute" if minutes == 1 else "minutes"
    return f"too many failed sign-ins: wait {minutes} {unit} before trying again"
