"""JSON API: stats."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["stats"])
