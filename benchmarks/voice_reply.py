"""Voice reply benchmark: complete calls by keys over HTTP against the real app under uvicorn.

Starts the app on 127.0.0.1 on a fresh database with the demo data and a short tone
published as every prompt the voice languages need (as `tests/voice/calls.py` does), then
places --calls report calls, alternately as Twilio (signed with X-Twilio-Signature) and
as Africa's Talking (`?token=`), each from a new number: dial, language, main menu,
category, province, territory, site, when, danger, `#` (no description), SMS news, Send,
then the hang-up (Twilio's status callback, AT's `isActive=0`); then a second call from the
same number checks the report's status by keys (dial, "Check a report", the case number
and `#`, hang-up). Each request follows the address the last answer named (the
`<Gather>` action or `<GetDigits>` callbackUrl), and each option is chosen by its label
as the caller hears it (the language's manifest says what each prompt file says).

Two phases of --calls calls each: one caller at a time, then --connections callers at
once at full speed. Prints, per phase, requests/s, p50/p95/p99/max per provider and per
hop kind (client side), the server's own p95 (its `sauti_hop_seconds` histogram for the
voice channel, as a bucket bound), and the reports submitted versus stored. Everything
runs on 127.0.0.1 and stops by itself.

    python benchmarks/voice_reply.py [--calls 200] [--connections 8] [--workers 1]
        [--database-url URL] [--redis-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import os
import random
import re
import secrets
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from twilio.request_validator import RequestValidator  # noqa: E402

from benchmarks.common import free_port, percentile, service_home, wait_up  # noqa: E402
from benchmarks.ussd_hops import serve, stored_reports  # noqa: E402
from flows.voice import VOICE_TEXTS, text_stem  # noqa: E402
from gateway.release import database  # noqa: E402
from storage.settings import Settings  # noqa: E402

PROVIDERS = ("twilio", "africastalking")
LINE = "+243800000100"
# The report by keys: (hop kind, the label of the option chosen; "#" presses the hash key).
REPORT: tuple[tuple[str, str], ...] = (
    ("language", "English"),
    ("menu", "Report a problem"),
    ("category", "Accident"),
    ("province", "North Kivu"),
    ("territory", "Walikale"),
    ("site", "Bisie"),
    ("when", "Today"),
    ("danger", "Yes"),
    ("#", "#"),
    ("news", "No"),
    ("send", "Send"),
)
KINDS = (
    "dial",
    *(kind for kind, _ in REPORT),
    "hang-up",
    "status dial",
    "status menu",
    "status number",
)
PRESS = text_stem(VOICE_TEXTS["voice.press"], 0) + ".wav"
KEY_FILES = {text_stem(VOICE_TEXTS[f"voice.digit.{d}"], 0) + ".wav": str(d) for d in range(10)}
KEY_FILES[text_stem(VOICE_TEXTS["voice.star"], 0) + ".wav"] = "*"
KEY_FILES[text_stem(VOICE_TEXTS["voice.hash"], 0) + ".wav"] = "#"
CASE_NUMBER = re.compile(r"\d{3} ?\d{3} ?\d{4}")


class Unexpected(Exception):
    """An answer that is not the screen the plan expects."""


@dataclass(frozen=True)
class Heard:
    """One answer: the prompt files played (None for a pause) and where keys go next."""

    files: tuple[str | None, ...]
    gather: str | None

    @classmethod
    def parse(cls, body: str) -> Heard:
        root = ET.fromstring(body)  # noqa: S314 (the service's own answer)
        if root.tag != "Response":
            raise Unexpected(f"not a voice answer: {body[:80]!r}")
        files: list[str | None] = []
        gather = None
        for element in root.iter():
            if element.tag == "Play":
                files.append((element.text or element.get("url") or "").rpartition("/")[2])
            elif element.tag == "Pause":
                files.append(None)
            elif element.tag in ("Gather", "GetDigits"):
                gather = element.get("action") or element.get("callbackUrl")
        return cls(tuple(files), gather)

    def options(self, texts: dict[str, str]) -> dict[str, str]:
        """Each option's label, as said, and its keys (as `tests/voice/calls.py` reads them)."""
        found: dict[str, str] = {}
        label: list[str] = []
        keys: list[str] | None = None
        for file in (*self.files, None):
            if keys is not None and file in KEY_FILES:
                keys.append(KEY_FILES[file])
                continue
            if keys is not None:
                unlisted = [f for f in label if f not in texts]
                if unlisted:
                    raise Unexpected(f"{unlisted[0]} is played but in no manifest")
                found[" ".join(texts[f] for f in label)] = "".join(keys)
                label, keys = [], None
            if file is None:
                label = []
            elif file == PRESS:
                keys = []
            else:
                label.append(file)
        return found

    def key(self, texts: dict[str, str], label: str) -> str:
        for said, keys in self.options(texts).items():
            if said.startswith(label) or said.endswith(label):
                return keys
        raise Unexpected(f"no option {label!r}")

    def digits(self) -> str:
        """The digit clips in a row, anything else as a space."""
        out = [KEY_FILES.get(file, " ") if file else " " for file in self.files]
        return " ".join("".join(out).split())


@dataclass
class Tally:
    by: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    requests: int = 0
    errors: int = 0
    reports: int = 0
    statuses: int = 0

    def add(self, provider: str, kind: str, seconds: float) -> None:
        self.by.setdefault((provider, kind), []).append(seconds)
        self.requests += 1


@dataclass
class Line:
    """The line under test: its address, the providers' secrets, the manifests."""

    base: str
    twilio_token: str
    account_sid: str
    at_token: str
    texts: dict[str, str] = field(default_factory=dict)  # file -> what it says (English)


@dataclass
class Caller:
    """One phone calling the line through one provider."""

    client: aiohttp.ClientSession
    line: Line
    provider: str
    tally: Tally
    number: str = field(default_factory=lambda: f"+24381{random.randrange(10**7):07d}")
    call_id: str = ""

    def _form(self, extra: dict[str, str]) -> dict[str, str]:
        if self.provider == "twilio":
            form = {"CallSid": self.call_id, "AccountSid": self.line.account_sid,
                    "From": self.number, "To": LINE, "CallStatus": "in-progress",
                    "Direction": "inbound", "ApiVersion": "2010-04-01"}  # fmt: skip
        else:
            form = {"sessionId": self.call_id, "isActive": "1", "direction": "Inbound",
                    "callerNumber": self.number, "destinationNumber": LINE}  # fmt: skip
        return {**form, **extra}

    async def post(self, url: str, extra: dict[str, str], kind: str) -> str:
        form = self._form(extra)
        headers = {}
        if self.provider == "twilio":
            validator = RequestValidator(self.line.twilio_token)
            headers["X-Twilio-Signature"] = str(validator.compute_signature(url, form))
        started = time.perf_counter()
        async with self.client.post(url, data=form, headers=headers) as response:
            body = await response.text()
            status = response.status
        self.tally.add(self.provider, kind, time.perf_counter() - started)
        if status != 200:
            raise Unexpected(f"{kind}: {status} {body[:80]!r}")
        return body

    def _first(self) -> str:
        if self.provider == "twilio":
            return self.line.base + "/voice/twilio"
        return f"{self.line.base}/voice/africastalking?token={self.line.at_token}"

    async def dial(self, kind: str) -> Heard:
        self.call_id = ("CA" if self.provider == "twilio" else "ATVId_") + secrets.token_hex(16)
        return Heard.parse(await self.post(self._first(), {}, kind))

    async def press(self, heard: Heard, keys: str, kind: str) -> Heard:
        if heard.gather is None:
            raise Unexpected(f"{kind}: nothing waits for keys")
        name = "Digits" if self.provider == "twilio" else "dtmfDigits"
        return Heard.parse(await self.post(heard.gather, {name: keys}, kind))

    async def hang_up(self) -> None:
        if self.provider == "twilio":
            url = self.line.base + "/voice/twilio/status"
            await self.post(url, {"CallStatus": "completed", "CallDuration": "42"}, "hang-up")
        else:
            await self.post(self._first(), {"isActive": "0", "durationInSeconds": "42"}, "hang-up")

    async def report(self) -> str:
        """The whole report by keys; the case number read back."""
        heard = await self.dial("dial")
        texts = self.line.texts
        for kind, label in REPORT:
            if kind == "language" and "English" not in " ".join(heard.options(texts)):
                continue  # the number's language is known already
            keys = "#" if label == "#" else heard.key(texts, label)
            heard = await self.press(heard, keys, kind)
        await self.hang_up()
        said: list[str] = CASE_NUMBER.findall(heard.digits())
        if heard.gather is not None or not said:
            raise Unexpected("the report was not sent")
        self.tally.reports += 1
        return said[0].replace(" ", "")

    async def status(self, number: str) -> None:
        """A second call: the report's status by keys."""
        heard = await self.dial("status dial")
        heard = await self.press(heard, heard.key(self.line.texts, "Check a report"), "status menu")
        heard = await self.press(heard, number + "#", "status number")
        await self.hang_up()
        if number not in heard.digits().replace(" ", ""):
            raise Unexpected("the status did not name the case")
        self.tally.statuses += 1


async def one_call(client: aiohttp.ClientSession, line: Line, provider: str, tally: Tally) -> None:
    caller = Caller(client, line, provider, tally)
    try:
        await caller.status(await caller.report())
    except (Unexpected, ET.ParseError, aiohttp.ClientError) as exc:
        tally.errors += 1
        if tally.errors <= 3:
            print(f"  {provider}: {exc}")


async def run_phase(line: Line, calls: int, connections: int) -> tuple[Tally, float]:
    tally = Tally()
    queue: asyncio.Queue[str] = asyncio.Queue()
    for index in range(calls):
        queue.put_nowait(PROVIDERS[index % 2])

    async def worker(client: aiohttp.ClientSession) -> None:
        while not queue.empty():
            await one_call(client, line, queue.get_nowait(), tally)

    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as client:
        started = time.monotonic()
        await asyncio.gather(*(worker(client) for _ in range(connections)))
        elapsed = time.monotonic() - started
    return tally, elapsed


def ms(values: list[float]) -> list[float]:
    return [v * 1000 for v in values]


def row(name: str, values: list[float]) -> str:
    v = ms(values)
    return (
        f"  {name:<32} {len(v):5d}  p50 {percentile(v, 50):6.2f}  p95 {percentile(v, 95):6.2f}  "
        f"p99 {percentile(v, 99):6.2f}  max {max(v, default=0.0):7.2f} ms"
    )


def describe(name: str, tally: Tally, elapsed: float, server_p95: float) -> None:
    every = [v for values in tally.by.values() for v in values]
    print(
        f"{name}: {tally.requests / elapsed:.0f} requests/s, "
        f"{tally.reports} reports and {tally.statuses} status checks, errors {tally.errors}, "
        f"server-side p95 <= {server_p95:g} ms"
    )
    print(row("all requests", every))
    for provider in PROVIDERS:
        mine = [v for (p, _), values in tally.by.items() if p == provider for v in values]
        print(row(provider, mine))
    for provider in PROVIDERS:
        for kind in KINDS:
            if (provider, kind) in tally.by:
                print(row(f"{provider} {kind}", tally.by[(provider, kind)]))


async def server_p95(metrics_url: str, before: dict[str, float]) -> tuple[float, dict[str, float]]:
    """The bucket bound under which 95 % of the server's voice hops fell since `before`."""
    async with aiohttp.ClientSession() as client, client.get(metrics_url) as response:
        text = await response.text()
    pattern = r'sauti_hop_seconds_bucket\{channel="voice",le="([^"]+)"\} (\S+)'
    now = {le: float(v) for le, v in re.findall(pattern, text)}
    delta = {le: now[le] - before.get(le, 0.0) for le in now}
    total = delta.get("+Inf", 0.0)
    bounds = sorted((float(le), count) for le, count in delta.items() if le != "+Inf")
    for bound, count in bounds:
        if total and count >= 0.95 * total:
            return bound * 1000, now
    return float("inf"), now


def publish_tones(settings: Settings) -> int:
    """A short tone published as every prompt each voice language needs, as an admin's
    recordings would be (the same approach as `tests/voice/calls.py:publish_prompts`)."""
    import numpy as np
    import soundfile

    from gateway.prompts.needed import load_sources
    from storage import voiceprompts
    from storage.db import utcnow
    from storage.models import PromptSource, PromptStatus
    from storage.voiceprompts import Audio

    samples = (0.2 * np.sin(np.linspace(0, 2 * np.pi * 44, 800))).astype("float32")
    buffer = io.BytesIO()
    soundfile.write(buffer, samples, 8000, format="WAV", subtype="PCM_16")
    wav = buffer.getvalue()
    audio = Audio(wav, hashlib.sha256(wav).hexdigest(), 100, None)
    count = 0
    with database(settings) as sessions, sessions() as session:
        sources = load_sources(session, settings)
        for lang in settings.voice_languages:
            for prompt in sources.needed(lang).values():
                voiceprompts.save(
                    session=session,
                    language=lang,
                    prompt=prompt,
                    audio=audio,
                    source=PromptSource.RECORDED,
                    status=PromptStatus.PUBLISHED,
                    now=utcnow(),
                )
                count += 1
        session.commit()
    return count


async def manifest(base: str, lang: str) -> dict[str, str]:
    url = f"{base}/voice/prompts/{lang}/manifest.json"
    async with aiohttp.ClientSession() as client, client.get(url) as response:
        rows = (await response.json())["prompts"]
    return {row["file"]: row["text"] for row in rows}


async def main_async(args: argparse.Namespace, settings: Settings, env: dict[str, str]) -> None:
    port = free_port()
    line = Line(
        base=f"http://127.0.0.1:{port}",
        twilio_token=secrets.token_hex(16),
        account_sid="AC" + secrets.token_hex(16),
        at_token=secrets.token_urlsafe(24),
    )
    env = {
        **env,
        "SAUTI_PUBLIC_URL": line.base,
        "TWILIO_AUTH_TOKEN": line.twilio_token,
        "TWILIO_ACCOUNT_SID": line.account_sid,
        "SAUTI_AT_TOKEN": line.at_token,
    }
    published = publish_tones(settings)
    server = serve("gateway.app:create_app", port, env, args.workers)
    try:
        await wait_up(line.base + "/healthz")
        # Every language's names: the language menu says each in itself.
        for lang in settings.voice_languages:
            line.texts = {**await manifest(line.base, lang), **line.texts}
        line.texts.update(await manifest(line.base, "en"))
        print(
            f"{os.cpu_count()} cores, {args.calls} report calls (each with a status call) "
            f"a phase, half Twilio, half Africa's Talking, database "
            f"{settings.db_url.split(':')[0]}, {args.workers} uvicorn worker(s) "
            f"(uvloop, httptools), {published} prompts published"
        )
        await run_phase(line, 4, 2)  # warm-up: imports, caches, connection pools
        _, before = await server_p95(line.base + "/metrics", {})
        submitted = 0
        phases = (("1 caller", 1), (f"{args.connections} callers", args.connections))
        for name, connections in phases:
            tally, elapsed = await run_phase(line, args.calls, connections)
            p95, before = await server_p95(line.base + "/metrics", before)
            describe(name, tally, elapsed, p95)
            submitted += tally.reports
        stored = stored_reports(settings) - 4  # the warm-up calls
        print(f"reports submitted {submitted}, stored {stored}, lost {submitted - stored}")
    finally:
        server.terminate()
        server.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=200, help="report calls a phase")
    parser.add_argument("--connections", type=int, default=8, help="callers at once")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers")
    parser.add_argument("--database-url", default="", help="default: a fresh SQLite file")
    parser.add_argument("--redis-url", default="", help="default: an embedded redis-server")
    args = parser.parse_args()
    if not 1 <= args.calls <= 100_000:
        parser.error("--calls must be between 1 and 100000")
    home = service_home(
        "sauti-bench-voice-", database_url=args.database_url, redis_url=args.redis_url
    )
    with home as (settings, env):
        asyncio.run(main_async(args, settings, env))


if __name__ == "__main__":
    main()
