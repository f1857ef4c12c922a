"""`GET /api/v1/incidents` and `GET /api/v1/incidents/{number}`: reports of one event
grouped, with their cases' numbers and counts by status.

Every role may read them, as the cases' anonymised fields: there is no free text here.
An incident's number is its first case's.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel, Field

from gateway.api.deps import PrincipalDep, ScopeDep
from gateway.deps import RuntimeDep
from gateway.runtime import Runtime
from storage import casenumber
from storage.incidentquery import IncidentView, incident_by_number, list_incidents
from storage.models import Category
from storage.users import Scope

MAX_PER_PAGE = 100
MAX_PAGE = 100_000

router = APIRouter(tags=["incidents"])


class IncidentPlace(BaseModel):
    code: str
    name: str


class IncidentOut(BaseModel):
    number: str = Field(description="the incident's number: its first case's")
    category: Category
    location: IncidentPlace | None = Field(description="the site, or territory, it groups by")
    created_at: datetime
    last_report_at: datetime = Field(description="when its latest case was received")
    reports: int = Field(description="how many cases it holds")
    by_status: dict[str, int] = Field(description="its cases counted by status")
    cases: list[str] = Field(description="its cases' numbers, the oldest first")


class IncidentPage(BaseModel):
    items: list[IncidentOut]
    total: int
    page: int
    per_page: int


def _out(view: IncidentView) -> IncidentOut:
    place = None
    if view.place_code is not None and view.place_name is not None:
        place = IncidentPlace(code=view.place_code, name=view.place_name)
    return IncidentOut(
        number=casenumber.display(view.number),
        category=Category(view.category),
        location=place,
        created_at=view.created_at,
        last_report_at=view.last_report_at,
        reports=len(view.cases),
        by_status=view.by_status,
        cases=[casenumber.display(number) for number in view.cases],
    )


def _page(
    runtime: Runtime, category: str | None, page: int, per_page: int, scope: Scope
) -> IncidentPage:
    with runtime.sessions() as session:
        views, total = list_incidents(
            session=session,
            offset=(page - 1) * per_page,
            limit=per_page,
            category=category,
            scope=scope,
        )
    return IncidentPage(items=[_out(v) for v in views], total=total, page=page, per_page=per_page)


def _one(runtime: Runtime, number: str, scope: Scope) -> IncidentOut | None:
    with runtime.sessions() as session:
        view = incident_by_number(session=session, number=number, scope=scope)
    return None if view is None else _out(view)


@router.get("/incidents")
async def incidents(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    scope: ScopeDep,
    category: Category | None = None,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = 25,
) -> IncidentPage:
    """List incidents, the latest report first, optionally of one category (a scoped
    caller: those with a case in their scope, with those cases only)."""
    return await runtime.db(_page, runtime, category, page, per_page, scope)


@router.get("/incidents/{number}")
async def incident(
    number: str, runtime: RuntimeDep, principal: PrincipalDep, scope: ScopeDep
) -> IncidentOut:
    """Show one incident: its cases' numbers, category, place and counts by status."""
    canonical = casenumber.parse(number)
    found = None if canonical is None else await runtime.db(_one, runtime, canonical, scope)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no incident has this number")
    return found
