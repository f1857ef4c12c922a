"""JSON API: translations."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["translations"])
