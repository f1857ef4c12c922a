"""USSD hop benchmark: the ladder, from a bare endpoint to Sauti on PostgreSQL, in one run.

Every rung is a uvicorn server on 127.0.0.1 with the same settings (1 worker unless told,
uvloop, httptools, no access log), driven by the same aiohttp client:

  1. bare      a bare FastAPI form endpoint answering `CON` (the yardstick, 1.00);
  2. +redis    the same plus a hop's Redis work (one MGET of 4 keys, one Lua script
               writing 3 keys), on the embedded Redis the SQLite rung uses;
  3. raw+redis the same Redis work as a raw ASGI callable (`parse_qsl`, no framework);
  4. sqlite    Sauti's USSD callback on SQLite and the embedded Redis: complete report
               sessions, each from a new number, dial to case number (12 hops);
  5. postgres  the same on this machine's PostgreSQL (a fresh database) and Redis.

The full-speed phases are interleaved: `--rounds` rounds, each running every rung for
`--seconds`, in a rotating order, so that the machine's drift touches every rung alike.
Then each Sauti rung is paced at `--rate` hops/s for latency by screen, and the SQLite
rung takes `--memory-hops` hops from `--memory-numbers` distinct numbers while its RSS is
read before and after. It prints hops/s, p50/p95/p99, each ratio to the bare rung and to
the "+redis" rung, the p95 of every screen at the paced rate, reports submitted versus
stored, RSS, and whether each target was met. Everything stops by itself.

    python benchmarks/ussd_hops.py [--rounds 3] [--seconds 5] [--rate 200]
        [--paced-seconds 10] [--connections 16] [--workers 1]
        [--memory-hops 50000] [--memory-numbers 30000]
        [--postgres-admin-url URL] [--postgres-redis-url URL] [--no-postgres] [--strict]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import random
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import (  # noqa: E402
    free_port,
    fresh_postgres,
    key,
    percentile,
    service_home,
    wait_up,
)
from gateway.release import database  # noqa: E402
from storage.settings import Settings  # noqa: E402

URL_PATH = "/ussd/africastalking"
DESCRIPTION = "Wall of shaft 3 fell, two diggers trapped"
PLAN: tuple[str, ...] = (
    "English",
    "Report a problem",
    "Accident",
    "North Kivu",
    "Walikale",
    "Bisie",
    "Today",
    "Yes",
    "=" + DESCRIPTION,
    "No",
    "Send",
)
# Screen names for the per-screen figures: the hop that answers with this screen's reply.
SCREENS = ("dial", "language", "menu", "category", "province", "territory", "site", "when",
           "danger", "description", "sms news", "send")  # fmt: skip
# Targets of issue 16, as (rung, reference rung, ratio).
RATIO_TARGETS = (("sqlite", "bare", 0.4), ("sqlite", "+redis", 0.8), ("postgres", "bare", 0.3))
SCREEN_P95_TARGET_MS = 10.0


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    by_screen: dict[str, list[float]] = field(default_factory=dict)
    hops: int = 0
    reports: int = 0
    errors: int = 0
    seconds: float = 0.0
    # The server's own CPU time (user + system) over the phase, in seconds.
    cpu: float = 0.0

    def add(self, other: Tally) -> None:
        self.latencies += other.latencies
        for screen, values in other.by_screen.items():
            self.by_screen.setdefault(screen, []).extend(values)
        self.hops += other.hops
        self.reports += other.reports
        self.errors += other.errors
        self.seconds += other.seconds
        self.cpu += other.cpu

    @property
    def cpu_per_hop(self) -> float:
        """Server CPU µs a hop: unlike hops/s, barely moved by other load on the machine."""
        return self.cpu / self.hops * 1e6 if self.hops else 0.0

    @property
    def rate(self) -> float:
        return self.hops / self.seconds if self.seconds else 0.0

    def ms(self, p: float) -> float:
        return percentile([v * 1000 for v in self.latencies], p)


@dataclass
class Rung:
    name: str
    label: str
    app: str
    env: dict[str, str]
    sauti: bool
    settings: Settings | None = None
    port: int = field(default_factory=free_port)
    server: subprocess.Popen[bytes] | None = None
    full: Tally = field(default_factory=Tally)
    paced: Tally = field(default_factory=Tally)
    submitted: int = 0
    stored_before: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{URL_PATH}"

    @property
    def up_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/healthz"

    def start(self, workers: int) -> None:
        self.server = serve(self.app, self.port, self.env, workers)

    def stop(self) -> None:
        if self.server is not None and self.server.poll() is None:
            self.server.terminate()
            try:
                self.server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.server.kill()


def serve(app: str, port: int, env: dict[str, str], workers: int) -> subprocess.Popen[bytes]:
    """A uvicorn server of the app factory `app` on 127.0.0.1 (the bench's settings)."""
    command = [
        sys.executable, "-m", "uvicorn", app, "--factory", "--host", "127.0.0.1",
        "--port", str(port), "--log-level", "warning", "--no-access-log",
        "--loop", "uvloop", "--http", "httptools", "--workers", str(workers),
    ]  # fmt: skip
    return subprocess.Popen(command, env=env, cwd=ROOT)  # noqa: S603


async def pacer(rate: float, queue: asyncio.Queue[None], until: float) -> None:
    """Put a token in `queue` `rate` times a second until `until` (monotonic)."""
    started, sent = time.monotonic(), 0
    while time.monotonic() < until:
        due = int((time.monotonic() - started) * rate)
        for _ in range(due - sent):
            queue.put_nowait(None)
        sent = max(sent, due)
        await asyncio.sleep(0.001)


def pick(screen: str, label: str) -> str:
    return label[1:] if label.startswith("=") else key(screen, label)


async def post(
    client: aiohttp.ClientSession, url: str, form: dict[str, str], tally: Tally, screen: str
) -> str:
    started = time.perf_counter()
    async with client.post(url, data=form) as response:
        body = await response.text()
        status = response.status
    elapsed = time.perf_counter() - started
    tally.latencies.append(elapsed)
    tally.by_screen.setdefault(screen, []).append(elapsed)
    tally.hops += 1
    if status != 200:
        tally.errors += 1
    return body


class Pace:
    """Tokens at a steady rate; `take` waits for one, or returns False when time is up."""

    def __init__(self, rate: float, until: float) -> None:
        self.queue: asyncio.Queue[None] = asyncio.Queue()
        self.rate, self.until = rate, until

    async def feed(self) -> None:
        await pacer(self.rate, self.queue, self.until)

    async def take(self) -> bool:
        try:
            await asyncio.wait_for(
                self.queue.get(), timeout=max(0.001, self.until - time.monotonic())
            )
        except TimeoutError:
            return False
        return True


def new_form(phone: str) -> dict[str, str]:
    return {"sessionId": f"B{random.getrandbits(64):x}", "serviceCode": "*384*123#",
            "phoneNumber": phone, "networkCode": "63001", "text": ""}  # fmt: skip


# Every report session dials from a number never used before in the run (a number that
# chose its language is offered the main menu instead of the language list).
_NUMBERS = itertools.count(random.randrange(10**6))


def new_phone() -> str:
    return f"+24381{next(_NUMBERS) % 10**7:07d}"


async def report_session(
    client: aiohttp.ClientSession, url: str, tally: Tally, pace: Pace | None
) -> bool:
    """One complete report, first dial to case number, from a new number; False if the
    phase ended first (the session is abandoned, its hops counted)."""
    form = new_form(new_phone())
    inputs: list[str] = []
    screen = ""
    for name, label in zip(SCREENS, (None, *PLAN), strict=True):
        if label is not None:
            inputs.append(pick(screen, label))
        if pace is not None and not await pace.take():
            return False
        screen = (await post(client, url, {**form, "text": "*".join(inputs)}, tally, name))[4:]
    if screen.startswith("Report sent."):
        tally.reports += 1
    return True


async def bare_loop(client: aiohttp.ClientSession, url: str, tally: Tally, until: float) -> None:
    while time.monotonic() < until:
        form = new_form("+243810000000")
        await post(client, url, {**form, "text": "1*2"}, tally, "bare")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its children (uvicorn workers), seconds."""
    total = 0.0
    pending = [pid]
    tick = os.sysconf("SC_CLK_TCK")
    while pending:
        current = pending.pop()
        with contextlib.suppress(OSError):
            # Fields after the command name (which may hold spaces) start at "state".
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(child) for child in (task / "children").read_text().split()]
    return total


async def run_phase(
    rung: Rung, seconds: float, connections: int, rate: float | None = None
) -> Tally:
    tally = Tally()
    assert rung.server is not None
    cpu_before = cpu_seconds(rung.server.pid)
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as client:
        until = time.monotonic() + seconds
        pace = Pace(rate, until) if rate else None

        async def sessions() -> None:
            while time.monotonic() < until:
                if not await report_session(client, rung.url, tally, pace):
                    return

        started = time.monotonic()
        tasks = [
            sessions() if rung.sauti else bare_loop(client, rung.url, tally, until)
            for _ in range(connections)
        ]
        if pace is not None:
            tasks.append(pace.feed())
        await asyncio.gather(*tasks)
        tally.seconds = time.monotonic() - started
    tally.cpu = cpu_seconds(rung.server.pid) - cpu_before
    rung.submitted += tally.reports
    return tally


async def warm_up(rung: Rung, connections: int) -> None:
    """Imports, caches and connection pools warmed outside the count (reports counted)."""
    if rung.sauti:
        rung.stored_before = stored_in(rung)
    tally = await run_phase(rung, 1.0, min(4, connections))
    if tally.errors:
        raise RuntimeError(f"{rung.label}: {tally.errors} errors while warming up")


async def memory_phase(rung: Rung, hops: int, numbers: int, connections: int) -> Tally:
    """`hops` hops from `numbers` distinct numbers: every number dials; the first
    `hops - numbers` of them choose their language too. No report is filed."""
    tally = Tally()
    twice = max(0, min(numbers, hops - numbers))
    plan: Iterator[int] = iter(range(numbers))
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as client:

        async def worker() -> None:
            for index in plan:
                form = new_form(f"+24382{index:07d}")
                screen = (await post(client, rung.url, form, tally, "dial"))[4:]
                if index < twice:
                    choice = {**form, "text": key(screen, "English")}
                    await post(client, rung.url, choice, tally, "language")

        started = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(connections)))
        tally.seconds = time.monotonic() - started
    return tally


def rss_mib(pid: int) -> float:
    """Resident memory of a process and its children (uvicorn workers), in MiB."""
    total = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        with contextlib.suppress(OSError):
            status = Path(f"/proc/{current}/status").read_text()
            found = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
            total += int(found.group(1)) if found else 0
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                pending += [int(child) for child in children]
    return total / 1024


def stored_reports(settings: Settings) -> int:
    """How many cases the database of `settings` holds."""
    from sqlalchemy import func, select

    from storage.models import Case

    with database(settings) as sessions, sessions() as session:
        return int(session.scalar(select(func.count()).select_from(Case)) or 0)


def stored_in(rung: Rung) -> int:
    assert rung.settings is not None
    return stored_reports(rung.settings)


def ratio(rungs: dict[str, Rung], name: str, reference: str) -> float | None:
    if name not in rungs or reference not in rungs or not rungs[reference].full.rate:
        return None
    return rungs[name].full.rate / rungs[reference].full.rate


def report(rungs: dict[str, Rung], args: argparse.Namespace, memory: dict[str, float]) -> bool:
    """Print the figures; return whether every target was met."""
    met_all = True
    print()
    print(f"Full speed, {args.rounds} interleaved rounds of {args.seconds:g} s per rung:")
    print(f"  {'rung':<34} {'hops/s':>8} {'p50':>7} {'p95':>7} {'p99':>7} "
          f"{'errors':>6} {'×bare':>6} {'×+redis':>8} {'server CPU µs/hop':>18}")  # fmt: skip
    for name, rung in rungs.items():
        to_bare, to_redis = ratio(rungs, name, "bare"), ratio(rungs, name, "+redis")
        print(
            f"  {rung.label:<34} {rung.full.rate:8.0f} {rung.full.ms(50):6.2f}ms "
            f"{rung.full.ms(95):6.2f}ms {rung.full.ms(99):6.2f}ms {rung.full.errors:6d} "
            f"{to_bare or 0:6.2f} {to_redis or 0:8.2f} {rung.full.cpu_per_hop:18.0f}"
        )
    for name, rung in rungs.items():
        if not rung.sauti:
            continue
        paced = rung.paced
        print()
        print(
            f"{rung.label}, paced at {args.rate:g} hops/s for {args.paced_seconds:g} s: "
            f"{paced.rate:.0f} hops/s, p50 {paced.ms(50):.2f} ms, p95 {paced.ms(95):.2f} ms, "
            f"p99 {paced.ms(99):.2f} ms, errors {paced.errors}, "
            f"server CPU {paced.cpu_per_hop:.0f} µs/hop"
        )
        worst = 0.0
        parts = []
        for screen in SCREENS:
            values = [v * 1000 for v in paced.by_screen.get(screen, [])]
            p95 = percentile(values, 95)
            worst = max(worst, p95)
            parts.append(f"{screen} {p95:.1f}")
        print("  p95 ms by screen: " + ", ".join(parts))
        if name == "postgres":
            met = worst <= SCREEN_P95_TARGET_MS and bool(paced.hops)
            met_all &= met
            print(
                f"  target: every screen's p95 <= {SCREEN_P95_TARGET_MS:g} ms at "
                f"{args.rate:g} hops/s: {'MET' if met else 'MISSED'} (worst {worst:.1f} ms)"
            )
    print()
    for rung in rungs.values():
        if rung.sauti:
            stored = stored_in(rung) - rung.stored_before
            lost = rung.submitted - stored
            met_all &= lost == 0
            print(
                f"{rung.label}: reports submitted {rung.submitted}, stored {stored}, "
                f"lost {lost} ({'MET' if lost == 0 else 'MISSED'}: zero lost)"
            )
    if memory and "after" not in memory:
        print()
        print(f"RSS of the SQLite rung's web process: idle {memory['idle']:.1f} MiB")
    elif memory:
        print()
        print(
            f"RSS of the SQLite rung's web process: idle {memory['idle']:.1f} MiB, "
            f"after the ladder {memory['before']:.1f} MiB, after {memory['hops']:.0f} more "
            f"hops from {memory['numbers']:.0f} distinct numbers {memory['after']:.1f} MiB "
            f"({memory['after'] - memory['before']:+.1f} MiB; {memory['rate']:.0f} hops/s)"
        )
    print()
    for name, reference, wanted in RATIO_TARGETS:
        found = ratio(rungs, name, reference)
        if found is None:
            print(f"target {name} >= {wanted} x {reference}: NOT MEASURED")
            met_all = False
            continue
        met = found >= wanted
        met_all &= met
        print(
            f"target {rungs[name].label} >= {wanted} x {rungs[reference].label}: "
            f"{found:.2f}, {'MET' if met else 'MISSED'}"
        )
    return met_all


def load_average() -> str:
    with contextlib.suppress(OSError):
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    return "?"


async def measure(rungs: dict[str, Rung], args: argparse.Namespace) -> dict[str, float]:
    for rung in rungs.values():
        rung.start(args.workers)
    for rung in rungs.values():
        await wait_up(rung.up_url, timeout=60)
    for rung in rungs.values():
        await warm_up(rung, args.connections)
    memory: dict[str, float] = {}
    sqlite = rungs["sqlite"]
    assert sqlite.server is not None
    memory["idle"] = rss_mib(sqlite.server.pid)
    print(
        f"{os.cpu_count()} cores, load average {load_average()}, {args.connections} "
        f"connections, {args.workers} uvicorn worker(s) a rung (uvloop, httptools)"
    )
    order = list(rungs.values())
    for round_number in range(args.rounds):
        shift = round_number % len(order)
        for rung in order[shift:] + order[:shift]:
            rung.full.add(await run_phase(rung, args.seconds, args.connections))
    for rung in order:
        if rung.sauti:
            rung.paced.add(await run_phase(rung, args.paced_seconds, args.connections, args.rate))
    if args.memory_hops:
        memory["before"] = rss_mib(sqlite.server.pid)
        tally = await memory_phase(sqlite, args.memory_hops, args.memory_numbers, args.connections)
        memory.update(
            after=rss_mib(sqlite.server.pid),
            hops=tally.hops,
            numbers=args.memory_numbers,
            rate=tally.rate,
        )
        if tally.errors:
            print(f"memory phase: {tally.errors} errors")
    print(f"load average at the end {load_average()}")
    return memory


@contextlib.contextmanager
def postgres_home(args: argparse.Namespace) -> Iterator[tuple[Settings, dict[str, str]] | None]:
    """The PostgreSQL rung's home (a fresh database, a flushed Redis database), or None
    when told to leave it out or when either server does not answer (said so)."""
    if args.no_postgres:
        yield None
        return
    try:
        import psycopg
        import redis

        redis.Redis.from_url(args.postgres_redis_url, socket_timeout=2).flushdb()
        psycopg.connect(args.postgres_admin_url, connect_timeout=3).close()
    except Exception as error:  # a missing server leaves the rung out, said so
        print(f"PostgreSQL rung left out: {error}")
        yield None
        return
    with (
        fresh_postgres(args.postgres_admin_url, "sauti_bench_hops") as url,
        service_home(
            "sauti-bench-pg-", database_url=url, redis_url=args.postgres_redis_url
        ) as home,
    ):
        yield home


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0, help="a rung's time per round")
    parser.add_argument("--rate", type=float, default=200.0, help="hops/s of the paced phase")
    parser.add_argument("--paced-seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers, every rung")
    parser.add_argument("--memory-hops", type=int, default=50_000, help="0: no memory phase")
    parser.add_argument("--memory-numbers", type=int, default=30_000)
    parser.add_argument(
        "--postgres-admin-url",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="where the fresh database sauti_bench_hops is made",
    )
    parser.add_argument(
        "--postgres-redis-url",
        default="redis://127.0.0.1:6379/8",
        help="the PostgreSQL rung's Redis (flushed first)",
    )
    parser.add_argument("--no-postgres", action="store_true", help="leave out the PostgreSQL rung")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    if args.memory_hops and args.memory_numbers > args.memory_hops:
        parser.error("--memory-numbers cannot exceed --memory-hops")
    met = True
    with (
        service_home("sauti-bench-", database_url="", redis_url="") as (settings, env),
        postgres_home(args) as pg,
    ):
        rungs = {
            "bare": Rung("bare", "bare FastAPI form", "benchmarks.bare_app:create_app", env, False),
            "+redis": Rung(
                "+redis", "bare + a hop's Redis work", "benchmarks.bare_app:create_redis_app",
                env, False,
            ),
            "raw+redis": Rung(
                "raw+redis", "raw ASGI + a hop's Redis work",
                "benchmarks.bare_app:create_raw_redis_app", env, False,
            ),
            "sqlite": Rung(
                "sqlite", "Sauti, SQLite + embedded Redis", "gateway.app:create_app", env, True,
                settings,
            ),
        }  # fmt: skip
        if pg is not None:
            pg_settings, pg_env = pg
            rungs["postgres"] = Rung(
                "postgres", "Sauti, PostgreSQL + Redis", "gateway.app:create_app", pg_env,
                True, pg_settings,
            )  # fmt: skip
        try:
            memory = asyncio.run(measure(rungs, args))
            met = report(rungs, args, memory)
        finally:
            for rung in rungs.values():
                rung.stop()
    print()
    print("every target met" if met else "some targets missed (see above)")
    if args.strict and not met:
        sys.exit(1)


if __name__ == "__main__":
    main()
