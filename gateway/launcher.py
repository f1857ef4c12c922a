"""`sauti run`: the whole service on this machine, started and stopped in order.

Migrations and demo data first, then the web server, the worker and the scheduler, each a
`sauti` process of its own on the embedded Redis (unless REDIS_URL names one). The banner
says where to dial once the web server answers, not before. Every process logs to one
file (SAUTI_LOG_FILE, default `var/log/sauti.log`); the terminal shows warnings and the
announcements of the `sauti` logger only.

The children and the embedded Redis run in sessions of their own, so Ctrl-C or a SIGTERM
to the terminal's process group (`make run`) reaches this process alone. It then stops
the web server, then the worker and the scheduler, and the embedded Redis last, so they
can still reach it while they say goodbye, and ends with exit status 0. A child that
stops by itself stops the rest the same way, and `sauti run` ends with an error naming it.
If this process is killed outright, the kernel sends SIGTERM to each child and to Redis.
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import click

from gateway import embedded_redis
from gateway.embedded_redis import EmbeddedRedis
from gateway.services import TERMINAL_LOGGER, ensure_redis
from storage.settings import Settings

HOST = "127.0.0.1"
READY_SECONDS = 120.0
STOP_SECONDS = 15.0
POLL_SECONDS = 0.2
# Stopped in this order; the processes of one step are asked together.
STOP_ORDER: tuple[tuple[str, ...], ...] = (("web",), ("worker", "scheduler"))
PROCESSES = tuple(name for step in STOP_ORDER for name in step)

log = logging.getLogger(TERMINAL_LOGGER)


def log_file(settings: Settings) -> Path:
    """Where every process of the run logs: SAUTI_LOG_FILE, else `var/log/sauti.log`."""
    return (settings.sauti_log_file or settings.var_dir / "log" / "sauti.log").resolve()


class StopFlag:
    """SIGTERM or Ctrl-C, remembered: the loops look at it between their short waits, so a
    stop never lands in the middle of starting a process or of the orderly stop itself."""

    def __init__(self) -> None:
        self.asked: str | None = None

    def install(self) -> dict[signal.Signals, Any]:
        """Catch SIGTERM and SIGINT; return the handlers they had."""
        return {
            signum: signal.signal(signum, self._handle)
            for signum in (signal.SIGTERM, signal.SIGINT)
        }

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.asked is None:
            self.asked = signal.Signals(signum).name


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]


def start_child(name: str, env: dict[str, str]) -> Child:
    """`sauti NAME` in a session of its own, told to stop if this process dies."""
    process = subprocess.Popen(  # noqa: S603 (the service's own command)
        [sys.executable, "-m", "gateway.cli", name],
        env=env,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=embedded_redis.die_with_parent,
    )
    return Child(name, process)


def port_free(host: str, port: int) -> bool:
    """Tell whether the web server can listen on host:port (as uvicorn binds it)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def answers(host: str, port: int) -> bool:
    """Tell whether the web server answers its liveness check."""
    connection = http.client.HTTPConnection(host, port, timeout=2)
    try:
        connection.request("GET", "/healthz")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


def _shown(path: Path) -> str:
    """A path as the banner shows it: relative to the working directory when under it."""
    with contextlib.suppress(ValueError):
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    return str(path)


def banner(settings: Settings, log_path: Path) -> str:
    """Where to dial and what runs; never a token, key or password (the callback names
    the token's variable, not its value)."""
    base = f"http://{HOST}:{settings.sauti_port}"
    token = "?token=$SAUTI_AT_TOKEN" if settings.sauti_at_token else ""
    lines = [
        "",
        "Sauti is running.",
        f"  Dial in this terminal:   .venv/bin/sauti simulate --url {base}",
        f"  USSD callback:           POST {base}/ussd/africastalking{token}",
        f"  SMS webhook (Twilio):    POST {base}/sms/twilio  (WhatsApp too)",
        f"  SMS callback (AT):       POST {base}/sms/africastalking{token}",
        f"  Voice (Twilio, AT):      POST {base}/voice/twilio  POST {base}/voice/africastalking"
        f"{token}",
        f"  Health and metrics:      {base}/readyz  {base}/metrics",
        f"  Web console:             {base}/admin/  (first user: printf '%s\\n' 'a long "
        "passphrase' | .venv/bin/sauti admin create-user NAME --role admin)",
        f"  Public statistics:       {base}/public/stats",
    ]
    if "console" in settings.sms_providers.values():
        lines.append(f"  Outbound SMS (console):  {_shown(settings.console_outbox)}")
    lines += [
        f"  Log of every process:    {_shown(log_path)}  (here: warnings only)",
        "Press Ctrl-C to stop.",
        "",
    ]
    return "\n".join(lines)


def run(settings: Settings, *, prepare: Callable[[Settings], None]) -> None:
    """Run the service until SIGTERM or Ctrl-C (then return), or until a process stops by
    itself (then raise ClickException once the rest is stopped)."""
    if not port_free(HOST, settings.sauti_port):
        raise click.ClickException(
            f"port {settings.sauti_port} on {HOST} is in use (another `sauti run`?): "
            "stop what listens there, or set SAUTI_PORT"
        )
    stop = StopFlag()
    previous = stop.install()
    path = log_file(settings)
    children: list[Child] = []
    embedded: EmbeddedRedis | None = None
    try:
        settings, embedded = ensure_redis(settings)
        prepare(settings)
        env = {**os.environ, "REDIS_URL": settings.redis_url, "SAUTI_LOG_FILE": str(path)}
        for name in PROCESSES:
            if stop.asked:
                return
            children.append(start_child(name, env))
        if _until_ready(settings, children, stop, path):
            click.echo(banner(settings, path))
            _until_stopped(children, stop, path)
    finally:
        stop_all(children, embedded)
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _stopped_by_itself(children: list[Child], path: Path) -> None:
    for child in children:
        code = child.process.poll()
        if code is not None:
            raise click.ClickException(
                f"the {child.name} process stopped by itself (exit {code}), so everything "
                f"was stopped: see {_shown(path)}"
            )


def _until_ready(settings: Settings, children: list[Child], stop: StopFlag, path: Path) -> bool:
    """Wait until the web server answers (True) or a stop is asked for (False)."""
    deadline = time.monotonic() + READY_SECONDS
    while not stop.asked:
        _stopped_by_itself(children, path)
        if answers(HOST, settings.sauti_port):
            return True
        if time.monotonic() > deadline:
            raise click.ClickException(
                f"the web server did not answer within {READY_SECONDS:.0f} s: see {_shown(path)}"
            )
        time.sleep(POLL_SECONDS)
    return False


def _until_stopped(children: list[Child], stop: StopFlag, path: Path) -> None:
    while not stop.asked:
        _stopped_by_itself(children, path)
        time.sleep(POLL_SECONDS)
    log.info("%s received: stopping", stop.asked)


def _end(child: Child, deadline: float) -> None:
    """Wait for a child asked to stop; kill it (and what it left) when the time is up."""
    try:
        child.process.wait(timeout=max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        log.warning("the %s did not stop in %.0f s: killed", child.name, STOP_SECONDS)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.process.pid, signal.SIGKILL)
        child.process.wait()
    with contextlib.suppress(ProcessLookupError):  # processes it started and left behind
        os.killpg(child.process.pid, 0)
        log.warning("the %s left processes behind: killed", child.name)
        os.killpg(child.process.pid, signal.SIGKILL)
    log.info("%s stopped", child.name)


def stop_all(children: list[Child], embedded: EmbeddedRedis | None) -> None:
    """Stop the children in STOP_ORDER, then the embedded Redis. A stop asked for
    meanwhile changes nothing (the flag only remembers it): this is already the way out."""
    by_name = {child.name: child for child in children}
    for names in STOP_ORDER:
        step = [by_name[name] for name in names if name in by_name]
        for child in step:
            if child.process.poll() is None:
                child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        for child in step:
            _end(child, deadline)
    if embedded is not None:
        embedded.stop()
        log.info("embedded redis stopped")
    if children or embedded is not None:
        log.info("stopped")
