"""Process-level set-up shared by the commands: logging, Redis, database, first data."""

from __future__ import annotations

import contextlib
import logging
import re
from pathlib import Path

import redis

from gateway import embedded_redis
from gateway.embedded_redis import EmbeddedRedis
from gateway.settings import Settings

log = logging.getLogger(__name__)

# Phone numbers in any form (E.164, national, bare digits) never reach a log line.
_DIGIT_RUN = re.compile(r"\+?\d(?:[ \-.]?\d){8,}")


class RedactNumbers(logging.Filter):
    """Replace anything that looks like a phone number in a log record with [number]."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _DIGIT_RUN.sub("[number]", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def setup_logging(level: str) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(RedactNumbers())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
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
