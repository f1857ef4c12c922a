"""Turning a caller's number into a pseudonym at the edge."""

from __future__ import annotations

from storage.privacy import Crypto, InvalidPhone, normalize_phone


def pseudonymize(crypto: Crypto, raw: str) -> tuple[str, str | None, str | None]:
    """(pseudonym, region, E.164) of a number; an unparseable one is keyed by its digits."""
    try:
        phone = normalize_phone(raw)
    except InvalidPhone:
        digits = "".join(ch for ch in raw if ch.isdigit()) or raw
        return crypto.pseudonym(digits), None, None
    return crypto.pseudonym(phone.e164), phone.region, phone.e164
