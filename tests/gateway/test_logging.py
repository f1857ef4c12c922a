"""Log lines never carry a phone number, not even inside a traceback; every other number
(durations, ids, ports, counts, timestamps) is left as it is, so the logs can be read."""

from __future__ import annotations

import logging
import logging.config
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import phonenumbers
import pytest
import uvicorn.config
from phonenumbers import Leniency, PhoneNumberFormat, PhoneNumberMatcher, PhoneNumberType

from gateway.services import RedactingFormatter, redact, setup_logging
from storage.settings import Settings

# The countries served, where a number is often written without its country code.
SERVED = ("CD", "RW", "BI")
# Some others a number may come from, or be written like.
ELSEWHERE = ("KE", "UG", "TZ", "ZM", "FR", "BE", "GB", "US", "ZA", "IN")


@pytest.mark.parametrize(
    "number",
    [
        "+243812345678",
        "243812345678",
        "0812345678",
        "081 234 5678",
        "79 12 34 56",
        "+243 81 234 5678",
        "+243-81-234-5678",
        "+243.81.234.5678",
        "(+243) 812 345 678",
        "+243 (0)81 234 5678",
        "(081) 234 5678",
        "00243812345678",
        "00 243 81 234 5678",
        "0788 123 456",
        "0788-123-456",
        "0788.123.456",
        "+250 788 123 456",
        "250788123456",
        "788123456",
        "812345678",
        "+257 79 12 34 56",
        "25779123456",
        "+25779123456",
        "012 34567",
        "250 123 456",
    ],
)
def test_numbers_are_blanked_in_messages_and_tracebacks(number: str) -> None:
    formatter = RedactingFormatter("%(asctime)s %(message)s")
    try:
        raise ValueError(f"bad number {number}")
    except ValueError:
        record = logging.LogRecord("t", logging.ERROR, __file__, 1, "caller %s", (number,), None)
        record.exc_info = sys.exc_info()
    line = formatter.format(record)
    assert number not in line
    assert "caller [number]" in line
    assert "bad number [number]" in line
    assert line[:4].isdigit()  # the timestamp itself is left alone


def _forms(region: str, kind: PhoneNumberType) -> list[str]:
    """How people and systems write one example number of `region`: E.164 with and
    without its '+', international with spaces, 00-prefixed, RFC 3966, dashed, dotted and
    national (where the national form starts with the trunk 0, or the region is served)."""
    example = phonenumbers.example_number_for_type(region, kind)
    if example is None:
        return []
    e164 = phonenumbers.format_number(example, PhoneNumberFormat.E164)
    spaced = phonenumbers.format_number(example, PhoneNumberFormat.INTERNATIONAL)
    national = phonenumbers.format_number(example, PhoneNumberFormat.NATIONAL)
    forms = [
        e164,
        e164[1:],
        spaced,
        "00" + e164[1:],
        "00 " + spaced[1:],
        phonenumbers.format_number(example, PhoneNumberFormat.RFC3966),
        spaced.replace(" ", "-"),
        spaced.replace(" ", "."),
    ]
    if national.lstrip("(").startswith("0") or region in SERVED:
        forms += [national, national.replace(" ", ""), national.replace(" ", "-")]
    return forms


@pytest.mark.parametrize("region", SERVED + ELSEWHERE)
@pytest.mark.parametrize("kind", [PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE])
def test_every_written_form_of_a_real_number_is_blanked(region: str, kind: PhoneNumberType) -> None:
    """phonenumbers' own example numbers, in every way they are written, as reference."""
    forms = _forms(region, kind)
    for form in forms:
        scheme = "tel:" if form.startswith("tel:") else ""
        line = redact(f"reply to {form}, then stop")
        assert line == f"reply to {scheme}[number], then stop", (region, form)


@pytest.mark.parametrize("region", SERVED)
def test_whatever_phonenumbers_finds_in_a_line_is_blanked(region: str) -> None:
    """PhoneNumberMatcher (valid numbers of a served region) is the reference: nothing it
    finds in a log line survives the redaction."""
    line = (
        "sms from +243 81 234 5678 (again 0812345678) to 0788-123-456, fwd 250788123456; "
        "member 79 12 34 56 / +257 79 56 12 34 called 00243991234567 at 2026-12-03 06:14:05"
    )
    found = [match.raw_string for match in PhoneNumberMatcher(line, region, Leniency.VALID)]
    assert found
    redacted = redact(line)
    for raw in found:
        assert raw not in redacted
    assert redacted.endswith("at 2026-12-03 06:14:05")


@pytest.mark.parametrize(
    "line",
    [
        "job 8f3a2c1e-4b5d-4e6f-9a7b-1c2d3e4f5a6b took 1234.5 ms",
        "Uvicorn running on http://127.0.0.1:8000 (Press CTRL+C to quit)",
        "listening on port 8000",
        "at 2026-12-03T06:14:05",
        "at 2026-12-03T06:14:05.123456+00:00",
        "at 2026-12-03 06:14:05,123",
        "on 03.12.2026 at 06:14",
        "maintenance: workers.sweep.sweep() (99b19d6e-977f-40c1-aac5-8def800efe37)",
        "job 12345678-1234-5678-1234-567812345678 queued",
        "Worker ea44e25d14824aae88b32c17c67ee0f5: started with PID 7376, version 3.0.0",
        "Successfully completed workers.sweep.sweep() job in 0:00:00.058163s on worker 1",
        "job 99b19d6e-977f-40c1-aac5-8def800efe37 result is kept for 500 seconds",
        "digest committee_id=8 messages=0",
        "sweep: 1234567 rows in 20261203 µs",
        "clock 1764742445 (1764742445123 ms)",
        "Started server process [7375]",
        "queued 42 SMS, 3 retries, 1200 s pause",
        "python 3.11.7 at 0x7f3a2c1b5d40",
    ],
)
def test_other_numbers_are_left_as_they_are(line: str) -> None:
    assert redact(line) == line


def test_a_number_next_to_another_is_still_blanked() -> None:
    assert redact("caller 0812345678 12345 attempts") == "caller [number] 12345 attempts"
    assert redact("from +243812345678-2") == "from [number]"
    assert redact("ids 12-0812345678") == "ids 12-[number]"
    assert redact("(again 0812345678), (+250788123456)") == "(again [number]), ([number])"
    assert redact("at 2026-12-03.") == "at 2026-12-03."


def test_a_number_inside_a_word_or_an_id_is_an_id() -> None:
    assert redact("session SIMa0812345678f2") == "session SIMa0812345678f2"
    assert redact("token 0812345678abcdef") == "token 0812345678abcdef"
    # An international number written with its '+' is one even when a word follows.
    assert redact("to +243812345678was") == "to [number]was"


# -- where the lines go --------------------------------------------------------------------


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """The root logger as pytest set it up, back after the test."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    for handler in root.handlers:
        if handler not in handlers:
            handler.close()
    root.handlers[:], root.level = handlers, level


def _emit_everything() -> None:
    logging.getLogger("rq.worker").info("Worker 1f2e: Job OK (99b19d6e-977f-40c1-aac5)")
    logging.getLogger("httpx").info("HTTP Request: POST https://api.example.org 201")
    logging.getLogger("uvicorn.error").info("Uvicorn running on http://127.0.0.1:8000")
    logging.getLogger("workers.digests").info("digest committee_id=8 messages=0")
    logging.getLogger("sauti").info("web stopped")
    logging.getLogger("rq.worker").warning("could not connect to Redis instance")
    try:
        raise ValueError("bad number +243812345678")
    except ValueError:
        logging.getLogger("gateway.app").exception("caller 0812345678 refused")


def test_with_a_log_file_the_terminal_shows_warnings_and_announcements_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], restored_logging: None
) -> None:
    path = tmp_path / "log" / "sauti.log"
    setup_logging(Settings(sauti_var_dir=tmp_path, sauti_log_file=path))
    _emit_everything()
    terminal = capsys.readouterr().err
    logged = path.read_text()
    for line in ("Job OK", "HTTP Request", "Uvicorn running", "digest committee_id=8"):
        assert line in logged
        assert line not in terminal
    for line in ("sauti: web stopped", "could not connect to Redis", "caller [number] refused"):
        assert line in logged
        assert line in terminal
    assert "ValueError: bad number [number]" in terminal
    assert "243812345678" not in logged + terminal
    assert "0812345678" not in logged + terminal
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_without_a_log_file_everything_goes_to_the_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], restored_logging: None
) -> None:
    setup_logging(Settings(sauti_var_dir=tmp_path, sauti_log_level="INFO"))
    _emit_everything()
    terminal = capsys.readouterr().err
    for line in ("Job OK", "HTTP Request", "digest committee_id=8", "sauti: web stopped"):
        assert line in terminal
    assert "0812345678" not in terminal


def test_uvicorns_own_logging_configuration_is_routed_through_ours(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], restored_logging: None
) -> None:
    """uvicorn configures its loggers not to propagate (as after an in-process server):
    setting up ours takes them back, so their lines are redacted and reach the file."""
    logging.config.dictConfig(uvicorn.config.LOGGING_CONFIG)
    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)  # uvicorn's log_level
    path = tmp_path / "log" / "sauti.log"
    setup_logging(Settings(sauti_var_dir=tmp_path, sauti_log_file=path))
    logging.getLogger("uvicorn.error").info("Uvicorn running, caller +243812345678")
    assert "Uvicorn running, caller [number]" in path.read_text()
    assert "Uvicorn running" not in capsys.readouterr().err
