"""Process-level set-up shared by the commands: logging, Redis, database, first data."""

from __future__ import annotations

import contextlib
import logging
import re
import sys
from pathlib import Path
from typing import Any

import redis
from rq.exceptions import StopRequested

from gateway import embedded_redis
from gateway.embedded_redis import EmbeddedRedis
from gateway.settings import Settings

log = logging.getLogger(__name__)

# Phone numbers in any form (E.164, national down to Burundi's 8 digits, bare digits) never
# reach a log line, tracebacks included. Case numbers and dates inside messages go too.
_DIGIT_RUN = re.compile(r"\+?\d(?:[ \-.]?\d){6,}")


def redact(text: str) -> str:
    return _DIGIT_RUN.sub("[number]", text)


class RedactingFormatter(logging.Formatter):
    """Format a record, then blank every digit run that could be a phone number in its
    message, exception and stack (not in the timestamp, which the format adds)."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = redact(record.message)
        return super().formatMessage(record)

    def formatException(self, ei: Any) -> str:
        return redact(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:
        return redact(super().formatStack(stack_info))


class _StopAwareHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler that lets a stop through: a signal handler that raises (RQ's stop
    on SIGTERM, Ctrl-C) while a line is being written must end the process's loop, not be
    printed as a logging error and forgotten."""

    def handleError(self, record: logging.LogRecord) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, KeyboardInterrupt | StopRequested):
            raise error
        super().handleError(record)


def setup_logging(level: str) -> None:
    handler = _StopAwareHandler()
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


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
