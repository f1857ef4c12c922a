"""Console pages: dashboard."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from gateway.admin.web import Viewer, allow, render

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
async def dashboard(
    request: Request, viewer: Annotated[Viewer, Depends(allow("dashboard"))]
) -> HTMLResponse:
    return await render(request, "error.html", viewer, status=200, detail="Dashboard")
