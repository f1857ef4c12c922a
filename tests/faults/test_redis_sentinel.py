"""Redis Sentinel: the service reaches Redis through `redis+sentinel://` and rides over a
failover.

Each test starts its own group from the redis-server binary the embedded run uses: a
master, a replica of it, and one sentinel watching them (quorum 1, the master is judged
down after half a second). The master is then killed (SIGKILL, as a crashed machine):
the sentinel promotes the replica, and the same web app and job runner, configured only
with the sentinel URL, carry on against the new master without a restart.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient
from rq import Queue
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from gateway import embedded_redis
from storage import redis_connect
from storage.models import Case, CaseAssignment
from tests.conftest import AT_TOKEN
from tests.faults.conftest import FakeTwilio, Worker, free_port, wait_for
from tests.gateway.conftest import UssdPhone
from workers import queues

SERVICE = "sauti"
NUMBER = "+243812340077"
APOLOGY = "END Sorry, the service is busy"


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2)

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


@dataclass
class SentinelGroup:
    master: Server
    replica: Server
    sentinel: Server

    @property
    def url(self) -> str:
        return f"redis+sentinel://127.0.0.1:{self.sentinel.port}/{SERVICE}/0"

    def master_port(self) -> int | None:
        """The master's port as clients are told it (SENTINEL MASTERS, which names the new
        master only once the failover is complete), None while it is judged down."""
        state = self.sentinel.client().sentinel_master(SERVICE)
        if state.get("is_sdown") or state.get("is_odown"):
            return None
        return int(state["port"])

    def replica_in_step(self) -> bool:
        """The replica holds everything the master has written (offsets equal, link up)."""
        master = self.master.client().info("replication")
        replica = self.replica.client().info("replication")
        return bool(
            replica.get("master_link_status") == "up"
            and replica.get("slave_repl_offset") == master.get("master_repl_offset")
        )

    def sentinel_knows_replica(self) -> bool:
        replicas = self.sentinel.client().sentinel_slaves(SERVICE)
        return any(
            r.get("port") == self.replica.port and not r.get("is_disconnected") for r in replicas
        )

    def fail_over(self) -> None:
        """Kill the master once the replica has all it wrote; wait for the promotion."""
        wait_for(self.replica_in_step, timeout=10, what="the replica to catch up")
        self.master.kill()
        wait_for(
            lambda: self.master_port() == self.replica.port,
            timeout=30,
            what="the sentinel to promote the replica",
        )
        wait_for(
            lambda: self.replica.client().info("replication").get("role") == "master",
            timeout=10,
            what="the replica to take the master role",
        )


def _start(home: Path, name: str, *args: str) -> Server:
    port = free_port()
    command = [
        embedded_redis.server_binary(),
        *args,
        "--port", str(port),
        "--bind", "127.0.0.1",
        "--dir", str(home),
        "--logfile", str(home / f"{name}.log"),
    ]  # fmt: skip
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL)  # noqa: S603
    server = Server(name, port, process)

    def answers() -> bool:
        with contextlib.suppress(redis.RedisError):
            return bool(server.client().ping())
        return False

    wait_for(answers, timeout=10, what=f"redis {name} to answer")
    return server


@pytest.fixture
def group(tmp_path: Path) -> Iterator[SentinelGroup]:
    home = tmp_path / "sentinel-group"
    home.mkdir()
    plain = ("--save", "", "--appendonly", "no")
    master = _start(home, "master", *plain)
    replica = _start(home, "replica", *plain, "--replicaof", "127.0.0.1", str(master.port))
    config = home / "sentinel.conf"
    config.write_text(
        f"sentinel monitor {SERVICE} 127.0.0.1 {master.port} 1\n"
        f"sentinel down-after-milliseconds {SERVICE} 500\n"
        f"sentinel failover-timeout {SERVICE} 10000\n"
        f"sentinel parallel-syncs {SERVICE} 1\n"
    )
    sentinel = _start(home, "sentinel", str(config), "--sentinel")
    servers = [master, replica, sentinel]
    try:
        built = SentinelGroup(master, replica, sentinel)
        wait_for(built.sentinel_knows_replica, timeout=30, what="the sentinel to see the replica")
        yield built
    finally:
        for server in servers:
            server.kill()


# The gateway tests' app, database and job runner (tests/faults/conftest.py) take their
# Redis from these two fixtures: here, the sentinels' master.
@pytest.fixture
def redis_url(group: SentinelGroup) -> str:
    return group.url


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis_connect.connect(redis_url, socket_timeout=2, socket_connect_timeout=2)
    yield client
    client.close()


def fill_report(phone: UssdPhone, *, until: str = "Send") -> None:
    """Answer a report's questions in order, stopping before `until`."""
    steps = [
        ("choose", "English"),
        ("choose", "Report a problem"),
        ("choose", "Accident"),
        ("choose", "North Kivu"),
        ("choose", "Walikale"),
        ("choose", "Bisie"),
        ("choose", "Today"),
        ("choose", "Yes"),
        ("press", "The shaft wall fell on two diggers"),
        ("choose", "No"),
    ]
    for action, value in steps:
        if value == until:
            return
        getattr(phone, action)(value)


def cases(db: sessionmaker[Session]) -> tuple[int, int]:
    with db() as session:
        stored = session.scalar(select(func.count()).select_from(Case))
        routed = session.scalar(select(func.count(func.distinct(CaseAssignment.case_id))))
    return int(stored or 0), int(routed or 0)


def test_a_session_goes_on_after_the_master_dies_and_its_report_is_routed(
    group: SentinelGroup,
    app_client: TestClient,
    redis_client: redis.Redis,
    db: sessionmaker[Session],
    run_jobs: object,
) -> None:
    phone = UssdPhone(client=app_client, number=NUMBER, token=AT_TOKEN)
    phone.dial()
    fill_report(phone, until="Bisie")
    assert phone.last.startswith("CON ")

    group.fail_over()

    # The first hop may meet a connection to the dead master (the apology screen, never
    # a 5xx); the same text again, as the phone's retry sends it, reaches the new master,
    # where the session still is.
    phone.choose("Bisie")
    if phone.last.startswith(APOLOGY):
        phone.last = phone.post("*".join(phone.inputs))
    assert phone.last.startswith("CON "), phone.last
    for label in ("Today", "Yes"):
        phone.choose(label)
    phone.press("The shaft wall fell on two diggers")
    phone.choose("No")
    phone.choose("Send")
    assert phone.last.startswith("END Report sent."), phone.last

    run_jobs()  # type: ignore[operator]
    assert cases(db) == (1, 1)
    assert Queue(queues.ROUTING, connection=redis_client).count == 0
    assert group.replica.client().info("replication")["role"] == "master"


def test_while_there_is_no_master_callers_get_the_apology_then_service_resumes(
    group: SentinelGroup, app_client: TestClient
) -> None:
    phone = UssdPhone(client=app_client, number=NUMBER, token=AT_TOKEN)
    phone.dial()
    group.master.kill()  # no waiting: hops arrive while there is no master at all
    # UssdPhone.post fails the test on any status but 200 and any body but CON/END.
    screens = [phone.post("1") for _ in range(3)]
    assert all(screen.startswith(APOLOGY) for screen in screens), screens
    wait_for(lambda: group.master_port() == group.replica.port, timeout=30, what="the promotion")
    assert phone.dial().startswith("CON "), phone.last


def test_the_readiness_check_follows_the_sentinels(
    group: SentinelGroup, app_client: TestClient
) -> None:
    assert app_client.get("/readyz").json()["redis"] is True
    group.fail_over()

    def ready() -> bool:
        return bool(app_client.get("/readyz").json()["redis"])

    wait_for(ready, timeout=10, what="/readyz to reach the new master")


def file_report(app_client: TestClient, number: str) -> str:
    phone = UssdPhone(client=app_client, number=number, token=AT_TOKEN)
    phone.dial()
    fill_report(phone)
    phone.choose("Send")
    assert phone.last.startswith("END Report sent."), phone.last
    return phone.last


def test_a_worker_process_routes_and_alerts_before_and_after_a_failover(
    group: SentinelGroup,
    app_client: TestClient,
    db: sessionmaker[Session],
    start_worker: Callable[[], Worker],
    fake_twilio: FakeTwilio,
) -> None:
    worker = start_worker()  # `sauti worker` (and the scheduler it forks), sentinel URL only
    file_report(app_client, NUMBER)
    wait_for(lambda: cases(db) == (1, 1), timeout=30, what="the first report to be routed")
    wait_for(lambda: fake_twilio.accepted, timeout=30, what="the first alert to be sent")
    sent_before = len(fake_twilio.accepted)

    group.fail_over()
    file_report(app_client, "+243812340078")
    try:
        wait_for(lambda: cases(db) == (2, 2), timeout=60, what="the second report routed")
        wait_for(
            lambda: len(fake_twilio.accepted) > sent_before, timeout=60, what="the second alert"
        )
    finally:
        print(worker.log.read_text())  # shown by pytest when the test fails
    assert worker.process.poll() is None, worker.log.read_text()


def test_the_scheduler_goes_on_enqueuing_the_sweep_after_a_failover(
    group: SentinelGroup, redis_client: redis.Redis, start_scheduler: Callable[[], Worker]
) -> None:
    maintenance = Queue(queues.MAINTENANCE, connection=redis_client)
    scheduler = start_scheduler()
    try:
        wait_for(lambda: maintenance.count, timeout=30, what="a sweep before the failover")
        group.fail_over()
        maintenance.empty()
        wait_for(lambda: maintenance.count, timeout=30, what="a sweep after the failover")
    finally:
        print(scheduler.log.read_text())  # shown by pytest when the test fails
    assert scheduler.process.poll() is None
