"""The FastAPI application factory, and the webhooks served ahead of it.

`Sauti` answers the provider webhooks named in `gateway.channels.registry.WEBHOOKS` (the
USSD callback) itself, as plain ASGI, and hands every other request to FastAPI: the hop
pays for none of the framework's routing, middleware, dependency resolution, per-request
telemetry checks or form parsing, only for what the webhook does (docs/architecture.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from gateway import admin, health
from gateway.api import router as api
from gateway.channels.formbody import answer, not_allowed
from gateway.channels.host import Webhook
from gateway.channels.registry import ROUTERS, WEBHOOKS
from gateway.conversation import Conversation
from gateway.prompts.serve import router as prompts
from gateway.runtime import REFRESH_SECONDS, Runtime, build_runtime
from storage.settings import Settings, load_settings

log = logging.getLogger(__name__)


class Sauti(FastAPI):
    """FastAPI, with the plain ASGI webhooks answered before it sees the request."""

    def __init__(self, *, webhooks: dict[str, Webhook], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.plain_webhooks = webhooks

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        webhook = self.plain_webhooks.get(scope["path"]) if scope["type"] == "http" else None
        if webhook is None:
            await super().__call__(scope, receive, send)
        elif scope["method"] != "POST":
            await not_allowed(send)
        else:
            await _serve(webhook, self.state, scope, receive, send)


async def _serve(webhook: Webhook, state: Any, scope: Scope, receive: Receive, send: Send) -> None:
    """Run a webhook; a fault it did not answer for is a plain 500, as the framework's."""
    try:
        await webhook(state, scope, receive, send)
    except Exception:
        log.exception("webhook %s failed", scope["path"])
        await answer(send, "Internal Server Error", 500)


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> FastAPI:
    """Build the app; the runtime is built at startup unless one is given (tests, benchmarks)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        rt = runtime or build_runtime(_checked(settings or load_settings()))
        app.state.runtime = rt
        app.state.conversation = conversation = Conversation(rt)
        _freeze_startup_objects()
        refresher = asyncio.create_task(_refresh_forever(rt))
        try:
            yield
        finally:
            await conversation.settle_background()
            refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await refresher
            if runtime is None:
                await rt.close()

    app = Sauti(webhooks=WEBHOOKS, title="Sauti", version="0.1.0", lifespan=lifespan)
    app.include_router(health.router)
    for router in ROUTERS:
        app.include_router(router)
    app.include_router(api)
    app.include_router(prompts)
    app.add_exception_handler(RequestValidationError, _validation_error)
    known = settings or (runtime.settings if runtime is not None else load_settings())
    admin.install(app, https=known.https)
    return app


def _freeze_startup_objects() -> None:
    """Keep what startup built (flows, catalogs, places: some 150,000 objects) out of the
    garbage collector's sweeps. They live as long as the process; left in, every full
    collection walks them all, tens of milliseconds that land on whichever hop is running."""
    gc.collect()
    gc.freeze()


def _checked(settings: Settings) -> Settings:
    settings.check_exposure()
    return settings


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    return JSONResponse({"detail": jsonable_errors(errors)}, status_code=422)


def jsonable_errors(errors: object) -> list[dict[str, object]]:
    if not isinstance(errors, list | tuple):
        return []
    return [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", ""))}
        for e in errors
        if isinstance(e, dict)
    ]


async def _refresh_forever(runtime: Runtime) -> None:
    while True:
        await asyncio.sleep(REFRESH_SECONDS)
        try:
            await runtime.refresh()
        except Exception as exc:
            log.warning("refresh of flows and places failed: %s", type(exc).__name__)
