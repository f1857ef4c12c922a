"""Conversation state in Redis."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from redis.asyncio import Redis

from storage.privacy import Crypto
from storage.sessions import NO_LANGUAGE, DraftChange, HopLoad, SessionStore

pytestmark = pytest.mark.anyio

PHONE = "+243812345678"
SESSION = "ussd:ATUid_5c1e0b"
RECORD = {"node": "report.description", "answers": {"description": "militaires au puits"}}


def _pair(load: HopLoad) -> tuple[object, object]:
    return load.record, load.reply


async def _all_keys(redis: Redis, prefix: str) -> list[bytes]:
    """The store's keys but its kept-data marker."""
    marker = f"{prefix}kept".encode()
    return [key async for key in redis.scan_iter(match=f"{prefix}*") if key != marker]


async def test_an_unknown_hop_has_no_record_and_no_reply(store: SessionStore) -> None:
    assert _pair(await store.load_hop(SESSION, "")) == (None, None)


async def test_a_saved_hop_replays_its_reply(
    store: SessionStore, async_redis: Redis, key_prefix: str
) -> None:
    await store.save_hop(SESSION, RECORD, 300, "3*1", "CON Describe what happened", 120)
    assert _pair(await store.load_hop(SESSION, "3*1")) == (RECORD, "CON Describe what happened")
    assert _pair(await store.load_hop(SESSION, "3*1*2")) == (RECORD, None)
    ttls = sorted([await async_redis.ttl(key) for key in await _all_keys(async_redis, key_prefix)])
    assert len(ttls) == 2
    assert 110 <= ttls[0] <= 120
    assert 290 <= ttls[1] <= 300


async def test_a_hop_is_saved_when_redis_has_not_got_the_script(
    store: SessionStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Redis that does not know the script's digest (restarted, or its scripts flushed)
    gets the script whole, and the hop is saved all the same."""
    monkeypatch.setattr(store, "_save_sha", "0" * 40)  # a digest no script has
    await store.save_hop(SESSION, RECORD, 300, "3*1", "CON Describe what happened", 120)
    assert _pair(await store.load_hop(SESSION, "3*1")) == (RECORD, "CON Describe what happened")


async def test_finishing_a_session_keeps_only_the_reply(store: SessionStore) -> None:
    await store.save_hop(SESSION, RECORD, 300, "1", "CON Menu", 300)
    await store.save_hop(SESSION, None, 300, "1*2", "END Thank you", 300)
    assert _pair(await store.load_hop(SESSION, "1*2")) == (None, "END Thank you")
    assert _pair(await store.load_hop(SESSION, "1")) == (None, "CON Menu")


async def test_one_load_brings_the_draft_and_the_language(
    store: SessionStore, crypto: Crypto
) -> None:
    pseudonym = crypto.pseudonym(PHONE)
    empty = await store.load_hop(SESSION, "", pseudonym=pseudonym)
    assert (empty.draft, empty.language) == (None, None)
    change = DraftChange(pseudonym, RECORD, 600)
    await store.save_hop(SESSION, RECORD, 300, "1", "CON Menu", 300, draft=change)
    await store.remember_language(pseudonym, None, 60)
    load = await store.load_hop(SESSION, "2", pseudonym=pseudonym)
    assert (load.record, load.reply, load.draft, load.language) == (
        RECORD,
        None,
        RECORD,
        NO_LANGUAGE,
    )
    await store.remember_language(pseudonym, "fr", 60)
    await store.save_hop(SESSION, None, 300, draft=DraftChange(pseudonym, None))
    load = await store.load_hop(SESSION, "3", pseudonym=pseudonym)
    assert (load.record, load.draft, load.language) == (None, None, "fr")


async def test_drop_forgets_the_session(store: SessionStore) -> None:
    await store.save_hop(SESSION, RECORD, 300)
    await store.drop(SESSION)
    assert _pair(await store.load_hop(SESSION, "x")) == (None, None)


async def test_drafts_round_trip_by_pseudonym(
    store: SessionStore, crypto: Crypto, async_redis: Redis, key_prefix: str
) -> None:
    pseudonym = crypto.pseudonym(PHONE)

    async def draft() -> object:
        return (await store.load_hop(SESSION, "x", pseudonym=pseudonym)).draft

    assert await draft() is None
    await store.save_hop(SESSION, None, 60, draft=DraftChange(pseudonym, RECORD, 86400))
    assert await draft() == RECORD
    [key] = await _all_keys(async_redis, key_prefix)
    assert 86000 < await async_redis.ttl(key) <= 86400
    await store.save_hop(SESSION, None, 60, draft=DraftChange(pseudonym, None))
    assert await draft() is None


async def test_drafts_refuse_a_phone_number_as_key(store: SessionStore) -> None:
    with pytest.raises(ValueError, match="pseudonym"):
        await store.save_hop(SESSION, None, 60, draft=DraftChange(PHONE, RECORD, 60))


async def test_a_message_is_claimed_once(store: SessionStore) -> None:
    sid = "SM" + "a" * 32
    assert await store.claim_message(sid, 3600)
    assert not await store.claim_message(sid, 3600)
    await store.remember_reply(sid, "Your case is 482-177-3501", 3600)
    assert await store.get_reply(sid) == "Your case is 482-177-3501"
    await store.release_message(sid)
    assert await store.claim_message(sid, 3600)
    assert await store.get_reply("SM" + "b" * 32) is None


async def test_nothing_readable_reaches_redis(
    store: SessionStore, crypto: Crypto, async_redis: Redis, key_prefix: str
) -> None:
    """Keys are hashes or pseudonyms; values are ciphertext."""
    hop = "3*1*militaires au puits"
    await store.save_hop(f"sms:{PHONE}", RECORD, 300, hop, "CON Merci", 300)
    change = DraftChange(crypto.pseudonym(PHONE), RECORD, 60)
    await store.save_hop(SESSION, None, 60, draft=change)
    for key in await _all_keys(async_redis, key_prefix):
        value = await async_redis.get(key)
        assert value is not None
        for secret in (PHONE.encode(), PHONE[1:].encode(), b"militaires", b"Merci"):
            assert secret not in key
            assert secret not in value


async def test_plain_store_round_trips_records(async_redis: Redis, key_prefix: str) -> None:
    store = SessionStore(async_redis, prefix=key_prefix)
    await store.save_hop(SESSION, RECORD, 60, "1", "CON Menu", 60)
    assert _pair(await store.load_hop(SESSION, "1")) == (RECORD, "CON Menu")


async def test_values_sealed_under_a_lost_key_read_as_expired(
    store: SessionStore, async_redis: Redis, key_prefix: str
) -> None:
    await store.save_hop(SESSION, RECORD, 60, "1", "CON Menu", 60)
    other = Crypto(b"x" * 32, Fernet.generate_key())
    stranger = SessionStore(async_redis, crypto=other, prefix=key_prefix)
    assert _pair(await stranger.load_hop(SESSION, "1")) == (None, None)
