"""JSON API: flows."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["flows"])
