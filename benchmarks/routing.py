"""Routing benchmark: from a report submitted over USSD to its committee alert in the outbox.

Starts the service as it runs in production, on 127.0.0.1: `sauti web` (uvicorn) and one or
more `sauti worker` processes (RQ), on a fresh database with the demo places and
committees. Reports are then filed at a steady rate, each from a new number, at mine
sites of four committees; each report is a dial with its inputs typed ahead, the
description, the SMS-news answer and Send. A poller watches the outbox table and the
console provider's file and notes when each case's first alert appears in each.

Prints the latency from pressing Send to the first alert row (queued in the outbox) and to
the first alert handed to the provider (a line in the console outbox), p50/p95/max, and the
reports lost (submitted but never alerted). Stops by itself.

    python benchmarks/routing.py [--seconds 20] [--rate 10] [--workers 2]
        [--database-url URL] [--redis-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
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

from sqlalchemy import select  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from benchmarks.common import free_port, key, percentile, service_home, wait_up  # noqa: E402
from gateway.release import database  # noqa: E402
from storage.models import Case, OutboxMessage  # noqa: E402
from storage.settings import Settings  # noqa: E402

# Sites of four committees (Walikale, Uvira, Pangi, Bukama); the caller's number presets DRC.
SITES = (
    ("North Kivu", "Walikale", "Bisie"),
    ("South Kivu", "Uvira", "Lemera"),
    ("Maniema", "Pangi", "Kalima"),
    ("Haut-Lomami", "Bukama", "Luena"),
)
CATEGORIES = ("Illegal tax", "Accident", "Children working", "Violence")
DESCRIPTION = "Soldiers stop diggers at the barrier and take 5000 francs from each"
NUMBER = re.compile(r"\d{3}-\d{3}-\d{4}")
POLL_SECONDS = 0.02


@dataclass(frozen=True)
class Route:
    """The keys to type, learnt once by walking the menus: up to the description prompt,
    then after it (SMS news: no; Send)."""

    before: tuple[str, ...]
    after: tuple[str, ...]


@dataclass
class Run:
    submitted: dict[str, float] = field(default_factory=dict)  # case number -> Send pressed
    queued: dict[str, float] = field(default_factory=dict)  # first alert row seen
    sent: dict[str, float] = field(default_factory=dict)  # first console line seen
    errors: int = 0


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "gateway.cli", *args], env=env, cwd=ROOT)  # noqa: S603


def new_phone() -> str:
    return f"+24382{random.randrange(10**7):07d}"


async def hop(client: aiohttp.ClientSession, url: str, form: dict[str, str], text: str) -> str:
    async with client.post(url, data={**form, "text": text}) as response:
        body = await response.text()
    if response.status != 200 or not body.startswith(("CON ", "END ")):
        raise RuntimeError(f"hop answered {response.status}: {body[:80]!r}")
    return body[4:]


async def learn(
    client: aiohttp.ClientSession, url: str, site: tuple[str, ...], category: str
) -> Route:
    """Walk one report hop by hop to learn the keys of its route."""
    form = {"sessionId": f"L{random.getrandbits(48):x}", "serviceCode": "*384*123#",
            "phoneNumber": new_phone(), "networkCode": "63001"}  # fmt: skip
    typed: list[str] = []
    screen = await hop(client, url, form, "")
    for label in ("English", "Report a problem", category, *site, "Today", "No"):
        typed.append(key(screen, label))
        screen = await hop(client, url, form, "*".join(typed))
    before = tuple(typed)
    screen = await hop(client, url, form, "*".join([*typed, DESCRIPTION]))
    no = key(screen, "No")
    screen = await hop(client, url, form, "*".join([*typed, DESCRIPTION, no]))
    send = key(screen, "Send")
    await hop(client, url, form, "*".join([*typed, DESCRIPTION, no, send]))
    return Route(before, (no, send))


async def report(client: aiohttp.ClientSession, url: str, route: Route, run: Run) -> None:
    """File one report from a new number: four hops; the last one is Send."""
    form = {"sessionId": f"B{random.getrandbits(64):x}", "serviceCode": "*384*123#",
            "phoneNumber": new_phone(), "networkCode": "63001"}  # fmt: skip
    try:
        await hop(client, url, form, "*".join(route.before))
        await hop(client, url, form, "*".join([*route.before, DESCRIPTION]))
        typed = [*route.before, DESCRIPTION, route.after[0]]
        await hop(client, url, form, "*".join(typed))
        pressed = time.time()
        final = await hop(client, url, form, "*".join([*typed, route.after[1]]))
    except (aiohttp.ClientError, RuntimeError):
        run.errors += 1
        return
    found = NUMBER.search(final)
    if found is None:
        run.errors += 1
        return
    run.submitted[found.group(0).replace("-", "")] = pressed


def first_alerts(
    sessions: sessionmaker[Session], after_id: int
) -> tuple[list[tuple[int, str]], int]:
    with sessions() as session:
        rows = session.execute(
            select(OutboxMessage.id, Case.number)
            .join(Case, OutboxMessage.case_id == Case.id)
            .where(OutboxMessage.kind == "alert", OutboxMessage.id > after_id)
            .order_by(OutboxMessage.id)
        ).all()
    return [(int(i), str(n)) for i, n in rows], max((int(i) for i, _ in rows), default=after_id)


async def watch(settings: Settings, run: Run, stop: asyncio.Event) -> None:
    """Note the first time each case's alert shows in the outbox and in the console file."""
    last_id, offset = 0, 0
    path = settings.console_outbox
    with database(settings) as sessions:
        while not stop.is_set():
            last_id, offset = await poll(sessions, path, run, last_id, offset)
            await asyncio.sleep(POLL_SECONDS)


async def poll(
    sessions: sessionmaker[Session], path: Path, run: Run, last_id: int, offset: int
) -> tuple[int, int]:
    """One look at the outbox table and the console file; return where to look next."""
    rows, last_id = await asyncio.to_thread(first_alerts, sessions, last_id)
    seen = time.time()
    for _, number in rows:
        run.queued.setdefault(number, seen)
    if not path.exists():
        return last_id, offset
    with path.open("rb") as handle:
        handle.seek(offset)
        chunk = handle.read()
    complete = chunk[: chunk.rfind(b"\n") + 1]
    for line in complete.decode().splitlines():
        found = NUMBER.search(json.loads(line)["body"])
        if found is not None:
            run.sent.setdefault(found.group(0).replace("-", ""), seen)
    return last_id, offset + len(complete)


def describe(name: str, run: Run, seen: dict[str, float]) -> None:
    ms = [(seen[n] - t) * 1000 for n, t in run.submitted.items() if n in seen]
    print(
        f"{name:<34} p50 {percentile(ms, 50):7.0f} ms  p95 {percentile(ms, 95):7.0f} ms  "
        f"max {max(ms, default=0):7.0f} ms  mean {statistics.fmean(ms) if ms else 0:7.0f} ms"
    )


async def measure(args: argparse.Namespace, settings: Settings, url: str) -> Run:
    run = Run()
    stop = asyncio.Event()
    connector = aiohttp.TCPConnector(limit=64)
    async with aiohttp.ClientSession(connector=connector) as client:
        routes = [
            await learn(client, url, site, category)
            for site, category in zip(SITES, CATEGORIES, strict=True)
        ]
        watcher = asyncio.create_task(watch(settings, run, stop))
        tasks = []
        started = time.monotonic()
        for index in range(int(args.seconds * args.rate)):
            await asyncio.sleep(max(0.0, started + index / args.rate - time.monotonic()))
            tasks.append(asyncio.create_task(report(client, url, routes[index % len(routes)], run)))
        await asyncio.gather(*tasks)
        deadline = time.monotonic() + args.drain
        while time.monotonic() < deadline and not set(run.submitted) <= set(run.sent):
            await asyncio.sleep(0.1)
        stop.set()
        await watcher
    return run


async def main_async(args: argparse.Namespace, settings: Settings, env: dict[str, str]) -> None:
    port = free_port()
    processes = [start(["web", "--port", str(port)], env)]
    processes += [start(["worker"], env) for _ in range(args.workers)]
    try:
        url = f"http://127.0.0.1:{port}"
        await wait_up(url + "/readyz")
        print(
            f"{os.cpu_count()} cores, database {settings.db_url.split(':')[0]}, one web process, "
            f"{args.workers} RQ worker(s), {args.rate:g} reports/s for {args.seconds:g} s"
        )
        run = await measure(args, settings, url + "/ussd/africastalking")
        lost = [n for n in run.submitted if n not in run.queued]
        print(f"reports submitted {len(run.submitted)}, hop errors {run.errors}")
        describe("Send -> alert queued in the outbox", run, run.queued)
        describe("Send -> alert sent (console line)", run, run.sent)
        print(f"reports lost (no alert within {args.drain:g} s): {len(lost)}")
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=15)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rate", type=float, default=10.0, help="reports per second")
    parser.add_argument("--workers", type=int, default=2, help="RQ worker processes")
    parser.add_argument("--drain", type=float, default=30.0, help="seconds to wait for stragglers")
    parser.add_argument("--database-url", default="", help="default: a fresh SQLite file")
    parser.add_argument("--redis-url", default="", help="default: an embedded redis-server")
    args = parser.parse_args()
    home = service_home(
        "sauti-routing-",
        database_url=args.database_url,
        redis_url=args.redis_url,
        sauti_sms_rate=1000,
    )
    with home as (settings, env):
        env = {
            **env,
            "SAUTI_CONSOLE_OUTBOX": str(settings.console_outbox),
            "SAUTI_SMS_RATE": "1000",
        }
        asyncio.run(main_async(args, settings, env))


if __name__ == "__main__":
    main()
