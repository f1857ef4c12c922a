"""Fault fixtures: a Redis server of this test's own that can be stopped and started again,
a throwaway PostgreSQL cluster, a fake Twilio REST API on loopback, and worker processes.

Nothing here touches the machine's shared Redis or PostgreSQL: a fault is always caused on
a server the test started itself, and every wait polls against a deadline.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
import redis
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from gateway import embedded_redis
from gateway.channels.twilio.send import RebasedHttpClient, TwilioProvider
from storage import outbox
from storage.db import utcnow
from storage.models import OutboxMessage, RecipientKind
from storage.settings import Settings
from tests.gateway import conftest as gateway_fixtures
from workers import context
from workers.context import WorkerContext
from workers.outbound import Senders

ROOT = Path(__file__).resolve().parents[2]
PG_BIN = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
ACCOUNT = "AC" + "0" * 32
MEMBER = "+243810000011"
CLIENT_TIMEOUT = 0.5
MESSAGES_PATH = f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"


def wait_for(check: Callable[[], Any], *, timeout: float, what: str) -> Any:
    """Poll `check` until it returns something truthy; fail with `what` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


# -- Redis ----------------------------------------------------------------------------------


@dataclass
class RedisServer:
    """A redis-server of this test's own on a unix socket; `stop` and `start` keep its
    address, and its data survives a clean restart (saved on shutdown, as in production)."""

    home: Path
    server: embedded_redis.EmbeddedRedis | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.home / 'redis' / 'redis.sock'}"

    def start(self) -> None:
        self.server = embedded_redis.start(self.home)

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(home=tmp_path / "fault-redis")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    return redis_server.url


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    """A client of the test's own server (nothing to flush: the server goes with the test)."""
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


# -- the app, jobs and what they stored -------------------------------------------------------


# The running app, database sessions and the job runner of the gateway tests; they use
# this folder's `redis_client`.
app_client = gateway_fixtures.app_client
db = gateway_fixtures.db
run_jobs = gateway_fixtures.run_jobs


def outbox_rows(db: sessionmaker[Session]) -> list[OutboxMessage]:
    with db() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


# -- PostgreSQL -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Cluster:
    """A PostgreSQL cluster in a temporary directory, on a loopback port of its own."""

    home: Path
    port: int
    bin: Path

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if os.geteuid() == 0:  # initdb and postgres refuse to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=60)  # noqa: S603

    def init(self) -> None:
        self._run("initdb", "-D", str(self.home / "data"), "-A", "trust", "-U", "postgres",
                  "--no-sync", "-E", "UTF8")  # fmt: skip

    def start(self) -> None:
        options = f"-p {self.port} -k {self.home} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.home / "data"), "-o", options,
                  "-l", str(self.home / "log"), "-w", "start")  # fmt: skip

    def crash(self) -> None:
        """Stop at once, as a crash or a network cut would: open transactions are lost."""
        self._run("pg_ctl", "-D", str(self.home / "data"), "-m", "immediate", "-w", "stop")


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    if not PG_BIN:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    home = Path(tempfile.mkdtemp(prefix="sauti-faults-pg-"))
    if os.geteuid() == 0:
        shutil.chown(home, user="postgres")
    found = Cluster(home=home, port=free_port(), bin=PG_BIN[-1].parent)
    found.init()
    found.start()
    yield found
    with contextlib.suppress(subprocess.CalledProcessError):
        found.crash()
    shutil.rmtree(home, ignore_errors=True)


# -- a fake Twilio REST API -------------------------------------------------------------------


@dataclass
class FakeTwilio:
    """Twilio's Messages API on loopback, answering from a script of behaviours in order:
    an HTTP status (201 creates a message), "hold" (never answer: a provider that hangs)."""

    script: list[int | str] = field(default_factory=list)
    accepted: list[dict[str, str]] = field(default_factory=list)
    requests: int = 0
    released: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def next_answer(self) -> int | str:
        with self.lock:
            self.requests += 1
            return self.script.pop(0) if self.script else 201


def _handler(fake: FakeTwilio) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            form = dict(parse_qsl(self.rfile.read(length).decode()))
            answer = fake.next_answer() if self.path == MESSAGES_PATH else 404
            if answer == "hold":
                fake.released.wait(timeout=60)
                return
            status = int(answer)
            body: dict[str, object]
            if status == 201:
                sid = "SM" + secrets.token_hex(16)
                with fake.lock:
                    fake.accepted.append({**form, "sid": sid})
                body = {"sid": sid, "status": "queued", "account_sid": ACCOUNT}
            else:
                body = {
                    "code": 20500 if status >= 500 else 20000 + status,
                    "message": "fault",
                    "status": status,
                }
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            with contextlib.suppress(OSError):
                self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            return None

    return Handler


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilio]:
    fake = FakeTwilio()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    fake.port = int(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield fake
    fake.released.set()
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


@pytest.fixture
def twilio_ctx(
    settings: Settings, redis_client: redis.Redis, fake_twilio: FakeTwilio
) -> Iterator[WorkerContext]:
    """The jobs' context, installed in this process, sending through Twilio at the fake's
    address (with a short timeout)."""
    provider = TwilioProvider(
        account_sid=settings.twilio_account_sid,
        auth_token=settings.twilio_auth_token,
        sender=settings.twilio_from,
        status_callback=settings.sauti_public_url + "/sms/twilio/status",
        http_client=RebasedHttpClient(fake_twilio.url, timeout=CLIENT_TIMEOUT),
    )
    built = context.build(settings, senders=Senders.only(provider))
    context.use(built)
    yield built
    context.use(None)


def queue_alert(ctx: WorkerContext) -> int:
    with ctx.sessions.begin() as session:
        message = outbox.queue_sms(
            session=session,
            crypto=ctx.crypto,
            dedupe_key="fault:provider",
            to_e164=MEMBER,
            body="Sauti case 482-177-3506: an urgent report in your area",
            language="en",
            kind="alert",
            recipient_kind=RecipientKind.MEMBER,
            now=utcnow(),
        )
        assert message is not None
        return message.id


# -- worker processes -------------------------------------------------------------------------


@dataclass
class Worker:
    """A `sauti worker` process (and the scheduler it forks) in a process group of its own."""

    process: subprocess.Popen[bytes]
    log: Path

    def kill(self) -> None:
        """SIGKILL: no clean-up, no goodbye to RQ, as the OOM killer or a lost host does."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        with contextlib.suppress(ProcessLookupError):  # the forked scheduler, if it lingers
            os.killpg(self.process.pid, signal.SIGKILL)


@pytest.fixture
def start_worker(
    settings: Settings, fake_twilio: FakeTwilio, tmp_path: Path
) -> Iterator[Callable[[], Worker]]:
    """Start `sauti worker` processes that send through Twilio, reaching the fake API."""
    env = {
        **os.environ,
        "DATABASE_URL": settings.db_url,
        "REDIS_URL": settings.redis_url,
        "SAUTI_VAR_DIR": str(settings.sauti_var_dir),
        "SAUTI_PSEUDONYM_KEY": settings.sauti_pseudonym_key,
        "SAUTI_ENCRYPTION_KEY": settings.sauti_encryption_key,
        "SAUTI_PUBLIC_URL": settings.sauti_public_url,
        "SAUTI_SMS_PROVIDER": "twilio",
        "TWILIO_ACCOUNT_SID": settings.twilio_account_sid,
        "TWILIO_AUTH_TOKEN": settings.twilio_auth_token,
        "TWILIO_FROM": settings.twilio_from,
        "FAULTS_TWILIO_URL": fake_twilio.url,
        "PYTHONPATH": str(ROOT),
    }

    yield from _processes(["tests.faults.worker_main"], env, tmp_path / "worker")


@pytest.fixture
def start_scheduler(settings: Settings, tmp_path: Path) -> Iterator[Callable[[], Worker]]:
    """Start `sauti scheduler` processes on the test's database and Redis, with a sweep
    every second."""
    env = {
        **os.environ,
        "DATABASE_URL": settings.db_url,
        "REDIS_URL": settings.redis_url,
        "SAUTI_VAR_DIR": str(settings.sauti_var_dir),
        "SAUTI_PSEUDONYM_KEY": settings.sauti_pseudonym_key,
        "SAUTI_ENCRYPTION_KEY": settings.sauti_encryption_key,
        "SAUTI_SWEEP_INTERVAL": "1",
        "PYTHONPATH": str(ROOT),
    }

    yield from _processes(["gateway.cli", "scheduler"], env, tmp_path / "scheduler")


def _processes(
    module: list[str], env: dict[str, str], logs: Path
) -> Iterator[Callable[[], Worker]]:
    """A starter of `python -m MODULE…` processes, each in a process group of its own and
    logging to `logs-N.log`; every one started is stopped when the test ends."""
    started: list[Worker] = []

    def start() -> Worker:
        log = logs.with_name(f"{logs.name}-{len(started)}.log")
        with log.open("wb") as out:
            process = subprocess.Popen(  # noqa: S603 (the fixtures' own module names)
                [sys.executable, "-m", *module],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        started.append(Worker(process=process, log=log))
        return started[-1]

    yield start
    for process in started:
        process.stop()
