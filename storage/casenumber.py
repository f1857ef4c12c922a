"""Case numbers: nine random digits and a Damm check digit, shown as 482-177-3506.

Numeric so they are quick to type on a basic keypad. The check digit, validation and
display come from `flows.validators`, so the menus and the database agree on what a
valid number is; this module adds drawing new numbers.
"""

from __future__ import annotations

import random

from flows.validators import (
    CASE_NUMBER_LENGTH,
    damm_digit,
    display_case_number,
    is_valid_case_number,
    normalize_case_number,
)

LENGTH = CASE_NUMBER_LENGTH
check_digit = damm_digit
is_valid = is_valid_case_number
display = display_case_number


def parse(typed: str) -> str | None:
    """Return the canonical number for what a person typed, or None if it is not one.

    Spaces, dashes and dots between digits are ignored: "482-177-3501", "482.177.3501".
    """
    return normalize_case_number(typed.replace(".", " "))


def new_number(rng: random.Random) -> str:
    """Draw a new number; pass `secrets.SystemRandom()` in production.

    The first digit is never 0, so spreadsheets and phones that drop leading zeros
    cannot change a number.
    """
    body = str(rng.randrange(10 ** (LENGTH - 2), 10 ** (LENGTH - 1)))
    return body + check_digit(body)
