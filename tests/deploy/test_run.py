"""`sauti run` as `make run` starts it, in a process group of its own on a temporary var
directory, a free port and its embedded Redis: the banner once the web server answers,
RQ's and the web server's chatter in the log file only, and a stop by SIGTERM or Ctrl-C
that ends web, worker and scheduler first and Redis last, with no traceback and exit 0.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
from rq import Worker

from benchmarks.common import free_port
from gateway import embedded_redis
from tests.conftest import ENCRYPTION_KEY, PSEUDONYM_KEY

ROOT = Path(__file__).resolve().parents[2]
AT_TOKEN = "at-token-that-must-never-be-printed-0123456789"
TWILIO_TOKEN = "twilio-token-that-must-never-be-printed"
SECRETS = (AT_TOKEN, TWILIO_TOKEN, PSEUDONYM_KEY, ENCRYPTION_KEY)
READY_SECONDS = 120
STOP_SECONDS = 60
BANNER = "Sauti is running."


def wait_for(check: Callable[[], Any], *, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.1)


def healthz(port: int) -> int | None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        connection.request("GET", "/healthz")
        return connection.getresponse().status
    except OSError:
        return None
    finally:
        connection.close()


@dataclass
class Run:
    """One `sauti run` process group and what it wrote."""

    process: subprocess.Popen[bytes]
    home: Path
    port: int

    @property
    def var(self) -> Path:
        return self.home / "var"

    @property
    def log_file(self) -> Path:
        return self.var / "log" / "sauti.log"

    def read(self, name: str) -> str:
        path = self.home / name
        return path.read_text(errors="replace") if path.exists() else ""

    @property
    def stdout(self) -> str:
        return self.read("stdout")

    @property
    def stderr(self) -> str:
        return self.read("stderr")

    @property
    def log(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(f"unix://{self.var / 'redis' / 'redis.sock'}")

    def processes(self) -> list[int]:
        """Every process of this run still there: `sauti run` and whatever it started (its
        children have sessions of their own), found by the var directory they were given."""
        marks = (f"SAUTI_VAR_DIR={self.var}".encode(), str(self.var).encode())
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            with contextlib.suppress(OSError):
                seen = (entry / "environ").read_bytes() + (entry / "cmdline").read_bytes()
                if any(mark in seen for mark in marks):
                    found.append(int(entry.name))
        return found

    def kill(self) -> None:
        for pid in self.processes():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)


def _env(home: Path, port: int) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("SAUTI_", "TWILIO_", "AT_"))
        and name not in ("DATABASE_URL", "REDIS_URL")
    }
    env.update(
        {
            "SAUTI_VAR_DIR": str(home / "var"),
            "SAUTI_PORT": str(port),
            "SAUTI_AT_TOKEN": AT_TOKEN,
            "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
            "SAUTI_PSEUDONYM_KEY": PSEUDONYM_KEY,
            "SAUTI_ENCRYPTION_KEY": ENCRYPTION_KEY,
            "SAUTI_LANGUAGES": "sw,fr,en",
        }
    )
    return env


@pytest.fixture
def sauti_run(tmp_path: Path) -> Iterator[Run]:
    """`sauti run` started as its own process group (as a terminal runs `make run`),
    ready: the banner printed, the worker and the scheduler registered in Redis."""
    home = tmp_path / "home"
    home.mkdir()
    port = free_port()
    with (home / "stdout").open("wb") as out, (home / "stderr").open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", "run"],
            cwd=home,
            env=_env(home, port),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
    run = Run(process, home, port)
    try:
        wait_for(
            lambda: BANNER in run.stdout or process.poll() is not None,
            timeout=READY_SECONDS,
            what="the banner",
        )
        assert process.poll() is None, run.stdout + run.stderr + run.log
        # The banner comes once the web server answers, not before.
        assert healthz(port) == 200
        client = run.redis()
        wait_for(lambda: Worker.all(connection=client), timeout=READY_SECONDS, what="the worker")
        wait_for(
            lambda: "CronScheduler" in run.log and "Listening on" in run.log,
            timeout=READY_SECONDS,
            what="the scheduler and the worker in the log",
        )
        client.close()
        yield run
    finally:
        run.kill()


def test_the_banner_says_where_to_dial_once_listening_and_keeps_secrets(sauti_run: Run) -> None:
    out = sauti_run.stdout
    assert out.count(BANNER) == 1
    assert f"--url http://127.0.0.1:{sauti_run.port}" in out
    assert "?token=$SAUTI_AT_TOKEN" in out
    assert "var/log/sauti.log" in out
    for secret in SECRETS:
        assert secret not in out + sauti_run.stderr + sauti_run.log


def test_rq_uvicorn_and_migration_chatter_go_to_the_log_file_only(sauti_run: Run) -> None:
    terminal = sauti_run.stdout + sauti_run.stderr
    for chatter in (" INFO rq.", " INFO uvicorn", " INFO alembic", " INFO httpx"):
        assert chatter not in terminal
    assert " INFO rq.worker: " in sauti_run.log
    assert " INFO rq.cron: " in sauti_run.log
    assert " INFO uvicorn.error: " in sauti_run.log
    assert " INFO alembic." in sauti_run.log


@pytest.mark.parametrize(
    ("to_group", "signum"),
    [(True, signal.SIGTERM), (True, signal.SIGINT), (False, signal.SIGTERM)],
    ids=["SIGTERM to the group", "Ctrl-C", "SIGTERM to sauti run alone"],
)
def test_a_stop_ends_web_worker_and_scheduler_then_redis(
    sauti_run: Run, to_group: bool, signum: int
) -> None:
    if to_group:
        os.killpg(sauti_run.process.pid, signum)
    else:
        sauti_run.process.send_signal(signum)
    try:
        code = sauti_run.process.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        pytest.fail(f"sauti run did not stop:\n{sauti_run.stderr}\n{sauti_run.log}")
    terminal = sauti_run.stdout + sauti_run.stderr
    assert code == 0, terminal
    assert "Traceback" not in terminal
    assert "Traceback" not in sauti_run.log
    log = sauti_run.log
    order = [
        log.index(line)
        for line in ("sauti: web stopped", "sauti: worker stopped", "sauti: scheduler stopped")
    ]
    assert max(order) < log.index("sauti: embedded redis stopped")
    # Redis never went away under the worker or the scheduler...
    for lost in ("lost Redis", "could not connect to Redis", "ConnectionError"):
        assert lost not in log
    # ...and the worker said goodbye to it: started again from the data it saved on its
    # way down, Redis knows no worker.
    server = embedded_redis.start(sauti_run.var)
    try:
        client = redis.Redis.from_url(server.url)
        assert client.dbsize() > 0  # the data of the run, not an empty server
        assert Worker.all(connection=client) == []
        client.close()
    finally:
        server.stop()
    # Nothing of the run is left behind.
    wait_for(lambda: not sauti_run.processes(), timeout=10, what="every process of the run to end")
