"""What the benchmarks share: a throwaway service home, ports, readiness, screen keys."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp

from gateway import embedded_redis
from gateway.cli import prepare
from gateway.settings import Settings

OPTION = re.compile(r"^(\d+) (.+)$", re.MULTILINE)


@contextlib.contextmanager
def service_home(
    prefix: str, *, database_url: str, redis_url: str, **extra: Any
) -> Iterator[tuple[Settings, dict[str, str]]]:
    """A fresh var directory, database (SQLite unless given) and Redis (embedded unless
    given), migrated and loaded with the demo data; yields the settings and the
    environment for the service processes."""
    home = Path(tempfile.mkdtemp(prefix=prefix))
    embedded = None if redis_url else embedded_redis.start(home)
    settings = Settings(
        sauti_var_dir=home,
        database_url=database_url or f"sqlite:///{home / 'bench.db'}",
        redis_url=redis_url or (embedded.url if embedded else ""),
        **extra,
    )
    prepare(settings)
    env = {
        **os.environ,
        "SAUTI_VAR_DIR": str(home),
        "DATABASE_URL": settings.db_url,
        "REDIS_URL": settings.redis_url,
        "SAUTI_LOG_LEVEL": "WARNING",
    }
    try:
        yield settings, env
    finally:
        if embedded is not None:
            embedded.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_up(url: str, timeout: float = 30) -> None:
    """Wait until `url` answers below 500."""
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as client:
        while time.monotonic() < deadline:
            with contextlib.suppress(aiohttp.ClientError):
                async with client.get(url) as response:
                    if response.status < 500:
                        return
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


def key(screen: str, label: str) -> str:
    """The key of the option whose label starts with `label`."""
    for number, text in OPTION.findall(screen):
        if text.startswith(label):
            return str(number)
    raise RuntimeError(f"no option {label!r} on {screen!r}")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] if ordered else 0.0
