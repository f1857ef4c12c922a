"""`GET /api/v1/cases` and `GET /api/v1/cases/{number}`.

Every role sees the anonymised fields. Only admins and coordinators get free text (the
description, the typed place, the bodies of notes and messages), and each such read is
audited. Contacts are never returned.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import AfterValidator, BaseModel

from gateway.api.deps import PrincipalDep
from gateway.api.tokens import Claims
from gateway.deps import RuntimeDep
from gateway.runtime import Runtime
from storage import casenumber
from storage.casequery import CaseFilter, case_with_events, list_cases
from storage.db import utcnow
from storage.models import (
    FREE_TEXT_ROLES,
    Case,
    CaseEvent,
    Category,
    EventKind,
    Severity,
    Status,
)
from storage.users import audit

MAX_PER_PAGE = 100
MAX_PAGE = 100_000
CODE_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"

router = APIRouter(tags=["cases"])


def _utc(value: datetime) -> datetime:
    """Read a time without an offset as UTC; refuse one that has no UTC equivalent."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError("the time is out of range") from exc


UtcTime = Annotated[datetime, AfterValidator(_utc)]
Code = Annotated[str, Query(pattern=CODE_PATTERN)]


class LocationOut(BaseModel):
    code: str
    name: str


class CaseSummary(BaseModel):
    number: str
    category: Category
    severity: Severity
    status: Status
    outcome: str | None
    location: LocationOut | None
    created_at: datetime


class CasePage(BaseModel):
    items: list[CaseSummary]
    total: int
    page: int
    per_page: int


class EventOut(BaseModel):
    at: datetime
    kind: EventKind
    actor: str
    body: str | None = None


class CaseDetail(CaseSummary):
    events: list[EventOut]
    description: str | None = None
    place_text: str | None = None


def _summary_fields(case: Case) -> dict[str, Any]:
    location = case.location
    return {
        "number": casenumber.display(case.number),
        "category": case.category,
        "severity": case.severity,
        "status": case.status,
        "outcome": case.outcome,
        "location": None if location is None else {"code": location.code, "name": location.name},
        "created_at": case.created_at,
    }


def _page(runtime: Runtime, where: CaseFilter, page: int, per_page: int) -> CasePage:
    with runtime.sessions() as session:
        cases, total = list_cases(
            session=session, where=where, offset=(page - 1) * per_page, limit=per_page
        )
        items = [CaseSummary.model_validate(_summary_fields(case)) for case in cases]
    return CasePage(items=items, total=total, page=page, per_page=per_page)


@router.get("/cases")
async def cases(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    status: Status | None = None,
    category: Category | None = None,
    severity: Severity | None = None,
    province: Code | None = None,
    committee: Code | None = None,
    created_from: Annotated[UtcTime | None, Query()] = None,
    created_to: Annotated[UtcTime | None, Query()] = None,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = 25,
) -> CasePage:
    """List cases, newest first, with filters and pagination."""
    where = CaseFilter(
        status=status,
        category=category,
        severity=severity,
        province=province,
        committee=committee,
        created_from=created_from,
        created_to=created_to,
    )
    return await runtime.db(_page, runtime, where, page, per_page)


def _event(event: CaseEvent, runtime: Runtime, free_text: bool) -> EventOut:
    fields: dict[str, Any] = {"at": event.at, "kind": event.kind, "actor": event.actor}
    if free_text:
        fields["body"] = _decrypt(runtime, event.body_enc)
    return EventOut(**fields)


def _decrypt(runtime: Runtime, value: bytes | None) -> str | None:
    return None if value is None else runtime.crypto.decrypt(value)


def _detail(runtime: Runtime, number: str, principal: Claims) -> CaseDetail | None:
    free_text = principal.role in FREE_TEXT_ROLES
    with runtime.sessions.begin() as session:
        case = case_with_events(session=session, number=number)
        if case is None:
            return None
        fields = _summary_fields(case)
        fields["events"] = [_event(event, runtime, free_text) for event in case.events]
        if free_text:
            fields["description"] = _decrypt(runtime, case.description_enc)
            fields["place_text"] = _decrypt(runtime, case.place_text_enc)
            audit(
                session=session,
                actor=principal.username,
                action="case.view_text",
                target=case.number,
                now=utcnow(),
            )
        return CaseDetail(**fields)


@router.get("/cases/{number}", response_model_exclude_unset=True)
async def case(number: str, runtime: RuntimeDep, principal: PrincipalDep) -> CaseDetail:
    """Show one case and its timeline; free text only for admins and coordinators."""
    canonical = casenumber.parse(number)
    found = None if canonical is None else await runtime.db(_detail, runtime, canonical, principal)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no case has this number")
    return found
