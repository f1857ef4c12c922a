"""`GET /api/v1/exports/cases.csv` (the export itself is `gateway.backoffice.exports`)."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from gateway.api.cases import api_filters
from gateway.api.deps import ScopeDep, api_allow
from gateway.backoffice.exports import csv_export
from gateway.backoffice.tokens import Claims
from gateway.deps import RuntimeDep
from storage.casequery import CaseFilter
from storage.models import Role

router = APIRouter(tags=["exports"])


@router.get("/exports/cases.csv", response_class=StreamingResponse)
async def export_cases(
    runtime: RuntimeDep,
    principal: Annotated[Claims, Depends(api_allow("exports"))],
    scope: ScopeDep,
    where: Annotated[CaseFilter, Depends(api_filters)],
    include_text: Annotated[bool, Query()] = False,
) -> StreamingResponse:
    """Export the matching cases of the caller's scope as CSV; free text only for admins and
    coordinators."""
    return await csv_export(
        runtime,
        username=principal.username,
        role=Role(principal.role),
        where=replace(where, scope=scope),
        include_text=include_text,
    )
