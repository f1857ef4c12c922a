"""The yardsticks of the USSD hop benchmark: minimal endpoints answering like a USSD callback.

- `create_app`: a bare FastAPI form endpoint, nothing else (the ladder's 1.00);
- `create_redis_app`: the same, plus a hop's Redis work: one MGET of 4 keys and one Lua
  script writing 3 keys with a ttl, values the size of a sealed session record;
- `create_raw_redis_app`: the same Redis work as a raw ASGI callable, the form read with
  `urllib.parse.parse_qsl` (what the framework's request path costs, by difference).

The Redis rungs read `REDIS_URL` from the environment, as the app does.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

import redis.asyncio as aredis
from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

# Sealed session records, reply and draft are a few hundred bytes each.
VALUE = os.urandom(320)
TTL = 180
WRITE = """
for i = 1, #KEYS do
  redis.call('SET', KEYS[i], ARGV[1], 'EX', ARGV[2])
end
return 1
"""


def _keys(session_id: str) -> list[str]:
    digest = hashlib.blake2b(session_id.encode(), digest_size=16).hexdigest()
    return [f"bench:{part}:{digest}" for part in ("s", "r", "d", "l")]


class _HopRedis:
    """The Redis work of one hop: read four keys at once, write three in one script."""

    def __init__(self) -> None:
        self.client = aredis.Redis.from_url(os.environ["REDIS_URL"])
        self.script = self.client.register_script(WRITE)

    async def hop(self, session_id: str) -> int:
        keys = _keys(session_id)
        found = await self.client.mget(keys)
        await self.script(keys=keys[:3], args=[VALUE, TTL])
        return sum(value is not None for value in found)


def create_app() -> FastAPI:
    app = FastAPI()

    @app.post("/ussd/africastalking", response_class=PlainTextResponse)
    async def hop(request: Request) -> PlainTextResponse:
        form = await request.form()
        return PlainTextResponse(f"CON {len(str(form.get('text', '')))}")

    return app


def create_redis_app() -> FastAPI:
    app = FastAPI()
    work = _HopRedis()

    @app.post("/ussd/africastalking", response_class=PlainTextResponse)
    async def hop(request: Request) -> PlainTextResponse:
        form = await request.form()
        found = await work.hop(str(form.get("sessionId", "")))
        return PlainTextResponse(f"CON {len(str(form.get('text', '')))} {found}")

    return app


def create_raw_redis_app() -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    work = _HopRedis()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        if scope["method"] != "POST":
            await _answer(send, 200, b"up")
            return
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        found = await work.hop(form.get("sessionId", ""))
        await _answer(send, 200, f"CON {len(form.get('text', ''))} {found}".encode())

    return app


async def _answer(send: Send, status: int, body: bytes) -> None:
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", b"%d" % len(body)),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
