"""USSD hop benchmark: complete report sessions over HTTP against the real app under uvicorn.

Prints, for the same server settings and the same aiohttp client:
  - a bare FastAPI form endpoint at full speed (the yardstick),
  - the Sauti USSD callback at full speed (complete report sessions),
  - the Sauti USSD callback paced at a steady rate (latency percentiles at that rate),
and the reports submitted versus stored. Everything runs on 127.0.0.1 and stops by itself.

    python benchmarks/ussd_hops.py [--seconds 10] [--rate 200] [--connections 16]
        [--database-url URL] [--redis-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import free_port, key, percentile, service_home, wait_up  # noqa: E402
from gateway.release import database  # noqa: E402
from storage.settings import Settings  # noqa: E402

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


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    by_step: dict[str, list[float]] = field(default_factory=dict)
    hops: int = 0
    reports: int = 0
    errors: int = 0


def serve(app: str, port: int, env: dict[str, str], workers: int) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-m", "uvicorn", app, "--factory", "--host", "127.0.0.1",
        "--port", str(port), "--log-level", "warning", "--no-access-log",
        "--loop", "uvloop", "--http", "httptools", "--workers", str(workers),
    ]  # fmt: skip
    return subprocess.Popen(command, env=env, cwd=ROOT)  # noqa: S603


def pick(screen: str, label: str) -> str:
    return label[1:] if label.startswith("=") else key(screen, label)


async def post(
    client: aiohttp.ClientSession, url: str, form: dict[str, str], tally: Tally, step: str = ""
) -> str:
    started = time.perf_counter()
    async with client.post(url, data=form) as response:
        body = await response.text()
        status = response.status
    elapsed = time.perf_counter() - started
    tally.latencies.append(elapsed)
    tally.by_step.setdefault(step, []).append(elapsed)
    tally.hops += 1
    if status != 200:
        tally.errors += 1
    return body


async def report_session(
    client: aiohttp.ClientSession,
    url: str,
    tally: Tally,
    pace: asyncio.Queue[None] | None,
    until: float | None = None,
) -> None:
    """One complete report, first dial to case number, from a new number."""
    phone = f"+24381{random.randrange(10**7):07d}"
    form = {"sessionId": f"B{random.getrandbits(64):x}", "serviceCode": "*384*123#",
            "phoneNumber": phone, "networkCode": "63001", "text": ""}  # fmt: skip
    inputs: list[str] = []
    screen = ""
    for label in (None, *PLAN):
        if label is not None:
            inputs.append(pick(screen, label))
        if pace is not None and until is not None:
            try:
                await asyncio.wait_for(pace.get(), timeout=max(0.001, until - time.monotonic()))
            except TimeoutError:
                return  # the phase is over: this session is abandoned, not counted
        step = label.lstrip("=")[:12] if label else "dial"
        screen = (await post(client, url, {**form, "text": "*".join(inputs)}, tally, step))[4:]
    if screen.startswith("Report sent."):
        tally.reports += 1


async def bare_loop(client: aiohttp.ClientSession, url: str, tally: Tally, until: float) -> None:
    form = {"sessionId": "B", "serviceCode": "*384*123#", "phoneNumber": "+243", "text": "1*2"}
    while time.monotonic() < until:
        await post(client, url, form, tally)


async def session_loop(
    client: aiohttp.ClientSession,
    url: str,
    tally: Tally,
    until: float,
    pace: asyncio.Queue[None] | None,
) -> None:
    while time.monotonic() < until:
        await report_session(client, url, tally, pace, until)


async def pacer(rate: float, queue: asyncio.Queue[None], until: float) -> None:
    started = time.monotonic()
    sent = 0
    while time.monotonic() < until:
        due = int((time.monotonic() - started) * rate)
        for _ in range(due - sent):
            queue.put_nowait(None)
        sent = max(sent, due)
        await asyncio.sleep(0.001)


async def run_phase(
    url: str, seconds: float, connections: int, *, bare: bool = False, rate: float | None = None
) -> tuple[Tally, float]:
    tally = Tally()
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as client:
        # Warm up the server process (imports, caches, connection pools) outside the count.
        warm = Tally()
        await asyncio.gather(
            *(report_session(client, url, warm, None) for _ in range(2))
        ) if not bare else None
        until = time.monotonic() + seconds
        pace: asyncio.Queue[None] | None = asyncio.Queue() if rate else None
        started = time.monotonic()
        tasks = [
            bare_loop(client, url, tally, until)
            if bare
            else session_loop(client, url, tally, until, pace)
            for _ in range(connections)
        ]
        if rate and pace is not None:
            tasks.append(pacer(rate, pace, until))
        await asyncio.gather(*tasks)
        elapsed = time.monotonic() - started
    return tally, elapsed


def describe_steps(tally: Tally) -> None:
    """p95 by screen: where the slow hops are (those that touch the database)."""
    parts = [
        f"{step} {percentile([v * 1000 for v in values], 95):.1f}"
        for step, values in tally.by_step.items()
    ]
    print("  p95 ms by hop: " + ", ".join(parts))


def describe(name: str, tally: Tally, elapsed: float) -> float:
    rate = tally.hops / elapsed
    ms = [v * 1000 for v in tally.latencies]
    print(
        f"{name:<28} {rate:8.0f} hops/s  p50 {percentile(ms, 50):6.2f} ms  "
        f"p95 {percentile(ms, 95):6.2f} ms  p99 {percentile(ms, 99):6.2f} ms  "
        f"errors {tally.errors}  reports {tally.reports}"
    )
    return rate


async def server_p95(metrics_url: str, before: dict[str, float]) -> tuple[float, dict[str, float]]:
    """The bucket bound under which 95% of the server's own hop timings fell in this phase."""
    async with aiohttp.ClientSession() as client, client.get(metrics_url) as response:
        text = await response.text()
    now = {
        le: float(v)
        for le, v in re.findall(
            r'sauti_hop_seconds_bucket\{channel="ussd",le="([^"]+)"\} (\S+)', text
        )
    }
    delta = {le: now[le] - before.get(le, 0.0) for le in now}
    total = delta.get("+Inf", 0.0)
    for le, count in sorted(
        ((k, v) for k, v in delta.items() if k != "+Inf"), key=lambda kv: float(kv[0])
    ):
        if total and count >= 0.95 * total:
            return float(le) * 1000, now
    return float("inf"), now


def stored_reports(settings: Settings) -> int:
    from sqlalchemy import func, select

    from storage.models import Case

    with database(settings) as sessions, sessions() as session:
        return int(session.scalar(select(func.count()).select_from(Case)) or 0)


async def main_async(args: argparse.Namespace, settings: Settings, env: dict[str, str]) -> None:
    app_port, bare_port = free_port(), free_port()
    servers = [
        serve("gateway.app:create_app", app_port, env, args.workers),
        serve("benchmarks.bare_app:create_app", bare_port, env, args.workers),
    ]
    try:
        app = f"http://127.0.0.1:{app_port}"
        bare = f"http://127.0.0.1:{bare_port}"
        await wait_up(app + "/healthz")
        await wait_up(bare + "/docs")
        print(
            f"{os.cpu_count()} cores, {args.connections} connections, "
            f"{args.seconds:.0f} s a phase, "
            f"database {settings.db_url.split(':')[0]}, "
            f"{args.workers} uvicorn worker(s) each (uvloop, httptools)"
        )
        bare_tally, bare_time = await run_phase(
            bare + "/ussd/africastalking", args.seconds, args.connections, bare=True
        )
        bare_rate = describe("bare FastAPI endpoint", bare_tally, bare_time)
        _, before = await server_p95(app + "/metrics", {})
        full, full_time = await run_phase(
            app + "/ussd/africastalking", args.seconds, args.connections
        )
        full_rate = describe("Sauti, full speed", full, full_time)
        p95_full, before = await server_p95(app + "/metrics", before)
        paced, paced_time = await run_phase(
            app + "/ussd/africastalking", args.seconds, args.connections, rate=args.rate
        )
        describe(f"Sauti, paced at {args.rate:.0f}/s", paced, paced_time)
        describe_steps(paced)
        p95_paced, _ = await server_p95(app + "/metrics", before)
        submitted = full.reports + paced.reports
        stored = stored_reports(settings) - 4  # the warm-up sessions of the two app phases
        print(
            f"server-side p95 (histogram bucket bound): full speed <= {p95_full:g} ms, "
            f"paced <= {p95_paced:g} ms"
        )
        print(f"ratio to bare endpoint: {full_rate / bare_rate:.2f}")
        print(f"reports submitted {submitted}, stored {stored}, lost {submitted - stored}")
        print(f"mean hop at full speed {statistics.fmean(full.latencies) * 1000:.2f} ms")
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--rate", type=float, default=200.0, help="hops per second in the paced phase"
    )
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers, both servers")
    parser.add_argument("--database-url", default="", help="default: a fresh SQLite file")
    parser.add_argument("--redis-url", default="", help="default: an embedded redis-server")
    args = parser.parse_args()
    home = service_home("sauti-bench-", database_url=args.database_url, redis_url=args.redis_url)
    with home as (settings, env):
        asyncio.run(main_async(args, settings, env))


if __name__ == "__main__":
    main()
