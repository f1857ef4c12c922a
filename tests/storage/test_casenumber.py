"""Case numbers: Damm check digit, parsing what people type, display."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storage import casenumber

VALID = "4821773501"


@pytest.mark.parametrize(
    ("digits", "check"),
    [("572", "4"), ("5724", "0"), ("482177350", "1"), ("0", "0"), ("1", "3")],
)
def test_check_digit_matches_published_vectors(digits: str, check: str) -> None:
    assert casenumber.check_digit(digits) == check


def test_check_digit_refuses_non_digits() -> None:
    with pytest.raises(ValueError, match="ASCII digits"):
        casenumber.check_digit("12a")


@pytest.mark.parametrize(
    "typed", [VALID, "482-177-3501", "482 177 3501", "482.177.3501", " 482-177 3501\n"]
)
def test_parse_accepts_separators(typed: str) -> None:
    assert casenumber.parse(typed) == VALID


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "4821773502",
        "482177350",
        "48217735011",
        "482-177-350a",
        "４８２１７７３５０１",
        "482_177_3501",
    ],
)
def test_parse_rejects_anything_else(typed: str) -> None:
    assert casenumber.parse(typed) is None


def test_new_number_is_ten_valid_digits_without_leading_zero() -> None:
    rng = random.Random(7)
    numbers = {casenumber.new_number(rng) for _ in range(500)}
    assert len(numbers) == 500
    for number in numbers:
        assert casenumber.is_valid(number)
        assert number[0] != "0"


def test_new_number_is_reproducible_with_a_seeded_rng() -> None:
    assert casenumber.new_number(random.Random(3)) == casenumber.new_number(random.Random(3))


def test_display_groups_three_three_four() -> None:
    assert casenumber.display(VALID) == "482-177-3501"
    assert casenumber.parse(casenumber.display(VALID)) == VALID


@given(st.text())
def test_parse_never_crashes_and_only_returns_valid_numbers(typed: str) -> None:
    parsed = casenumber.parse(typed)
    assert parsed is None or casenumber.is_valid(parsed)


@given(st.integers(min_value=0, max_value=9), st.integers(min_value=1, max_value=9))
def test_every_single_digit_typo_is_caught(position: int, shift: int) -> None:
    digits = list(VALID)
    digits[position] = str((int(digits[position]) + shift) % 10)
    assert not casenumber.is_valid("".join(digits))


@given(st.integers(min_value=0, max_value=8))
def test_every_adjacent_swap_is_caught(position: int) -> None:
    digits = list(VALID)
    if digits[position] == digits[position + 1]:
        return
    digits[position], digits[position + 1] = digits[position + 1], digits[position]
    assert not casenumber.is_valid("".join(digits))
