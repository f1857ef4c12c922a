"""The audit log in the console: read-only, newest first, for admins, each entry said in a
sentence; filters by case (its number, formatted or not) and by users; CSV export.

There is no route that changes or removes an entry, and `storage.users` has no function
that could. Reading the log is itself recorded ("audit.view"), with which filters were
used but not what was typed in them, and so is each export ("audit.export").
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from gateway.admin.web import Viewer, allow, render
from gateway.backoffice.auditlog import (
    MAX_PAGE,
    PER_PAGE,
    audit_filter,
    export_csv,
    read_page,
)
from gateway.backoffice.auditwords import sentence
from gateway.runtime import Runtime
from storage.db import utcnow
from storage.users import AuditFilter, audit_actors

router = APIRouter()
Admin = Annotated[Viewer, Depends(allow("audit"))]
Text = Annotated[str, Query(max_length=64)]
Users = Annotated[list[str] | None, Query(alias="user")]


def _query(request: Request) -> list[tuple[str, str]]:
    """The filters as asked for, every user kept, the page left out."""
    return [
        (key, value) for key, value in request.query_params.multi_items() if value and key != "page"
    ]


def _link(query: list[tuple[str, str]], page: int) -> str:
    return "/admin/audit?" + urlencode([*query, ("page", str(page))])


def _actors(runtime: Runtime) -> list[str]:
    with runtime.sessions() as session:
        return audit_actors(session=session)


def _where(
    actor: str, action: str, target: str, start: str, end: str, case: str, users: list[str] | None
) -> AuditFilter:
    return audit_filter(
        actor=actor,
        action=action,
        target=target,
        start=start,
        end=end,
        case=case,
        users=users or (),
    )


@router.get("/audit", response_class=HTMLResponse)
async def audit_log(
    request: Request,
    viewer: Admin,
    users: Users = None,
    actor: Text = "",
    action: Text = "",
    target: Annotated[str, Query(max_length=128)] = "",
    case: Annotated[str, Query(max_length=32)] = "",
    start: Annotated[str, Query(alias="from", max_length=32)] = "",
    end: Annotated[str, Query(alias="to", max_length=32)] = "",
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
) -> HTMLResponse:
    """Show the audit log in sentences, newest first, with filters and pages."""
    runtime: Runtime = request.app.state.runtime
    where = _where(actor, action, target, start, end, case, users)
    result = await runtime.db(
        read_page, runtime, viewer.username, viewer.ip_hash, where, page, PER_PAGE
    )
    query = _query(request)
    chosen = set(where.actors or ())
    return await render(
        request,
        "audit_log.html",
        viewer,
        result=result,
        rows=[(entry, sentence(entry, result.names)) for entry in result.entries],
        query=dict.fromkeys(("case", "action", "target", "from", "to"), "") | dict(query),
        actors=await runtime.db(_actors, runtime),
        chosen=chosen,
        export="/admin/audit/export.csv" + (f"?{urlencode(query)}" if query else ""),
        previous=_link(query, page - 1) if page > 1 else None,
        following=_link(query, page + 1) if page < result.pages else None,
    )


@router.get("/audit/export.csv")
async def audit_export(
    request: Request,
    viewer: Admin,
    users: Users = None,
    actor: Text = "",
    action: Text = "",
    target: Annotated[str, Query(max_length=128)] = "",
    case: Annotated[str, Query(max_length=32)] = "",
    start: Annotated[str, Query(alias="from", max_length=32)] = "",
    end: Annotated[str, Query(alias="to", max_length=32)] = "",
) -> Response:
    """Download the filtered entries as CSV (audited as "audit.export")."""
    runtime: Runtime = request.app.state.runtime
    where = _where(actor, action, target, start, end, case, users)
    text = await runtime.db(export_csv, runtime, viewer.username, viewer.ip_hash, where)
    name = f"sauti-audit-{utcnow():%Y%m%d-%H%M}.csv"
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={
            "content-disposition": f'attachment; filename="{name}"',
            "cache-control": "no-store",
        },
    )
