"""Turning a caller's number into a pseudonym at the edge."""

from __future__ import annotations

from collections import OrderedDict

from storage.privacy import Crypto, InvalidPhone, Phone, normalize_phone


class Pseudonyms:
    """Pseudonym and region of a caller's number, parsed once per number.

    Parsing a number is the dearest step of a hop, and a USSD session repeats the same
    number on every hop. The cache is keyed by a keyed hash of the number as the provider
    spelled it and holds only (pseudonym, region): no number is kept in it.
    """

    def __init__(self, crypto: Crypto, *, size: int = 20_000) -> None:
        self._crypto = crypto
        self._size = size
        self._cache: OrderedDict[str, tuple[str, str | None]] = OrderedDict()

    def __call__(self, raw: str) -> tuple[str, str | None]:
        key = self._crypto.pseudonym(raw) if raw else ""
        found = self._cache.get(key)
        if found is not None:
            self._cache.move_to_end(key)
            return found
        found = pseudonymize(self._crypto, raw)
        self._cache[key] = found
        if len(self._cache) > self._size:
            self._cache.popitem(last=False)
        return found


def pseudonymize(crypto: Crypto, raw: str) -> tuple[str, str | None]:
    """(pseudonym, region) of a number; an unparseable one is keyed by its digits."""
    phone = parse_caller(raw)
    if phone is None:
        digits = "".join(ch for ch in raw if ch.isdigit()) or raw
        return crypto.pseudonym(digits), None
    return crypto.pseudonym(phone.e164), phone.region


def parse_caller(raw: str) -> Phone | None:
    """The caller's number; international digits without their '+' are read as if it were
    there (a '+' posted without URL-encoding arrives as a space)."""
    for candidate in (raw, "+" + raw.strip()):
        try:
            return normalize_phone(candidate)
        except InvalidPhone:
            continue
    return None
