"""What the benchmarks share: a throwaway service home, ports, readiness, screen keys, and
the whole stack as separate `sauti` processes on a fresh PostgreSQL database."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from cryptography.fernet import Fernet

from gateway import embedded_redis
from gateway.release import prepare
from storage.settings import Settings

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


# -- the whole stack as separate processes ---------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
STOP_SECONDS = 15.0
CASE_NUMBER = re.compile(r"\d{3}-\d{3}-\d{4}")
# The caller's own configuration must not leak into the stack: it gets exactly these.
_OWN_NAMES = ("SAUTI_", "TWILIO_", "DATABASE_URL", "REDIS_URL", "FORWARDED_ALLOW_IPS")


def stack_env(
    *, home: Path, database_url: str, redis_url: str, port: int, log_level: str = "WARNING"
) -> dict[str, str]:
    """The environment of every process of one stack: loopback URLs, the console SMS
    provider writing into `home`, both provider secrets and both keys fixed for the run."""
    inherited = {k: v for k, v in os.environ.items() if not k.upper().startswith(_OWN_NAMES)}
    return {
        **inherited,
        "PYTHONUNBUFFERED": "1",
        "SAUTI_VAR_DIR": str(home),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SAUTI_PORT": str(port),
        "SAUTI_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "SAUTI_SMS_PROVIDER": "console",
        "SAUTI_CONSOLE_OUTBOX": str(home / "outbox.jsonl"),
        "SAUTI_AT_TOKEN": secrets.token_urlsafe(24),
        "TWILIO_AUTH_TOKEN": secrets.token_hex(16),
        "TWILIO_ACCOUNT_SID": "AC" + secrets.token_hex(16),
        "TWILIO_FROM": "+15005550006",
        "SAUTI_PSEUDONYM_KEY": secrets.token_hex(32),
        "SAUTI_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "SAUTI_LOG_LEVEL": log_level,
    }


def stack_settings(env: dict[str, str]) -> Settings:
    """The settings the stack's processes read from `env`, for work done in this process."""
    fields = Settings.model_fields
    return Settings.model_validate({k.lower(): v for k, v in env.items() if k.lower() in fields})


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)


@dataclass
class Services:
    """`sauti` commands started here, each in a process group of its own, output to a log
    file per command.

    A group of its own: a Ctrl-C at the terminal reaches only the caller, which then stops
    every command in order, and stopping a group stops the worker processes uvicorn forks
    with their parent.
    """

    env: dict[str, str]
    logs: Path
    started: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        """Start `sauti <args>` in the background."""
        self.logs.mkdir(parents=True, exist_ok=True)
        with (self.logs / f"{name}.log").open("ab") as log:
            process = subprocess.Popen(  # noqa: S603
                [sys.executable, "-m", "gateway.cli", *args],
                env=self.env,
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.started.append((name, process))
        return process

    def run(self, name: str, *args: str, timeout: float = 120) -> None:
        """Run `sauti <args>` to the end (the release step); raise with its log on failure."""
        process = self.start(name, *args)
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            code = None
        self.started.remove((name, process))
        _signal_group(process.pid, signal.SIGKILL)
        process.wait()
        if code != 0:
            raise RuntimeError(f"sauti {' '.join(args)} failed ({code}):\n{self.log(name)}")

    def stopped(self) -> list[str]:
        """The background commands that have already exited."""
        return [name for name, process in self.started if process.poll() is not None]

    def stop(self) -> None:
        """SIGTERM to every group; SIGKILL to any still alive after STOP_SECONDS."""
        for _, process in self.started:
            _signal_group(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        for _, process in self.started:
            while time.monotonic() < deadline:
                process.poll()
                if process.returncode is not None and not _group_alive(process.pid):
                    break
                time.sleep(0.05)
        for _, process in self.started:
            _signal_group(process.pid, signal.SIGKILL)
            process.wait()
        self.started.clear()

    def log(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def log_text(self) -> str:
        """Every command's output so far, each under its name."""
        return "".join(
            f"== {path.stem}\n{path.read_text(errors='replace')}"
            for path in sorted(self.logs.glob("*.log"))
        )


def start_stack(services: Services, *, web_workers: int, workers: int) -> None:
    """The Procfile's processes after the release step: web, RQ workers, scheduler."""
    port = services.env["SAUTI_PORT"]
    services.start("web", "web", "--port", port, "--workers", str(web_workers))
    for index in range(workers):
        services.start(f"worker-{index + 1}", "worker")
    services.start("scheduler", "scheduler")


@contextlib.contextmanager
def fresh_postgres(admin_url: str, name: str, *, keep: bool = False) -> Iterator[str]:
    """A new, empty PostgreSQL database `name` (dropped first if it exists, and after use
    unless `keep`); yields its SQLAlchemy URL."""
    import psycopg
    from psycopg import sql
    from sqlalchemy.engine import make_url

    def execute(statement: sql.Composed) -> None:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(statement)

    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    execute(drop)
    execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = make_url(admin_url).set(drivername="postgresql+psycopg", database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        if not keep:
            execute(drop)


def case_numbers(text: str) -> list[str]:
    """The case numbers in a text, as stored (digits only)."""
    return [found.replace("-", "") for found in CASE_NUMBER.findall(text)]
