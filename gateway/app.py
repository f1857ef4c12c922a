"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from gateway import admin, health
from gateway.api import router as api
from gateway.channels.registry import ROUTERS
from gateway.conversation import Conversation
from gateway.prompts.serve import router as prompts
from gateway.runtime import REFRESH_SECONDS, Runtime, build_runtime
from storage.settings import Settings, load_settings

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> FastAPI:
    """Build the app; the runtime is built at startup unless one is given (tests, benchmarks)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        rt = runtime or build_runtime(_checked(settings or load_settings()))
        app.state.runtime = rt
        app.state.conversation = conversation = Conversation(rt)
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

    app = FastAPI(title="Sauti", version="0.1.0", lifespan=lifespan)
    app.include_router(health.router)
    for router in ROUTERS:
        app.include_router(router)
    app.include_router(api)
    app.include_router(prompts)
    app.add_exception_handler(RequestValidationError, _validation_error)
    known = settings or (runtime.settings if runtime is not None else load_settings())
    admin.install(app, https=known.https)
    return app


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
