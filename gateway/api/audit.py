"""`GET /api/v1/audit`: the audit log as JSON, for admins; read-only like the console's.

Reading it is recorded as "audit.view", with the names of the filters used.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from gateway.api.deps import ApiKeysDep, api_allow, client_ip
from gateway.backoffice.auditlog import MAX_PAGE, audit_filter, read_page
from gateway.backoffice.tokens import Claims
from gateway.deps import RuntimeDep
from storage.users import hash_ip

router = APIRouter(tags=["audit"])

MAX_PER_PAGE = 200


class EntryOut(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    target: str | None
    data: dict[str, Any]
    ip_hash: str | None


class AuditPageOut(BaseModel):
    items: list[EntryOut]
    total: int
    page: int
    per_page: int


@router.get("/audit")
async def audit_log(
    request: Request,
    runtime: RuntimeDep,
    keys: ApiKeysDep,
    principal: Annotated[Claims, Depends(api_allow("audit"))],
    actor: Annotated[str, Query(max_length=64)] = "",
    action: Annotated[str, Query(max_length=64)] = "",
    target: Annotated[str, Query(max_length=128)] = "",
    start: Annotated[str, Query(alias="from", max_length=32)] = "",
    end: Annotated[str, Query(alias="to", max_length=32)] = "",
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = 50,
) -> AuditPageOut:
    """List audit entries, newest first; filter by who, action (or prefix), target, dates."""
    where = audit_filter(actor=actor, action=action, target=target, start=start, end=end)
    ip_hash = hash_ip(key=keys.address, ip=client_ip(request))
    result = await runtime.db(
        read_page, runtime, principal.username, ip_hash, where, page, per_page
    )
    items = [
        EntryOut(
            id=entry.id,
            at=entry.at,
            actor=entry.actor,
            action=entry.action,
            target=entry.target,
            data=entry.data,
            ip_hash=entry.ip_hash,
        )
        for entry in result.entries
    ]
    return AuditPageOut(items=items, total=result.total, page=page, per_page=per_page)
