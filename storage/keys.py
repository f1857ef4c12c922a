"""Key material: from the environment, or generated once under the var directory."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.fernet import Fernet

from storage.privacy import Crypto

if TYPE_CHECKING:
    from storage.settings import Settings

PSEUDONYM_KEY_FILE = "pseudonym.key"
ENCRYPTION_KEY_FILE = "encryption.key"


@dataclass(frozen=True, slots=True, repr=False)
class Keys:
    """The two secrets: HMAC key for pseudonyms, Fernet key(s) for encryption."""

    pseudonym_key: bytes
    encryption_key: str


def _new_pseudonym_key() -> str:
    return secrets.token_hex(32)


def _new_encryption_key() -> str:
    return Fernet.generate_key().decode()


def _publish_once(path: Path, value: str) -> None:
    """Write `value` to a private temporary file, then link it into place unless one exists."""
    temp = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(value + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        # link() fails if the name exists, so a concurrent first start cannot overwrite a key.
        os.link(temp, path)
    except FileExistsError:
        pass
    finally:
        temp.unlink(missing_ok=True)


def _read_or_create(path: Path, generate: Callable[[], str]) -> str:
    if not path.exists():
        _publish_once(path, generate())
    value = path.read_text().strip()
    if not value:
        raise ValueError(f"key file {path} is empty")
    return value


def load_keys(settings: Settings) -> Keys:
    """Return the keys from SAUTI_PSEUDONYM_KEY / SAUTI_ENCRYPTION_KEY, else from key files."""
    pseudonym = settings.sauti_pseudonym_key or _read_or_create(
        settings.var_dir / PSEUDONYM_KEY_FILE, _new_pseudonym_key
    )
    encryption = settings.sauti_encryption_key or _read_or_create(
        settings.var_dir / ENCRYPTION_KEY_FILE, _new_encryption_key
    )
    return Keys(pseudonym_key=pseudonym.encode(), encryption_key=encryption)


def load_crypto(settings: Settings) -> Crypto:
    """Return a ready `Crypto` built from `load_keys(settings)`."""
    keys = load_keys(settings)
    return Crypto(keys.pseudonym_key, keys.encryption_key)
