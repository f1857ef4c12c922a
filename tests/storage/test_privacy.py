"""Phone normalisation, pseudonyms and encryption."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from storage.privacy import (
    Crypto,
    DecryptionFailed,
    InvalidPhone,
    Phone,
    is_e164,
    is_pseudonym,
    normalize_phone,
)

PSEUDONYM_KEY = b"privacy-tests-pseudonym-key-0123456789"
ENCRYPTION_KEY = Fernet.generate_key().decode()


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+243 81 234 5678", None, Phone("+243812345678", "CD")),
        ("0812345678", "CD", Phone("+243812345678", "CD")),
        ("+250788123456", None, Phone("+250788123456", "RW")),
        ("+257 79 123 456", None, Phone("+25779123456", "BI")),
    ],
)
def test_normalize_phone_gives_e164_and_region(
    raw: str, region: str | None, expected: Phone
) -> None:
    assert normalize_phone(raw, region) == expected


@pytest.mark.parametrize(
    ("raw", "region"), [("hello", None), ("12", None), ("0812345678", None), ("", "CD")]
)
def test_normalize_phone_refuses_what_is_not_a_number(raw: str, region: str | None) -> None:
    with pytest.raises(InvalidPhone):
        normalize_phone(raw, region)


@pytest.fixture
def crypto() -> Crypto:
    return Crypto(PSEUDONYM_KEY, ENCRYPTION_KEY)


def test_pseudonym_is_stable_keyed_and_per_number(crypto: Crypto) -> None:
    first = crypto.pseudonym("+243812345678")
    assert first == crypto.pseudonym("+243812345678")
    assert is_pseudonym(first)
    assert first != crypto.pseudonym("+243812345679")
    other_key = Crypto(b"another-pseudonym-key-0123456789abcdef", ENCRYPTION_KEY)
    assert first != other_key.pseudonym("+243812345678")


def test_pseudonym_of_nothing_is_refused(crypto: Crypto) -> None:
    with pytest.raises(InvalidPhone):
        crypto.pseudonym("")


def test_short_pseudonym_key_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        Crypto(b"short", ENCRYPTION_KEY)


def test_encryption_round_trips_and_hides_the_text(crypto: Crypto) -> None:
    token = crypto.encrypt("Les militaires taxent le puits")
    assert b"militaires" not in token
    assert crypto.decrypt(token) == "Les militaires taxent le puits"
    assert crypto.encrypt("same") != crypto.encrypt("same")


def test_decrypting_with_another_key_fails_clearly(crypto: Crypto) -> None:
    stranger = Crypto(PSEUDONYM_KEY, Fernet.generate_key())
    with pytest.raises(DecryptionFailed):
        stranger.decrypt(crypto.encrypt("secret"))


def test_rotation_keeps_old_ciphertext_readable(crypto: Crypto) -> None:
    old_token = crypto.encrypt("before rotation")
    new_key = Fernet.generate_key().decode()
    rotated = Crypto(PSEUDONYM_KEY, f"{new_key},{ENCRYPTION_KEY}")
    assert rotated.decrypt(old_token) == "before rotation"
    fresh = rotated.rotate(old_token)
    assert Crypto(PSEUDONYM_KEY, new_key).decrypt(fresh) == "before rotation"


def test_repr_does_not_show_keys(crypto: Crypto) -> None:
    assert "privacy-tests" not in repr(crypto)
    assert ENCRYPTION_KEY not in repr(crypto)


def test_shape_checks() -> None:
    assert is_e164("+243812345678")
    assert not is_e164("0812345678")
    assert not is_pseudonym("+243812345678")


def test_sealed_values_round_trip_and_survive_key_rotation() -> None:
    from cryptography.fernet import Fernet

    from storage.privacy import Crypto, DecryptionFailed

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    before = Crypto(b"k" * 32, old)
    sealed = before.seal(b"militaires au puits")
    assert b"militaires" not in sealed
    assert before.seal(b"militaires au puits") != sealed  # a fresh nonce every time
    after = Crypto(b"k" * 32, f"{new},{old}")
    assert after.unseal(sealed) == b"militaires au puits"
    with pytest.raises(DecryptionFailed):
        Crypto(b"k" * 32, new).unseal(sealed)
