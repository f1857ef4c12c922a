"""Process-level set-up shared by the commands: logging, Redis, database, first data."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
from pathlib import Path
from typing import Any

import phonenumbers
import redis
from rq.exceptions import StopRequested

from gateway import embedded_redis
from gateway.embedded_redis import EmbeddedRedis
from storage.settings import Settings

log = logging.getLogger(__name__)

# The countries served: a number of theirs is often written without its country code.
SERVED_REGIONS = ("CD", "RW", "BI")
REDACTED = "[number]"

# Numbers that are never phone numbers, taken whole so no part of them is read as one:
# ISO dates and times, dd.mm.yyyy dates, clock times and durations (0:00:00.058163),
# UUIDs (RQ's job ids) and IPv4 addresses with their port.
_KEEP = r"""
    [12]\d{3}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])(?!\d|-\d|\.\d)
    (?:[T\ ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?
  | (?:0[1-9]|[12]\d|3[01])\.(?:0[1-9]|1[0-2])\.[12]\d{3}(?![\d.])
  | \d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d+)?
  | [0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}
  | \d{1,3}(?:\.\d{1,3}){3}(?::\d+)?
"""
# A run of digits as phone numbers are written: an optional '+' or bracket first, groups
# of digits joined by at most two of space, dash, dot and brackets ("+243 (0)81 234-5678").
# It starts neither inside a word nor after the point or colon of a larger number.
_RUN = r"""
    (?<![^\W_])(?<!\d[.,:])
    (?:\+|\(\+?)?\d(?:[\ .\-()]{0,2}\d)*\)?
"""
_SCAN = re.compile(rf"(?P<keep>{_KEEP})|(?P<run>{_RUN})", re.VERBOSE | re.IGNORECASE)
_GROUP = re.compile(r"\d+")


def _possible(e164: str) -> bool:
    try:
        return phonenumbers.is_possible_number(phonenumbers.parse(e164))
    except phonenumbers.NumberParseException:
        return False


def _valid_national(digits: str) -> bool:
    for region in SERVED_REGIONS:
        try:
            if phonenumbers.is_valid_number(phonenumbers.parse(digits, region)):
                return True
        except phonenumbers.NumberParseException:
            continue
    return False


def phone_shaped(text: str) -> bool:
    """Tell whether `text`, one run of digits and separators, is written like a phone number.

    - with '+' or 00 first, 7 to 15 digits: an international number, whatever follows;
    - a trunk 0 first, 8 to 12 digits: a national number ("0812345678", "012 34567");
    - 10 to 15 digits: an international number without its '+' when phonenumbers finds
      that possible ("243812345678"; a Unix time in seconds or milliseconds is not);
    - 8 or 9 digits: a national number without its trunk 0 when it is a valid one of a
      served country ("79 12 34 56" in Burundi, "788123456" in Rwanda).

    One point and nothing else between the digits makes a decimal ("1234.5"), never a
    number. The reference is phonenumbers: the tests write its example numbers of many
    countries in every form and check each is caught.
    """
    digits = "".join(ch for ch in text if ch.isdigit())
    if text.lstrip("(").startswith("+"):
        return 7 <= len(digits) <= 15
    separators = {ch for ch in text if not ch.isdigit()}
    if separators == {"."} and text.count(".") == 1:
        return False
    if digits.startswith("00"):
        return 7 <= len(digits) - 2 <= 15
    if digits.startswith("0"):
        return 8 <= len(digits) <= 12
    if 10 <= len(digits) <= 15:
        return _possible("+" + digits)
    if 8 <= len(digits) <= 9:
        return _valid_national(digits)
    return False


def _redact_run(run: str) -> str:
    """The run with each phone number in it blanked: the whole run when it is one, else
    the longest runs of whole digit groups that are, from the left."""
    if phone_shaped(run):
        return REDACTED
    groups = [(m.start(), m.end()) for m in _GROUP.finditer(run)]
    if len(groups) == 1:
        return run
    parts: list[str] = []
    done = first = 0
    while first < len(groups):
        for last in range(len(groups) - 1, first - 1, -1):
            start, end = groups[first][0], groups[last][1]
            if start > 0 and run[start - 1] == "+":
                start -= 1
            if (first, last) != (0, len(groups) - 1) and phone_shaped(run[start:end]):
                parts += [run[done:start], REDACTED]
                done, first = end, last + 1
                break
        else:
            first += 1
    return "".join([*parts, run[done:]])


def _blank(match: re.Match[str]) -> str:
    run = match["run"]
    if run is None:
        return match[0]
    after = match.string[match.end() : match.end() + 1]
    if after.isalnum() and not run.lstrip("(").startswith("+"):
        return run  # digits glued to letters: an id or a token, not a number
    # Brackets around the whole run, or closing one opened before it, stay:
    # "(+250788123456)", "(again 0812345678)"; those inside are the number's: "(0)81".
    enclosed = run.startswith("(") and run.endswith(")") and run.count(")") == 1
    lead = "(" if run.startswith("(") and (enclosed or ")" not in run) else ""
    trail = ")" if run.endswith(")") and (enclosed or run.count(")") > run.count("(")) else ""
    return lead + _redact_run(run[len(lead) : len(run) - len(trail)]) + trail


def redact(text: str) -> str:
    """`text` with every phone-shaped value replaced by "[number]" (see `phone_shaped`);
    durations, ids, ports, counts and timestamps are left as they are."""
    return _SCAN.sub(_blank, text)


class RedactingFormatter(logging.Formatter):
    """Format a record, then blank every phone number in its message, exception and
    stack (not in the timestamp, which the format adds)."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = redact(record.message)
        return super().formatMessage(record)

    def formatException(self, ei: Any) -> str:
        return redact(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:
        return redact(super().formatStack(stack_info))


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# The service's own announcements, shown on the terminal even next to a log file (`sauti
# run`: started, stopping, stopped): INFO on this logger or one below it.
TERMINAL_LOGGER = "sauti"


def _let_stops_through() -> None:
    error = sys.exc_info()[1]
    if isinstance(error, KeyboardInterrupt | StopRequested):
        raise error


class _StopAwareHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler that lets a stop through: a signal handler that raises (RQ's stop
    on SIGTERM, Ctrl-C) while a line is being written must end the process's loop, not be
    printed as a logging error and forgotten."""

    def handleError(self, record: logging.LogRecord) -> None:
        _let_stops_through()
        super().handleError(record)


class _StopAwareFileHandler(logging.FileHandler):
    """The log file's handler, letting a stop through as `_StopAwareHandler` does."""

    def handleError(self, record: logging.LogRecord) -> None:
        _let_stops_through()
        super().handleError(record)


class TerminalFilter(logging.Filter):
    """What the terminal shows when every line also goes to a log file: warnings and worse
    from anyone, and the announcements of `TERMINAL_LOGGER` (not RQ's, uvicorn's, httpx's
    or the jobs' INFO lines)."""

    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < self.level:
            return False
        if record.levelno >= logging.WARNING:
            return True
        return record.name == TERMINAL_LOGGER or record.name.startswith(TERMINAL_LOGGER + ".")


def _level(name: str) -> int:
    return logging.getLevelNamesMapping().get(name.upper(), logging.INFO)


def _log_file(path: Path) -> _StopAwareFileHandler:
    """A handler appending to `path` (created 0600: the log is for the operator alone)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
    return _StopAwareFileHandler(path, encoding="utf-8")


ROUTED_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


def setup_logging(settings: Settings) -> None:
    """Every log line at SAUTI_LOG_LEVEL, phone numbers blanked, to standard error; with
    SAUTI_LOG_FILE to that file, standard error then showing only what `TerminalFilter`
    lets through."""
    level = _level(settings.sauti_log_level)
    formatter = RedactingFormatter(LOG_FORMAT)
    terminal = _StopAwareHandler()
    handlers: list[logging.Handler] = [terminal]
    if settings.sauti_log_file is not None:
        terminal.addFilter(TerminalFilter(level))
        handlers.append(_log_file(settings.sauti_log_file))
    for handler in handlers:
        handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = handlers
    root.setLevel(level)
    for name in ROUTED_LOGGERS:
        # uvicorn's own configuration gives these handlers, levels of their own, and stops
        # them propagating: their lines go through ours instead, at SAUTI_LOG_LEVEL,
        # redacted, to the terminal or the file.
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.setLevel(logging.NOTSET)
        logger.propagate = True
        logger.disabled = False


def ensure_redis(settings: Settings) -> tuple[Settings, EmbeddedRedis | None]:
    """Settings with a usable REDIS_URL: as configured, the running embedded one, or a new one."""
    if settings.redis_url:
        return settings, None
    socket = (settings.var_dir / "redis" / "redis.sock").resolve()
    if _answers(f"unix://{socket}"):
        return settings.model_copy(update={"redis_url": f"unix://{socket}"}), None
    server = embedded_redis.start(settings.var_dir)
    log.info("started embedded redis at %s", server.socket)
    return settings.model_copy(update={"redis_url": server.url}), server


def _answers(url: str) -> bool:
    if not Path(url.removeprefix("unix://")).exists():
        return False
    with contextlib.suppress(redis.RedisError):
        return bool(redis.Redis.from_url(url, socket_timeout=1).ping())
    return False
