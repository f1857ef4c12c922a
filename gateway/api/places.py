"""JSON API: places."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["places"])
