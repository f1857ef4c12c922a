"""Phone numbers, pseudonyms and encryption: the only place a number is seen in clear."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from dataclasses import dataclass

import phonenumbers
from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MIN_PSEUDONYM_KEY_BYTES = 32
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_PSEUDONYM = re.compile(r"[0-9a-f]{64}")


class InvalidPhone(ValueError):
    """The text given is not a usable phone number."""


class DecryptionFailed(ValueError):
    """Ciphertext could not be decrypted with any configured key."""


@dataclass(frozen=True, slots=True)
class Phone:
    """A phone number in E.164 form and the region it belongs to (e.g. "CD"), if known."""

    e164: str
    region: str | None


def normalize_phone(raw: str, default_region: str | None = None) -> Phone:
    """Parse `raw` as a phone number; numbers without "+" need `default_region`."""
    try:
        parsed = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(f"not a phone number: {exc.error_type!r}") from None
    # Possible rather than valid: a newly allocated range must not lock a reporter out.
    if not phonenumbers.is_possible_number(parsed):
        raise InvalidPhone("not a possible phone number")
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return Phone(e164=e164, region=phonenumbers.region_code_for_number(parsed))


def is_e164(text: str) -> bool:
    """Tell whether `text` is a number in E.164 form ("+243812345678")."""
    return bool(_E164.fullmatch(text))


def is_pseudonym(text: str) -> bool:
    """Tell whether `text` has the shape of a pseudonym (64 lower-case hex characters).

    Data-access functions check this so a phone number passed by mistake is refused
    instead of stored.
    """
    return bool(_PSEUDONYM.fullmatch(text))


def _key_texts(encryption_key: str | bytes) -> list[str]:
    text = encryption_key.decode() if isinstance(encryption_key, bytes) else encryption_key
    keys = [part.strip() for part in text.split(",") if part.strip()]
    if not keys:
        raise ValueError("no encryption key given")
    return keys


def _sealing_key(fernet_key: str) -> AESGCM:
    """An AES-256-GCM key derived from a Fernet key, for short-lived values in Redis."""
    raw = base64.urlsafe_b64decode(fernet_key)
    return AESGCM(hmac.new(raw, b"sauti session sealing v1", hashlib.sha256).digest())


class Crypto:
    """Keyed pseudonyms and symmetric encryption of personal text.

    `encryption_key` is a Fernet key, or several separated by commas: the first encrypts,
    all decrypt, so keys can be rotated by putting a new one in front.
    """

    __slots__ = ("_current", "_fernet", "_pseudonym_key", "_sealers")

    def __init__(self, pseudonym_key: bytes, encryption_key: str | bytes) -> None:
        if len(pseudonym_key) < MIN_PSEUDONYM_KEY_BYTES:
            raise ValueError(f"the pseudonym key needs at least {MIN_PSEUDONYM_KEY_BYTES} bytes")
        self._pseudonym_key = pseudonym_key
        keys = _key_texts(encryption_key)
        self._current = Fernet(keys[0])
        self._fernet = MultiFernet([self._current, *(Fernet(key) for key in keys[1:])])
        self._sealers = [_sealing_key(key) for key in keys]

    def __repr__(self) -> str:
        return "Crypto(<keys hidden>)"

    def pseudonym(self, number: str) -> str:
        """Return the stable, keyed pseudonym (64 hex characters) of a phone number.

        Pass the E.164 form from `normalize_phone` whenever the number parses, so that one
        phone always gets one pseudonym however the provider spelled it.
        """
        if not number:
            raise InvalidPhone("an empty number has no pseudonym")
        return hmac.new(self._pseudonym_key, number.encode(), hashlib.sha256).hexdigest()

    def encrypt(self, text: str) -> bytes:
        """Encrypt `text` with the current key."""
        return self._fernet.encrypt(text.encode())

    def decrypt(self, token: bytes) -> str:
        """Decrypt a token made by `encrypt` with the current or an older key."""
        try:
            return self._fernet.decrypt(token).decode()
        except InvalidToken:
            raise DecryptionFailed("ciphertext does not match any configured key") from None

    def seal(self, data: bytes) -> bytes:
        """Encrypt a short-lived value (a session in Redis) with AES-GCM under the current key.

        Cheaper than `encrypt` on the hot path of every hop; the database keeps Fernet.
        """
        nonce = os.urandom(12)
        return nonce + self._sealers[0].encrypt(nonce, data, None)

    def unseal(self, sealed: bytes) -> bytes:
        """Decrypt a value made by `seal`, with the current or an older key."""
        nonce, body = sealed[:12], sealed[12:]
        if len(body) < 16:  # shorter than a GCM tag: not something `seal` made
            raise DecryptionFailed("sealed value is too short")
        for sealer in self._sealers:
            try:
                return sealer.decrypt(nonce, body, None)
            except InvalidTag:
                continue
        raise DecryptionFailed("sealed value does not match any configured key")

    def rotate(self, token: bytes) -> bytes:
        """Re-encrypt `token` under the current key."""
        try:
            return self._fernet.rotate(token)
        except InvalidToken:
            raise DecryptionFailed("ciphertext does not match any configured key") from None

    def is_current(self, token: bytes) -> bool:
        """Tell whether `token` was made with the current (first) key, so rotating it again
        would be wasted work; a rotation run that was interrupted resumes by skipping these."""
        try:
            self._current.decrypt(token)
        except InvalidToken:
            return False
        return True
