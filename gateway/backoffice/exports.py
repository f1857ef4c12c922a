"""The case export the console and the API both answer with: audited, then streamed CSV.

Everyone who may export gets the anonymised columns. Free-text columns (description, typed
place) come only to admins and coordinators who ask with `include_text=1`; an analyst who
asks is refused (403) rather than silently given less. Each export is audited with its
filters, the exporter's scope and the row count, never with any of its content. The
filter given carries the exporter's scope (`CaseFilter.scope`): a scoped coordinator's
export holds their cases only.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from fastapi import HTTPException, status
from fastapi.responses import StreamingResponse

from gateway.runtime import Runtime
from storage.casequery import CaseFilter, count_cases
from storage.db import utcnow
from storage.exports import csv_chunks
from storage.models import FREE_TEXT_ROLES, Role
from storage.users import audit

NO_TEXT_FOR_ROLE = "your role may not export free text: leave out include_text"


def _filter_data(where: CaseFilter) -> dict[str, Any]:
    """The filters as the audit log keeps them: codes, digits and times, never free text."""
    values = {key: value for key, value in asdict(where).items() if value is not None}
    values.pop("scope", None)
    if where.scope is not None and not where.scope.everything:
        values["scope"] = where.scope.label
    return {key: _plain(value) for key, value in values.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, frozenset):
        return sorted(value)
    return value


def _audit_export(
    runtime: Runtime, username: str, where: CaseFilter, include_text: bool, ip_hash: str | None
) -> int:
    with runtime.sessions.begin() as session:
        rows = count_cases(session=session, where=where)
        audit(
            session=session,
            actor=username,
            action="export.cases",
            data={"filters": _filter_data(where), "rows": rows, "include_text": include_text},
            ip_hash=ip_hash,
            now=utcnow(),
        )
    return rows


async def csv_export(
    runtime: Runtime,
    *,
    username: str,
    role: Role,
    where: CaseFilter,
    include_text: bool,
    ip_hash: str | None = None,
) -> StreamingResponse:
    """Audit the export, then stream its CSV; 403 when the role may not have free text."""
    if include_text and role not in FREE_TEXT_ROLES:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail=NO_TEXT_FOR_ROLE)
    await runtime.db(_audit_export, runtime, username, where, include_text, ip_hash)
    chunks = csv_chunks(
        sessions=runtime.sessions, where=where, crypto=runtime.crypto if include_text else None
    )
    name = f"sauti-cases-{utcnow():%Y%m%d-%H%M}.csv"
    return StreamingResponse(
        chunks,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
