"""The number search the whole-stack test and the system benchmark rely on: it must find
a number in every form it is written in, and nothing else."""

from __future__ import annotations

import pytest

from tests.leaks import NumberScan, number_forms

REPORTERS = ["+243811000001", "+250788100002"]


@pytest.mark.parametrize("reporter", REPORTERS)
def test_every_written_form_of_a_number_is_found(reporter: str) -> None:
    scan = NumberScan(REPORTERS)
    forms = [*number_forms(reporter), reporter.replace("+", "00", 1)]
    for form in forms:
        assert scan(f'{{"to": "{form}", "at": "2026-11-27"}}'.encode()) == {reporter}, form


@pytest.mark.parametrize(
    "written",
    ["(081) 100-0001", "081.100.0001", "+243 81 100 0001", "tel:+243-811-000-001"],
)
def test_separators_do_not_hide_a_number(written: str) -> None:
    assert NumberScan(REPORTERS)(written.encode()) == {"+243811000001"}


def test_other_numbers_and_digits_are_not_reported() -> None:
    scan = NumberScan(REPORTERS)
    text = (
        b"+243811000002 0788100003 2026-11-27 03:28:43.811000 case 811-000-00 "
        b"pseudonym 9f3c811000a1 amount 81100000"
    )
    assert scan(text) == set()


def test_several_numbers_in_one_text_are_all_found() -> None:
    text = b"first 0811000001, then 250788100002 and again +243811000001"
    assert NumberScan(REPORTERS)(text) == set(REPORTERS)
