"""Bearer tokens for the JSON API: signed (HMAC-SHA256), carrying a username and a role,
valid for eight hours.

The clock is passed in (`now`) so expiry can be tested without waiting.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import jwt
from fastapi import Request

from gateway.deps import RuntimeDep
from storage.models import Role
from storage.settings import Settings

TOKEN_LIFETIME = timedelta(hours=8)
ALGORITHM = "HS256"
API_KEY_FILE = "api.key"
_DERIVATION_LABEL = b"sauti api token signing key"


@dataclass(frozen=True, slots=True)
class Claims:
    """Who a valid token speaks for."""

    username: str
    role: Role


@dataclass(frozen=True, slots=True, repr=False)
class ApiKeys:
    """The token signing key and the key that hashes client addresses."""

    signing: bytes
    address: bytes


def _key_file(path: Path) -> bytes:
    """Read the random key under the var directory, creating it (0600) on first use."""
    if not path.exists():
        temp = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32) + "\n")
        try:
            # link() fails if the name exists, so a concurrent first start keeps one key.
            os.link(temp, path)
        except FileExistsError:
            pass
        finally:
            temp.unlink(missing_ok=True)
    return bytes.fromhex(path.read_text().strip())


def load_api_keys(settings: Settings) -> ApiKeys:
    """Derive the keys from SAUTI_ENCRYPTION_KEY, else from a random `var/api.key`."""
    if settings.sauti_encryption_key:
        root = hmac.new(
            settings.sauti_encryption_key.encode(), _DERIVATION_LABEL, hashlib.sha256
        ).digest()
    else:
        root = _key_file(settings.var_dir / API_KEY_FILE)
    return ApiKeys(
        signing=hmac.new(root, b"tokens", hashlib.sha256).digest(),
        address=hmac.new(root, b"addresses", hashlib.sha256).digest(),
    )


def issue_token(*, key: bytes, username: str, role: str, now: datetime) -> str:
    """Return a token for `username` with `role`, expiring `TOKEN_LIFETIME` after `now`."""
    payload = {
        "sub": username,
        "role": role,
        "iat": int(now.timestamp()),
        "exp": int((now + TOKEN_LIFETIME).timestamp()),
    }
    return jwt.encode(payload, key, algorithm=ALGORITHM)


def read_token(*, key: bytes, token: str, now: datetime) -> Claims | None:
    """Return the claims of a token signed with `key` and not expired at `now`, else None."""
    try:
        payload = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            options={"verify_exp": False, "verify_iat": False, "require": ["exp", "sub"]},
        )
    except jwt.PyJWTError:
        return None
    exp, username, role = payload.get("exp"), payload.get("sub"), payload.get("role")
    if not isinstance(exp, int) or exp <= now.timestamp():
        return None
    if not isinstance(username, str) or role not in set(Role):
        return None
    return Claims(username=username, role=Role(role))


async def get_api_keys(request: Request, runtime: RuntimeDep) -> ApiKeys:
    """The process's keys, loaded once per app (a dependency of console and API routes)."""
    keys: ApiKeys | None = getattr(request.app.state, "api_keys", None)
    if keys is None:
        keys = load_api_keys(runtime.settings)
        request.app.state.api_keys = keys
    return keys
