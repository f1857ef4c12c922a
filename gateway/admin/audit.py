"""The audit log in the console: read-only, newest first, for admins.

There is no route that changes or removes an entry, and `storage.users` has no function
that could. Reading the log is itself recorded ("audit.view"), with which filters were
used but not what was typed in them.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from gateway.admin.web import Viewer, allow, render
from gateway.backoffice.auditlog import MAX_PAGE, PER_PAGE, audit_filter, read_page
from gateway.runtime import Runtime

router = APIRouter()


def _link(query: dict[str, str], page: int) -> str:
    kept = {key: value for key, value in query.items() if value and key != "page"}
    return "/admin/audit?" + urlencode({**kept, "page": page})


@router.get("/audit", response_class=HTMLResponse)
async def audit_log(
    request: Request,
    viewer: Annotated[Viewer, Depends(allow("audit"))],
    actor: Annotated[str, Query(max_length=64)] = "",
    action: Annotated[str, Query(max_length=64)] = "",
    target: Annotated[str, Query(max_length=128)] = "",
    start: Annotated[str, Query(alias="from", max_length=32)] = "",
    end: Annotated[str, Query(alias="to", max_length=32)] = "",
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
) -> HTMLResponse:
    """Show the audit log, newest first, with filters and pages."""
    runtime: Runtime = request.app.state.runtime
    where = audit_filter(actor=actor, action=action, target=target, start=start, end=end)
    result = await runtime.db(
        read_page, runtime, viewer.username, viewer.ip_hash, where, page, PER_PAGE
    )
    query = {"actor": actor, "action": action, "target": target, "from": start, "to": end}
    return await render(
        request,
        "audit_log.html",
        viewer,
        result=result,
        query=query,
        previous=_link(query, page - 1) if page > 1 else None,
        following=_link(query, page + 1) if page < result.pages else None,
    )
