"""Checks for typed answers: the case number a reporter types back.

A case number is ten ASCII digits whose last one is a Damm check digit; people type it
with or without the dashes or spaces it is shown with ("482-177-3506").
"""

from __future__ import annotations

CASE_NUMBER_LENGTH = 10

# The weakly totally anti-symmetric quasigroup of order 10 from Damm (2004): it catches
# every single-digit typo and every swap of two adjacent digits.
_DAMM = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)
_SEPARATORS = str.maketrans("", "", " -\u00a0\u202f")


def _is_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _interim(digits: str) -> int:
    interim = 0
    for char in digits:
        interim = _DAMM[interim][ord(char) - 48]
    return interim


def damm_digit(digits: str) -> str:
    """Return the Damm check digit of a string of ASCII digits."""
    if not _is_digits(digits):
        raise ValueError("the Damm digit is computed over ASCII digits only")
    return str(_interim(digits))


def is_valid_case_number(number: str) -> bool:
    """Tell whether `number` is ten ASCII digits ending with their Damm check digit."""
    return len(number) == CASE_NUMBER_LENGTH and _is_digits(number) and _interim(number) == 0


def normalize_case_number(typed: str) -> str | None:
    """Return the ten digits of a typed case number, or None when it is not a valid one."""
    compact = typed.strip().translate(_SEPARATORS)
    return compact if is_valid_case_number(compact) else None


def display_case_number(number: str) -> str:
    """Group ten digits for reading: "4821773506" -> "482-177-3506"."""
    return f"{number[:3]}-{number[3:6]}-{number[6:]}"
