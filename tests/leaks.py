"""Search everything at rest for a secret: every table, every Redis key and value, RQ job
arguments, and captured log text."""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path

import phonenumbers
import redis
from rq.job import Job
from sqlalchemy import inspect, text

from storage.db import make_engine


def number_forms(e164: str) -> list[str]:
    """The number as E.164, bare digits, national and national significant forms."""
    parsed = phonenumbers.parse(e164)
    national = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    significant = phonenumbers.national_significant_number(parsed)
    return sorted({e164, e164.lstrip("+"), national, national.replace(" ", ""), significant})


def _needles(secrets: Iterable[str]) -> list[bytes]:
    return [s.encode() for s in secrets if s]


def database_rows(url: str) -> Iterator[tuple[str, bytes]]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            for table in inspect(conn).get_table_names():
                for row in conn.execute(text(f'SELECT * FROM "{table}"')):  # noqa: S608
                    yield (
                        table,
                        repr(tuple(row)).encode()
                        + b"".join(v if isinstance(v, bytes) else b"" for v in row),
                    )
    finally:
        engine.dispose()


def redis_values(client: redis.Redis) -> Iterator[tuple[bytes, bytes]]:
    for key in client.scan_iter(count=500):
        kind = client.type(key)
        if kind == b"string":
            values = [client.get(key) or b""]
        elif kind == b"hash":
            values = [k + b"=" + v for k, v in client.hgetall(key).items()]
        elif kind == b"list":
            values = list(client.lrange(key, 0, -1))
        elif kind == b"set":
            values = list(client.smembers(key))
        elif kind == b"zset":
            values = [m for m, _ in client.zrange(key, 0, -1, withscores=True)]
        else:
            values = []
        for value in values:
            yield key, key + b" " + _inflate(value)


def _inflate(value: bytes) -> bytes:
    try:
        return value + zlib.decompress(value)
    except zlib.error:
        return value


def job_arguments(client: redis.Redis) -> Iterator[tuple[str, bytes]]:
    for key in client.scan_iter(match="rq:job:*", count=500):
        job_id = key.decode().split(":", 2)[2]
        if ":" in job_id:
            continue
        job = Job.fetch(job_id, connection=client)
        yield job_id, repr((job.func_name, job.args, job.kwargs)).encode()


def at_rest(
    *, database_url: str, redis_client: redis.Redis, more: Iterable[tuple[str, object, bytes]]
) -> Iterator[tuple[str, object, bytes]]:
    """(kind, where, text) of everything kept: each table row, each Redis value, each RQ
    job's arguments, then `more` (captured logs, files)."""
    for table, blob in database_rows(database_url):
        yield "table", table, blob
    for key, blob in redis_values(redis_client):
        yield "redis", key, blob
    for job_id, blob in job_arguments(redis_client):
        yield "job", job_id, blob
    yield from more


def file_lines(paths: Iterable[Path]) -> Iterator[tuple[str, object, bytes]]:
    for path in paths:
        with path.open("rb") as lines:
            for number, line in enumerate(lines, 1):
                yield "file", f"{path.name}:{number}", line


def find_leaks(
    secrets: Iterable[str], *, database_url: str, redis_client: redis.Redis, logs: str
) -> list[str]:
    """Where any of `secrets` appears in clear; an empty list means nowhere."""
    needles = _needles(secrets)
    found: list[str] = []
    captured = [("log", "captured", logs.encode())]
    for kind, where, blob in at_rest(
        database_url=database_url, redis_client=redis_client, more=captured
    ):
        found.extend(f"{kind} {where!r}: {n.decode()}" for n in needles if n in blob)
    return found


# A run of digits, possibly broken by the separators numbers are written with
# ("081 234 5678", "+250-788-100000", "(0788) 100 000").
DIGIT_RUN = re.compile(rb"\d(?:[ ()\-.]{0,2}\d)+")
SEPARATORS = re.compile(rb"[ ()\-.]")


class NumberScan:
    """Find any of many phone numbers, in any written form, in a pass over the text.

    Every form of a number (E.164, with or without "+", national with or without spaces)
    holds its national significant number, so each run of digits in the text, separators
    dropped, is searched for a significant number of a reporter by sliding a window of
    each significant length over it: one pass, whatever the count of numbers."""

    def __init__(self, numbers: Iterable[str]) -> None:
        self.by_significant: dict[bytes, str] = {}
        for e164 in numbers:
            significant = phonenumbers.national_significant_number(phonenumbers.parse(e164))
            self.by_significant[significant.encode()] = e164
        self.lengths = sorted({len(s) for s in self.by_significant})

    def __call__(self, blob: bytes) -> set[str]:
        found: set[str] = set()
        for match in DIGIT_RUN.finditer(blob):
            digits = SEPARATORS.sub(b"", match.group())
            for size in self.lengths:
                for start in range(len(digits) - size + 1):
                    e164 = self.by_significant.get(digits[start : start + size])
                    if e164 is not None:
                        found.add(e164)
        return found


def count_leaks(
    numbers: Iterable[str],
    *,
    database_url: str,
    redis_client: redis.Redis,
    files: Iterable[Path] = (),
) -> tuple[dict[str, int], list[str]]:
    """How many places in each store hold any of `numbers` in clear (rows, Redis values, RQ
    jobs, lines of the given files), and the first few places found, numbers masked."""
    scan = NumberScan(numbers)
    counts = {"table": 0, "redis": 0, "job": 0, "file": 0}
    examples: list[str] = []

    def note(kind: str, where: object, hits: set[str]) -> None:
        if not hits:
            return
        counts[kind] += 1
        if len(examples) < 5:
            masked = ", ".join(sorted(h[:-6] + "******" for h in hits))
            examples.append(f"{kind} {where!r}: {masked}")

    for kind, where, blob in at_rest(
        database_url=database_url, redis_client=redis_client, more=file_lines(files)
    ):
        note(kind, where, scan(blob))
    return counts, examples
