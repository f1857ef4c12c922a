"""`POST /api/v1/auth/token`: a username and password for a bearer token.

Failed logins are audited and throttled: after `FAILURE_LIMIT` failures within
`FAILURE_WINDOW` seconds for one username, or from one client address, further attempts
get 429 until the window ends, whether or not the password is right.
"""

from __future__ import annotations

import asyncio
import hashlib
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel
from redis.asyncio import Redis

from gateway.api.deps import ApiKeysDep, client_ip, unauthorized
from gateway.api.tokens import issue_token
from gateway.deps import RuntimeDep
from gateway.runtime import Runtime
from storage.db import utcnow
from storage.users import audit, authenticate, hash_ip, is_username

FAILURE_LIMIT = 5
FAILURE_WINDOW = 15 * 60
_PREFIX = "sauti:login-failures:"
# The audit actor of an attempt whose username could not be one (too long, odd characters).
MALFORMED_ACTOR = "(malformed username)"

router = APIRouter(tags=["auth"])


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105  (the OAuth2 token type, not a secret)


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


def _login(
    runtime: Runtime, username: str, password: str, ip_hash: str | None, now: datetime
) -> str | None:
    """Check the password and audit the attempt in one transaction; return the role."""
    with runtime.sessions.begin() as session:
        user = authenticate(session=session, username=username, password=password, now=now)
        action = "auth.login" if user is not None else "auth.login_failed"
        audit(session=session, actor=_actor(username), action=action, now=now, ip_hash=ip_hash)
        return None if user is None else user.role


def _actor(username: str) -> str:
    return username if is_username(username) else MALFORMED_ACTOR


def _audit_throttled(runtime: Runtime, username: str, ip_hash: str | None, now: datetime) -> None:
    with runtime.sessions.begin() as session:
        audit(
            session=session,
            actor=_actor(username),
            action="auth.throttled",
            now=now,
            ip_hash=ip_hash,
        )


@router.post("/auth/token")
async def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    request: Request,
    runtime: RuntimeDep,
    keys: ApiKeysDep,
) -> Token:
    """Exchange a username and password for a bearer token valid for eight hours."""
    now = utcnow()
    ip_hash = hash_ip(key=keys.address, ip=client_ip(request))
    throttle = _throttle_keys(form.username, ip_hash)
    if await _throttled(runtime.aredis, throttle):
        await runtime.db(_audit_throttled, runtime, form.username, ip_hash, now)
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            detail="too many failed sign-ins: wait 15 minutes before trying again",
            headers={"Retry-After": str(FAILURE_WINDOW)},
        )
    # Hashing takes tens of milliseconds of CPU: keep it off the event loop.
    role = await asyncio.to_thread(_login, runtime, form.username, form.password, ip_hash, now)
    if role is None:
        await _count_failure(runtime.aredis, throttle)
        raise unauthorized("wrong username or password")
    await runtime.aredis.delete(throttle[0])
    return Token(
        access_token=issue_token(key=keys.signing, username=form.username, role=role, now=now)
    )
