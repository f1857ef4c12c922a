"""Session records in MessagePack, and the JSON records written before still read (a
deploy in the middle of a session), sealed or not."""

from __future__ import annotations

import hashlib
import json

import msgpack
import pytest
from redis.asyncio import Redis

from storage.privacy import Crypto
from storage.sessions import DraftChange, SessionStore

pytestmark = pytest.mark.anyio

SESSION = "at:ATUid_0ld"
PSEUDONYM = "a" * 64
RECORD = {
    "s": {"v": "17826e76404e", "l": "sw", "n": "report.where", "a": {"category": "accident"}},
    "n": 3,
    "p": "0" * 64,
}


def session_key(prefix: str, session: str = SESSION) -> str:
    return f"{prefix}s:{hashlib.sha256(session.encode()).hexdigest()[:32]}"


def as_before(record: dict[str, object]) -> bytes:
    """A record as the JSON encoding wrote it."""
    return json.dumps(record, separators=(",", ":")).encode()


async def test_a_record_is_written_as_messagepack(
    async_redis: Redis, crypto: Crypto, key_prefix: str
) -> None:
    store = SessionStore(async_redis, crypto=crypto, prefix=key_prefix)
    await store.save_hop(SESSION, RECORD, 60, "h", "CON Where?", 60)
    sealed = await async_redis.get(session_key(key_prefix))
    assert msgpack.unpackb(crypto.unseal(sealed)) == RECORD
    assert len(msgpack.packb(RECORD)) < len(as_before(RECORD))


async def test_a_sealed_json_record_of_before_is_read(
    async_redis: Redis, crypto: Crypto, key_prefix: str
) -> None:
    await async_redis.set(session_key(key_prefix), crypto.seal(as_before(RECORD)), ex=60)
    store = SessionStore(async_redis, crypto=crypto, prefix=key_prefix)
    assert (await store.load_hop(SESSION, "next")).record == RECORD


async def test_a_json_draft_and_latest_conversation_of_before_are_read(
    async_redis: Redis, crypto: Crypto, key_prefix: str
) -> None:
    store = SessionStore(async_redis, crypto=crypto, prefix=key_prefix)
    sealed = crypto.seal(as_before(RECORD))
    await async_redis.set(f"{key_prefix}d:{PSEUDONYM}", sealed, ex=60)
    await async_redis.set(f"{key_prefix}u:{PSEUDONYM}", sealed, ex=60)
    load = await store.load_hop(SESSION, "x", pseudonym=PSEUDONYM, last=True)
    assert (load.draft, load.last) == (RECORD, RECORD)


async def test_a_plain_json_record_of_before_is_read(async_redis: Redis, key_prefix: str) -> None:
    await async_redis.set(session_key(key_prefix), as_before(RECORD), ex=60)
    store = SessionStore(async_redis, prefix=key_prefix)
    assert (await store.load_hop(SESSION, "next")).record == RECORD


async def test_a_session_goes_on_in_messagepack_after_a_json_hop(
    async_redis: Redis, crypto: Crypto, key_prefix: str
) -> None:
    await async_redis.set(session_key(key_prefix), crypto.seal(as_before(RECORD)), ex=60)
    store = SessionStore(async_redis, crypto=crypto, prefix=key_prefix)
    record = (await store.load_hop(SESSION, "h")).record
    assert record is not None
    moved = {**record, "n": 4}
    await store.save_hop(
        SESSION, moved, 60, "h", "CON Next", 60, draft=DraftChange(PSEUDONYM, moved, 60)
    )
    load = await store.load_hop(SESSION, "h2", pseudonym=PSEUDONYM)
    assert (load.record, load.draft) == (moved, moved)


@pytest.mark.parametrize("junk", [b"", b"{not json", b"\xc1", b"\x93\x01\x02\x03"])
async def test_a_value_of_neither_encoding_reads_as_expired(
    async_redis: Redis, crypto: Crypto, key_prefix: str, junk: bytes
) -> None:
    await async_redis.set(session_key(key_prefix), crypto.seal(junk), ex=60)
    store = SessionStore(async_redis, crypto=crypto, prefix=key_prefix)
    assert (await store.load_hop(SESSION, "next")).record is None
