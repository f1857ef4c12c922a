"""The JSON admin API under /api/v1; its OpenAPI description is served at /docs."""

from fastapi import APIRouter

from gateway.api import (
    audit,
    auth,
    cases,
    committees,
    exports,
    flows,
    incidents,
    outbox,
    places,
    signals,
    stats,
    translations,
)

router = APIRouter(prefix="/api/v1")
for _module in (
    auth,
    cases,
    incidents,
    exports,
    stats,
    signals,
    committees,
    places,
    outbox,
    flows,
    translations,
    audit,
):
    router.include_router(_module.router)

__all__ = ["router"]
