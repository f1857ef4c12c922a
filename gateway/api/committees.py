"""JSON API: committees."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["committees"])
