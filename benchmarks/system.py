"""Whole-system load benchmark: the service as deployed, under sustained USSD and SMS load.

Creates a fresh PostgreSQL database (or takes --database-url), flushes the Redis database
it is given, runs the release step (`sauti db upgrade`) and loads the demo data, then
starts the Procfile's processes on 127.0.0.1: `sauti web --workers N`, M `sauti worker`
processes and `sauti scheduler`, with the console SMS provider. For --seconds it drives
complete USSD report sessions (Africa's Talking callbacks) and complete SMS report
conversations (signed Twilio webhooks, a new MessageSid each), each from a new number,
at --connections concurrent sessions (half of them SMS unless --sms-connections says
otherwise), optionally paced at --rate hops a second in all. It then waits, at most
--drain seconds, for every report to be routed and its alerts handed to the provider.

Prints hops/s and client latency p50/p95/p99 per channel, the server's own p95 per channel
(from /metrics), reports submitted (case numbers the clients saw) / stored / routed /
alerted, and what was lost: submitted but not stored, stored but not routed, routed but
not alerted. Then, with every process stopped, it searches every table, every Redis key
and value, every RQ job's arguments and every line the processes logged or the console
provider wrote for any reporter's number in any written form, and prints how many places
hold one (LEAKED). Exits non-zero when anything was lost or leaked. Stops every process
it started.

    python benchmarks/system.py [--seconds 30] [--connections 16] [--rate HOPS]
        [--web-workers 2] [--workers 2] [--drain 60] [--log-level WARNING]
        [--database-url URL | --postgres-admin-url URL] [--redis-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import platform
import re
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from html import unescape
from pathlib import Path
from types import FrameType
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402
from rq import Queue  # noqa: E402
from sqlalchemy import Select, func, select, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402
from twilio.request_validator import RequestValidator  # noqa: E402

from benchmarks.common import (  # noqa: E402
    Services,
    case_numbers,
    free_port,
    fresh_postgres,
    percentile,
    stack_env,
    stack_settings,
    start_stack,
    wait_up,
)
from benchmarks.ussd_hops import PLAN, Tally, pacer, pick, post  # noqa: E402
from gateway.release import database, prepare  # noqa: E402
from storage.models import Case, CaseAssignment, OutboxMessage  # noqa: E402
from storage.settings import Settings  # noqa: E402
from tests.leaks import count_leaks  # noqa: E402
from workers import queues  # noqa: E402

SMS_DESCRIPTION = "Soldiers take 2000 francs from each digger at the road block"
# A new Rwandan number: the language list, English, the REPORT keyword, then the report
# at Nyakabingo (Rulindo district committee); "=" sends the text as typed.
SMS_PLAN: tuple[str, ...] = (
    "=hello",
    "English",
    "=REPORT",
    "Illegal tax",
    "Northern",
    "Rulindo",
    "Nyakabingo",
    "This month",
    "No",
    "=" + SMS_DESCRIPTION,
    "Yes",
    "Send",
)
MESSAGE = re.compile(r"<Message>(.*?)</Message>", re.DOTALL)
SENT_STATUSES = ("sent", "delivered")
DEFAULT_REDIS = "redis://127.0.0.1:6379/7"
DEFAULT_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
HOP_TIMEOUT = aiohttp.ClientTimeout(total=30)
RETRIES = 2  # Twilio retries a webhook that failed


class Phones:
    """A new number for every report (no two sessions share one), far from the demo
    committee members' numbers."""

    def __init__(self) -> None:
        self._ussd = itertools.count(1_000_000)
        self._sms = itertools.count(100_000)
        self.used: list[str] = []  # every number handed out, searched for after the run

    def ussd(self) -> str:
        return self._use(f"+24381{next(self._ussd):07d}")

    def sms(self) -> str:
        return self._use(f"+250788{next(self._sms):06d}")

    def _use(self, number: str) -> str:
        self.used.append(number)
        return number


@dataclass
class Target:
    """Where the stack listens and the secrets its webhooks check."""

    base: str
    at_token: str
    twilio_token: str
    twilio_account: str = "AC" + "0" * 32

    @property
    def ussd_url(self) -> str:
        return f"{self.base}/ussd/africastalking?token={self.at_token}"

    @classmethod
    def of(cls, env: dict[str, str]) -> Target:
        return cls(
            env["SAUTI_PUBLIC_URL"],
            env["SAUTI_AT_TOKEN"],
            env["TWILIO_AUTH_TOKEN"],
            env.get("TWILIO_ACCOUNT_SID") or "AC" + "0" * 32,
        )


Gate = Callable[[], Awaitable[None]]


async def no_gate() -> None:
    """Unpaced: every hop goes as soon as the previous answer is in."""


# -- the two channels ------------------------------------------------------------------------


async def ussd_report(
    client: aiohttp.ClientSession, target: Target, phone: str, tally: Tally, gate: Gate = no_gate
) -> str | None:
    """One complete USSD report, first dial to case number; the case number, or None when
    a hop failed."""
    form = {"sessionId": f"S{os.urandom(8).hex()}", "serviceCode": "*384*123#",
            "phoneNumber": phone, "networkCode": "63001"}  # fmt: skip
    inputs: list[str] = []
    screen = ""
    try:
        for label in (None, *PLAN):
            if label is not None:
                inputs.append(pick(screen, label))
            await gate()
            step = label.lstrip("=")[:12] if label else "dial"
            body = await post(
                client, target.ussd_url, {**form, "text": "*".join(inputs)}, tally, step
            )
            if not body.startswith(("CON ", "END ")):
                return None  # post() counted the failed hop
            screen = body[4:]
    except (aiohttp.ClientError, TimeoutError, RuntimeError):
        tally.errors += 1
        return None
    return _reported(screen, tally)


def _reported(screen: str, tally: Tally) -> str | None:
    numbers = case_numbers(screen) if screen.startswith("Report sent.") else []
    if not numbers:
        tally.errors += 1
        return None
    tally.reports += 1
    return numbers[0]


def twilio_form(phone: str, body: str, account: str) -> dict[str, str]:
    """What Twilio posts for one inbound SMS to `account`, with a new MessageSid."""
    return {
        "MessageSid": "SM" + os.urandom(16).hex(),
        "AccountSid": account,
        "From": phone,
        "To": "+15005550006",
        "Body": body,
        "NumMedia": "0",
        "NumSegments": "1",
        "SmsStatus": "received",
        "ApiVersion": "2010-04-01",
    }


async def texted(
    client: aiohttp.ClientSession, target: Target, form: dict[str, str], tally: Tally
) -> str:
    """Post one signed webhook, retried with the same MessageSid as Twilio does; the reply."""
    url = target.base + "/sms/twilio"
    signature = RequestValidator(target.twilio_token).compute_signature(url, form)
    for attempt in range(RETRIES + 1):
        started = time.perf_counter()
        async with client.post(url, data=form, headers={"X-Twilio-Signature": signature}) as r:
            body = await r.text()
            status = r.status
        tally.latencies.append(time.perf_counter() - started)
        tally.hops += 1
        if status == 200:
            return unescape("\n".join(MESSAGE.findall(body)))
        tally.errors += 1
        if status != 503 or attempt == RETRIES:
            break
        await asyncio.sleep(0.5)
    raise RuntimeError(f"SMS webhook answered {status}")


async def sms_report(
    client: aiohttp.ClientSession, target: Target, phone: str, tally: Tally, gate: Gate = no_gate
) -> str | None:
    """One complete SMS report conversation; the case number, or None when a message failed."""
    screen = ""
    try:
        for label in SMS_PLAN:
            await gate()
            form = twilio_form(phone, pick(screen, label), target.twilio_account)
            screen = await texted(client, target, form, tally)
    except (aiohttp.ClientError, TimeoutError):
        tally.errors += 1
        return None
    except RuntimeError:
        return None
    return _reported(screen, tally)


# -- the load --------------------------------------------------------------------------------


@dataclass
class Load:
    phones: Phones = field(default_factory=Phones)
    ussd: Tally = field(default_factory=Tally)
    sms: Tally = field(default_factory=Tally)
    submitted: dict[str, str] = field(default_factory=dict)  # case number -> channel
    elapsed: float = 0.0
    warm_up: int = 0  # reports filed before the measured run


class Pace:
    """Hops at a steady total rate while the run lasts; unpaced after it, so the sessions in
    progress finish."""

    def __init__(self, rate: float | None, until: float) -> None:
        self.queue: asyncio.Queue[None] | None = asyncio.Queue() if rate else None
        self.rate = rate
        self.until = until

    async def gate(self) -> None:
        if self.queue is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.queue.get(), timeout=max(0, self.until - time.monotonic()))

    async def run(self) -> None:
        if self.queue is not None and self.rate:
            await pacer(self.rate, self.queue, self.until)


async def reporter_loop(
    client: aiohttp.ClientSession, target: Target, load: Load, channel: str, pace: Pace
) -> None:
    """Report after report on one channel, each from a new number, until the run ends."""
    while time.monotonic() < pace.until:
        if channel == "ussd":
            number = await ussd_report(client, target, load.phones.ussd(), load.ussd, pace.gate)
        else:
            number = await sms_report(client, target, load.phones.sms(), load.sms, pace.gate)
        if number is not None:
            load.submitted[number] = channel


async def drive(args: argparse.Namespace, target: Target, load: Load) -> None:
    """The measured run: `connections` concurrent reporters, `sms_connections` of them by SMS."""
    sms_connections = min(args.connections, args.sms_connections)
    channels = ["sms"] * sms_connections + ["ussd"] * (args.connections - sms_connections)
    connector = aiohttp.TCPConnector(limit=args.connections + 4)
    async with aiohttp.ClientSession(connector=connector, timeout=HOP_TIMEOUT) as client:
        started = time.monotonic()
        pace = Pace(args.rate, started + args.seconds)
        tasks = [reporter_loop(client, target, load, channel, pace) for channel in channels]
        await asyncio.gather(pace.run(), *tasks)
        load.elapsed = time.monotonic() - started


async def warm_up(target: Target, load: Load) -> None:
    """Two reports on each channel before the measured run, so imports, caches and pools are
    warm in the web processes; their reports count as submitted, their hops do not."""
    async with aiohttp.ClientSession(timeout=HOP_TIMEOUT) as client:
        for _ in range(2):
            number = await ussd_report(client, target, load.phones.ussd(), Tally())
            if number is not None:
                load.submitted[number] = "ussd"
            number = await sms_report(client, target, load.phones.sms(), Tally())
            if number is not None:
                load.submitted[number] = "sms"
        load.warm_up = len(load.submitted)


# -- server-side latency ---------------------------------------------------------------------

BUCKET = re.compile(r'sauti_hop_seconds_bucket\{channel="(\w+)",le="([^"]+)"\} (\S+)')
Histograms = Counter[tuple[str, str]]


async def server_histograms(base: str, samples: int = 24) -> tuple[Histograms, int]:
    """The hop histograms summed over the web processes, and how many distinct processes
    answered. Each answer of /metrics comes from one uvicorn worker; between runs the counts
    stand still, so distinct answers are distinct processes."""
    seen: set[frozenset[tuple[str, str, float]]] = set()
    connector = aiohttp.TCPConnector(force_close=True)
    async with aiohttp.ClientSession(connector=connector, timeout=HOP_TIMEOUT) as client:
        for _ in range(samples):
            async with client.get(base + "/metrics") as response:
                exposition = await response.text()
            seen.add(frozenset((c, le, float(v)) for c, le, v in BUCKET.findall(exposition)))
    total: Histograms = Counter()
    for answer in seen:
        for channel, le, value in answer:
            total[(channel, le)] += int(value)
    return total, len(seen)


def bucket_p95(after: Histograms, before: Histograms, channel: str) -> float:
    """The bucket bound (ms) under which 95% of the channel's hops of the run fell."""
    delta = {le: after[(c, le)] - before[(c, le)] for c, le in after if c == channel}
    total = delta.pop("+Inf", 0)
    for le, count in sorted(delta.items(), key=lambda item: float(item[0])):
        if total and count >= 0.95 * total:
            return float(le) * 1000
    return float("inf")


# -- what the service stored ------------------------------------------------------------------


@dataclass
class Outcome:
    stored: set[str]
    routed: set[str]
    alerted: set[str]  # an alert row queued for a committee member
    handed: set[str]  # every alert row of the case sent to the provider
    alert_rows: int
    console_lines: int
    console_cases: set[str]  # case numbers seen in the console provider's file

    def settled(self, submitted: set[str]) -> bool:
        return submitted <= self.stored and self.stored == self.handed & self.console_cases


def _numbers(session: Session, statement: Select[Any]) -> set[str]:
    return set(session.scalars(statement))


def outcome(settings: Settings) -> Outcome:
    """Cases stored, routed, alerted and handed to the provider, from the database (one
    transaction) and the console provider's file."""
    alerts = (OutboxMessage.kind == "alert") & (OutboxMessage.recipient_kind == "member")
    numbers = select(Case.number).distinct()
    unsent = select(OutboxMessage.case_id).where(
        alerts, OutboxMessage.status.not_in(SENT_STATUSES), OutboxMessage.case_id.is_not(None)
    )
    with database(settings) as sessions, sessions() as session:
        stored = _numbers(session, numbers)
        routed = _numbers(session, numbers.join(CaseAssignment, CaseAssignment.case_id == Case.id))
        alerted = _numbers(
            session, numbers.join(OutboxMessage, OutboxMessage.case_id == Case.id).where(alerts)
        )
        unsent_numbers = _numbers(session, numbers.where(Case.id.in_(unsent)))
        rows = session.scalar(select(func.count()).select_from(OutboxMessage).where(alerts))
    lines, seen = console_file(settings.console_outbox)
    return Outcome(
        stored=stored,
        routed=routed,
        alerted=alerted,
        handed=alerted - unsent_numbers,
        alert_rows=int(rows or 0),
        console_lines=lines,
        console_cases=seen,
    )


def console_file(path: Path) -> tuple[int, set[str]]:
    """Lines in the console provider's file, and the case numbers their bodies name."""
    if not path.exists():
        return 0, set()
    lines = path.read_text(encoding="utf-8").splitlines()
    return len(lines), {n for line in lines for n in case_numbers(json.loads(line)["body"])}


async def drain(settings: Settings, submitted: set[str], seconds: float) -> tuple[Outcome, float]:
    """Wait, at most `seconds`, until every report is stored, routed and alerted."""
    started = time.monotonic()
    while True:
        result = await asyncio.to_thread(outcome, settings)
        waited = time.monotonic() - started
        if result.settled(submitted) or waited >= seconds:
            return result, waited
        await asyncio.sleep(0.5)


def queue_lengths(redis_url: str) -> str:
    connection = redis.Redis.from_url(redis_url)
    try:
        parts = []
        for name in queues.ALL:
            queue = Queue(name, connection=connection)
            parts.append(f"{name} {queue.count} queued/{queue.failed_job_registry.count} failed")
        return ", ".join(parts)
    finally:
        connection.close()


# -- the machine -------------------------------------------------------------------------------


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def _memory() -> str:
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024**2:.1f} GiB"
    return "unknown"


def machine(settings: Settings) -> list[str]:
    """What the figures ran on: cores, CPU, memory, load, OS, Python, PostgreSQL, Redis."""
    with database(settings) as sessions, sessions() as session:
        database_version = str(session.scalar(text("SELECT version()")))
    connection = redis.Redis.from_url(settings.redis_url)
    try:
        redis_version = str(connection.info("server").get("redis_version"))
    finally:
        connection.close()
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    return [
        f"machine: {os.cpu_count()} cores ({_cpu_model()}), {_memory()} memory, "
        f"load average at start {load}",
        f"system: {platform.platform()}",
        f"python: {platform.python_version()} ({sys.executable})",
        f"database: {database_version.split(' on ')[0]}",
        f"redis: {redis_version}",
    ]


# -- the report --------------------------------------------------------------------------------


def describe_channel(name: str, tally: Tally, elapsed: float, server_p95: float) -> None:
    ms = [v * 1000 for v in tally.latencies]
    print(
        f"{name:<5} {tally.hops / elapsed if elapsed else 0:8.1f} hops/s  "
        f"p50 {percentile(ms, 50):7.2f} ms  p95 {percentile(ms, 95):7.2f} ms  "
        f"p99 {percentile(ms, 99):7.2f} ms  server p95 <= {server_p95:g} ms  "
        f"hops {tally.hops}  errors {tally.errors}  reports {tally.reports}"
    )


def lost(load: Load, result: Outcome) -> dict[str, int]:
    submitted = set(load.submitted)
    return {
        "lost (submitted, not stored)": len(submitted - result.stored),
        "unrouted (stored, no committee)": len(result.stored - result.routed),
        "unalerted (routed, no alert row)": len(result.routed - result.alerted),
        "unsent (alert rows not handed to the provider)": len(result.alerted - result.handed),
        "not in the console file": len(result.stored - result.console_cases),
    }


def describe_outcome(load: Load, result: Outcome, waited: float) -> dict[str, int]:
    by_channel = Counter(load.submitted.values())
    print(
        f"reports submitted {len(load.submitted)} (ussd {by_channel['ussd']}, "
        f"sms {by_channel['sms']}; {load.warm_up} in the warm-up), "
        f"stored {len(result.stored)}, routed {len(result.routed)}, "
        f"alerted {len(result.alerted)} ({result.alert_rows} alert rows for members; "
        f"{len(result.console_cases)} cases in {result.console_lines} console lines)"
    )
    print(f"drain: {waited:.1f} s after the load stopped")
    losses = lost(load, result)
    for label, count in losses.items():
        print(f"{label}: {count}")
    print(f"LOST = {losses['lost (submitted, not stored)']}")
    return losses


# -- running it --------------------------------------------------------------------------------


async def measure(args: argparse.Namespace, target: Target, settings: Settings, load: Load) -> int:
    """Warm up, run the load, drain, print; the number of reports lost anywhere."""
    await wait_up(target.base + "/readyz", timeout=60)
    await warm_up(target, load)
    before, _ = await server_histograms(target.base)
    await drive(args, target, load)
    after, answered = await server_histograms(target.base)
    result, waited = await drain(settings, set(load.submitted), args.drain)
    print(
        f"{args.seconds:g} s, {args.connections} concurrent sessions "
        f"({min(args.connections, args.sms_connections)} by SMS), "
        f"{'paced at ' + format(args.rate, 'g') + ' hops/s' if args.rate else 'unpaced'}; "
        f"web {args.web_workers} uvicorn workers ({answered} answered /metrics), "
        f"{args.workers} RQ workers, scheduler"
    )
    describe_channel("ussd", load.ussd, load.elapsed, bucket_p95(after, before, "ussd"))
    describe_channel("sms", load.sms, load.elapsed, bucket_p95(after, before, "sms"))
    total = load.ussd.hops + load.sms.hops
    print(f"all   {total / load.elapsed if load.elapsed else 0:8.1f} hops/s")
    losses = describe_outcome(load, result, waited)
    print(f"queues after the drain: {queue_lengths(settings.redis_url)}")
    return sum(losses.values())


def run_stack(args: argparse.Namespace, home: Path, database_url: str) -> int:
    """Release, demo data, the processes, the measured run; every process stopped after."""
    redis.Redis.from_url(args.redis_url).flushdb()
    env = stack_env(
        home=home,
        database_url=database_url,
        redis_url=args.redis_url,
        port=free_port(),
        log_level=args.log_level,
    )
    env["SAUTI_SMS_RATE"] = str(args.sms_rate)
    settings = stack_settings(env)
    services = Services(env, home / "logs")
    try:
        services.run("release", "db", "upgrade")
        prepare(settings)
        for line in machine(settings):
            print(line)
        start_stack(services, web_workers=args.web_workers, workers=args.workers)
        load = Load()
        failures = asyncio.run(measure(args, Target.of(env), settings, load))
        if services.stopped():
            print(f"processes that stopped during the run: {', '.join(services.stopped())}")
            failures += 1
    finally:
        services.stop()
    return failures + leaked(load.phones.used, settings, home)


def leaked(numbers: list[str], settings: Settings, home: Path) -> int:
    """Places that hold a reporter's number in clear, searched once every process stopped
    (so every log line is written): rows, Redis values, RQ jobs, lines of every file the
    processes wrote (logs and the console provider's outbox)."""
    started = time.monotonic()
    connection = redis.Redis.from_url(settings.redis_url)
    try:
        files = sorted(path for path in home.rglob("*") if path.is_file())
        counts, examples = count_leaks(
            numbers, database_url=settings.db_url, redis_client=connection, files=files
        )
    finally:
        connection.close()
    print(
        f"searched for {len(numbers)} reporters' numbers: "
        + ", ".join(f"{kind} {count}" for kind, count in counts.items())
        + f" ({len(files)} files; {time.monotonic() - started:.1f} s)"
    )
    for example in examples:
        print(f"  {example}")
    total = sum(counts.values())
    print(f"LEAKED = {total}")
    return total


@contextlib.contextmanager
def bench_database(args: argparse.Namespace) -> Iterator[str]:
    if args.database_url:
        yield args.database_url
        return
    with fresh_postgres(args.postgres_admin_url, args.database_name, keep=args.keep) as url:
        yield url


@contextlib.contextmanager
def terminated_as_interrupt() -> Iterator[None]:
    """SIGTERM stops the run like Ctrl-C does: through every `finally`."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the load")
    parser.add_argument("--connections", type=int, default=16, help="concurrent sessions")
    parser.add_argument("--sms-connections", type=int, default=None, help="default: half")
    parser.add_argument("--rate", type=float, default=None, help="hops/s in all (default: unpaced)")
    parser.add_argument("--web-workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--workers", type=int, default=2, help="RQ worker processes")
    parser.add_argument("--drain", type=float, default=60.0, help="seconds to wait after the load")
    parser.add_argument("--sms-rate", type=int, default=1000, help="SAUTI_SMS_RATE (SMS/s)")
    parser.add_argument("--database-url", default="", help="default: a fresh PostgreSQL database")
    parser.add_argument("--postgres-admin-url", default=DEFAULT_ADMIN)
    parser.add_argument("--database-name", default="sauti_bench")
    parser.add_argument("--redis-url", default=DEFAULT_REDIS, help="flushed at the start")
    parser.add_argument(
        "--log-level",
        default="WARNING",
        help="SAUTI_LOG_LEVEL of every process (INFO logs a "
        "line per job, all of it searched for numbers)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database and the logs")
    args = parser.parse_args()
    if args.sms_connections is None:
        args.sms_connections = args.connections // 2
    if min(args.seconds, args.connections, args.drain) <= 0:
        parser.error("--seconds, --connections and --drain must be positive")
    return args


def main() -> None:
    args = parse()
    home = Path(tempfile.mkdtemp(prefix="sauti-system-"))
    print(f"run: {Path(sys.argv[0]).name} {' '.join(sys.argv[1:])}".rstrip())
    code = 1
    try:
        with terminated_as_interrupt(), bench_database(args) as database_url:
            code = 1 if run_stack(args, home, database_url) else 0
    except KeyboardInterrupt:
        print("interrupted; every process it started is stopped")
        code = 130
    finally:
        if code or args.keep:
            print(f"logs and the console outbox kept in {home}")
        else:
            shutil.rmtree(home, ignore_errors=True)
    sys.exit(code)


if __name__ == "__main__":
    main()
