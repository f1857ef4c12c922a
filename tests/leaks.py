"""Search everything at rest for a secret: every table, every Redis key and value, RQ job
arguments, and captured log text."""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator

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


def find_leaks(
    secrets: Iterable[str], *, database_url: str, redis_client: redis.Redis, logs: str
) -> list[str]:
    """Where any of `secrets` appears in clear; an empty list means nowhere."""
    needles = _needles(secrets)
    found: list[str] = []
    sources: list[tuple[str, Iterable[tuple[object, bytes]]]] = [
        ("table", database_rows(database_url)),
        ("redis", redis_values(redis_client)),
        ("job", job_arguments(redis_client)),
        ("log", [("captured", logs.encode())]),
    ]
    for kind, items in sources:
        for where, blob in items:
            found.extend(f"{kind} {where!r}: {n.decode()}" for n in needles if n in blob)
    return found
