"""An inbound message answered once, whoever delivers it again.

Providers deliver a message again when it was not taken (a connection failure, a 5xx).
Its answer is worked out by the delivery that claims the message's id, then remembered
(sealed, in Redis) for 48 hours, so a repeat gets the same answer and has no second
effect. A claim lasts only as long as working out an answer may take: a delivery that
died meanwhile leaves the message to the provider's next attempt instead of to nobody.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from redis.exceptions import RedisError

from storage.sessions import SessionStore

log = logging.getLogger(__name__)

ANSWER_TTL = 48 * 3600
CLAIM_TTL = 60
REPEAT_WAIT = 5.0


class NotNow(Exception):
    """The message cannot be taken now: answer the provider 503, it delivers it again."""


async def answer_once(
    store: SessionStore,
    key: str,
    work: Callable[[], Awaitable[str | None]],
    *,
    failed: Callable[[], None],
) -> tuple[str, bool]:
    """The answer to the message named `key` ("" for none) and whether it was worked out
    now: the one remembered, else worked out by `work` under a claim. Raises `NotNow` when
    another delivery of it is still at work past the wait, or `work` failed (`failed` is
    called, the claim released); RedisError when Redis is out of reach."""
    answered = await store.get_reply(key)
    if answered is not None:
        return answered, False
    if not await store.claim_message(key, CLAIM_TTL):
        return await _answered_meanwhile(store, key), False
    try:
        reply = await work() or ""
    except Exception:
        log.exception("message handling failed; the provider will deliver it again")
        failed()
        with contextlib.suppress(RedisError):
            await store.release_message(key)
        raise NotNow from None
    try:
        await store.remember_reply(key, reply, ANSWER_TTL)
    except RedisError as exc:
        log.warning("answer not remembered for repeats: %s", type(exc).__name__)
    return reply, True


async def _answered_meanwhile(store: SessionStore, key: str) -> str:
    """A repeat of a message another delivery is answering: its answer once it is there."""
    deadline = time.monotonic() + REPEAT_WAIT
    while True:
        previous = await store.get_reply(key)
        if previous is not None:
            return previous
        if time.monotonic() > deadline:
            raise NotNow
        await asyncio.sleep(0.1)
