"""Server-side console sessions in Redis.

The browser holds only a random token in an HttpOnly, SameSite=Strict cookie; Redis holds,
under a hash of that token, who signed in, their role, their CSRF token and when they
signed in and were last seen. A session ends after `idle` seconds without a request or
`lifetime` seconds after sign-in, whichever comes first, and at sign-out. Expiry is
checked against the stored times (the Redis TTL only collects what is left behind).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta

from redis.asyncio import Redis

from storage.models import Role

COOKIE = "sauti_console"
_PREFIX = "sauti:console:"
# Flash messages live in the session for the next page only; at most this many.
_MAX_FLASH = 5


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    """One signed-in browser."""

    username: str
    role: Role
    csrf: str
    signed_in_at: str
    seen_at: str
    flash: tuple[tuple[str, str], ...] = ()

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, raw: bytes | str) -> ConsoleSession | None:
        try:
            data = json.loads(raw)
            return cls(
                username=str(data["username"]),
                role=Role(data["role"]),
                csrf=str(data["csrf"]),
                signed_in_at=str(data["signed_in_at"]),
                seen_at=str(data["seen_at"]),
                flash=tuple((str(k), str(t)) for k, t in data.get("flash", ())),
            )
        except (ValueError, KeyError, TypeError):
            return None

    def csrf_matches(self, token: str | None) -> bool:
        return token is not None and hmac.compare_digest(self.csrf, token)


def _key(token: str) -> str:
    return _PREFIX + hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class SessionStore:
    """Creates, reads, refreshes and ends console sessions."""

    redis: Redis
    idle: int
    lifetime: int

    async def create(self, *, username: str, role: Role, now: datetime) -> str:
        """Start a session; return the cookie value."""
        token = secrets.token_urlsafe(32)
        stamp = now.isoformat()
        session = ConsoleSession(
            username=username,
            role=role,
            csrf=secrets.token_urlsafe(32),
            signed_in_at=stamp,
            seen_at=stamp,
        )
        await self.redis.set(_key(token), session.to_json(), ex=self.lifetime)
        return token

    def _expired(self, session: ConsoleSession, now: datetime) -> bool:
        try:
            signed_in = datetime.fromisoformat(session.signed_in_at)
            seen = datetime.fromisoformat(session.seen_at)
        except ValueError:
            return True
        return (
            now - seen > timedelta(seconds=self.idle)
            or now - signed_in > timedelta(seconds=self.lifetime)
            or seen > now + timedelta(minutes=5)
        )

    async def touch(self, token: str | None, now: datetime) -> ConsoleSession | None:
        """The live session of this cookie, marked as seen now; None when none or expired."""
        if not token or len(token) > 128:
            return None
        raw = await self.redis.get(_key(token))
        session = None if raw is None else ConsoleSession.from_json(raw)
        if session is None:
            return None
        if self._expired(session, now):
            await self.redis.delete(_key(token))
            return None
        fresh = replace(session, seen_at=now.isoformat())
        await self.save(token, fresh)
        return fresh

    async def save(self, token: str, session: ConsoleSession) -> None:
        await self.redis.set(_key(token), session.to_json(), ex=self.lifetime, xx=True)

    async def add_flash(self, token: str, session: ConsoleSession, kind: str, text: str) -> None:
        flash = (*session.flash, (kind, text))[-_MAX_FLASH:]
        await self.save(token, replace(session, flash=flash))

    async def pop_flash(self, token: str, session: ConsoleSession) -> tuple[tuple[str, str], ...]:
        if not session.flash:
            return ()
        await self.save(token, replace(session, flash=()))
        return session.flash

    async def end(self, token: str | None) -> None:
        if token:
            await self.redis.delete(_key(token))

    async def end_all_for(self, username: str) -> int:
        """End every session of one user (deactivated, or role changed)."""
        ended = 0
        async for key in self.redis.scan_iter(match=_PREFIX + "*", count=500):
            raw = await self.redis.get(key)
            session = None if raw is None else ConsoleSession.from_json(raw)
            if session is not None and session.username == username:
                ended += await self.redis.delete(key)
        return ended
