"""The JSON admin API under /api/v1; its OpenAPI description is served at /docs."""

from fastapi import APIRouter

from gateway.api import auth, cases

router = APIRouter(prefix="/api/v1")
router.include_router(auth.router)
router.include_router(cases.router)

__all__ = ["router"]
