"""Case numbers: ten digits ending with a Damm check digit, typed with or without dashes."""

from __future__ import annotations

import pytest

from flows.validators import (
    damm_digit,
    display_case_number,
    is_valid_case_number,
    normalize_case_number,
)

BODY = "482177350"
NUMBER = BODY + damm_digit(BODY)


def test_damm_digit_matches_the_published_example() -> None:
    assert damm_digit("572") == "4"


def test_damm_digit_refuses_non_digits() -> None:
    with pytest.raises(ValueError, match="ASCII digits"):
        damm_digit("12a")


@pytest.mark.parametrize(
    "typed",
    [
        NUMBER,
        display_case_number(NUMBER),
        f" {NUMBER[:3]} {NUMBER[3:6]} {NUMBER[6:]} ",
        f"{NUMBER[:5]}\u00a0{NUMBER[5:]}",
    ],
)
def test_a_number_is_accepted_with_or_without_separators(typed: str) -> None:
    assert normalize_case_number(typed) == NUMBER


def test_every_single_digit_typo_is_caught() -> None:
    for position in range(10):
        for digit in "0123456789":
            typo = NUMBER[:position] + digit + NUMBER[position + 1 :]
            assert is_valid_case_number(typo) == (typo == NUMBER)


def test_every_adjacent_swap_is_caught() -> None:
    for position in range(9):
        swapped = (
            NUMBER[:position] + NUMBER[position + 1] + NUMBER[position] + NUMBER[position + 2 :]
        )
        assert swapped == NUMBER or not is_valid_case_number(swapped)


@pytest.mark.parametrize(
    "typed", ["", "12345", NUMBER + "0", "٤٨٢١٧٧٣٥٠" + NUMBER[-1], "abc-def-ghij"]
)
def test_anything_else_is_refused(typed: str) -> None:
    assert normalize_case_number(typed) is None


def test_display_groups_three_three_four() -> None:
    assert display_case_number("4821773506") == "482-177-3506"
