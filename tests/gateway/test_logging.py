"""Log lines never carry a phone number, not even inside a traceback."""

from __future__ import annotations

import logging

import pytest

from gateway.services import RedactingFormatter


@pytest.mark.parametrize(
    "number", ["+243812345678", "243812345678", "0812345678", "081 234 5678", "79 12 34 56"]
)
def test_numbers_are_blanked_in_messages_and_tracebacks(number: str) -> None:
    formatter = RedactingFormatter("%(asctime)s %(message)s")
    try:
        raise ValueError(f"bad number {number}")
    except ValueError:
        record = logging.LogRecord("t", logging.ERROR, __file__, 1, "caller %s", (number,), None)
        import sys

        record.exc_info = sys.exc_info()
    line = formatter.format(record)
    assert number not in line
    assert "caller [number]" in line
    assert "bad number [number]" in line
    assert line[:4].isdigit()  # the timestamp itself is left alone
