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
# What numbers are written with besides digits ("+243 (81) 234-5678", "0788.123.456").
_SEPARATORS = re.compile(r"[\s().\-/]")


class InvalidPhone(ValueError):
    """The text given is not a usable phone number."""


class DecryptionFailed(ValueError):
    """Ciphertext could not be decrypted with any configured key."""


@dataclass(frozen=True, slots=True)
class Phone:
    """A phone number in E.164 form and the region it belongs to (e.g. "CD"), if known."""

    e164: str
    region: str | None


def normalize_phone(raw: str, *regions: str | None) -> Phone:
    """Parse `raw` as a phone number, reading a number written without its country code
    in `regions` (ISO 3166 alpha-2 codes, most likely first; None entries are skipped).

    The rule, so that one phone gets one E.164 form (and one pseudonym) however a gateway
    spells it:

    1. "+…" and "00…" are international (00 is the international prefix of every country
       Sauti serves, and no national number there starts with it): read without any
       region, and never read again with one.
    2. Other digits are read as a national number of each of `regions` in turn, and the
       first valid reading is taken ("0812345678" or "812345678" in CD, "79123456" in BI).
    3. Otherwise, digits that are a valid international number without their "+" are
       read as such ("243812345678", "250788123456" whatever the region).
    4. Otherwise a national reading that is only possible, then an international one that
       is only possible (a newly allocated range must not lock a reporter out; with no
       region this is the reading of bare digits as before).

    A national reading comes before the international one because both can be valid for
    the same digits and then the region is right: Burundi's "61134621" is also a valid
    number in Australia, "984489355" in the DRC also one in Iran. Digits that hold their
    country code ("243812345678" in CD) read the same either way. A number with its own
    country code is thus never turned into another country's by a region, and a national
    number given with the region it came from always lands on its E.164 form.
    """
    text = raw.strip()
    compact = _SEPARATORS.sub("", text)
    if text.startswith("+") or compact.startswith("00"):
        readings = [_parsed(text if text.startswith("+") else "+" + compact[2:], None)]
    else:
        local = dict.fromkeys(region for region in regions if region)
        readings = [_parsed(compact, region) for region in local]
        if compact.isdigit() and not compact.startswith("0"):
            readings.append(_parsed("+" + compact, None))
        # A national reading that is valid, else an international one that is valid.
        for parsed in readings:
            if parsed is not None and phonenumbers.is_valid_number(parsed):
                return _phone(parsed)
    parsed_at_all = [parsed for parsed in readings if parsed is not None]
    if not parsed_at_all:
        raise InvalidPhone("not a phone number")
    # Possible rather than valid: a newly allocated range must not lock a reporter out.
    for parsed in parsed_at_all:
        # Seven digits at least (`is_e164`): shorter "possible" numbers are service codes.
        if phonenumbers.is_possible_number(parsed) and is_e164(_phone(parsed).e164):
            return _phone(parsed)
    raise InvalidPhone("not a possible phone number")


def _parsed(text: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    """`text` read in `region` (None: with its country code), None if it cannot be."""
    try:
        return phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None


def _phone(parsed: phonenumbers.PhoneNumber) -> Phone:
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
