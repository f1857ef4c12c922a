"""`GET /api/v1/cases` and `GET /api/v1/cases/{number}`.

Every role sees the anonymised fields, among them the case's actions (number, committee,
status, due date, when done and verified), the reporter's answer to the latest closing and
the appeals. Only admins and coordinators get free text (the description, the typed place,
the bodies of notes and messages, what each action is), and each such read is audited.
Contacts are never returned, nor who owns or did an action.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from gateway.api.deps import PrincipalDep, ScopeDep, api_allow
from gateway.backoffice.tokens import Claims
from gateway.casework import (
    MAX_TEXT,
    Action,
    ActionRequest,
    CaseClosed,
    CaseNotFound,
    perform,
)
from gateway.deps import RuntimeDep
from gateway.runtime import Runtime
from storage import actions, casenumber
from storage.casequery import (
    CaseFilter,
    InvalidSearch,
    case_with_events,
    in_scope,
    list_cases,
    number_prefix,
)
from storage.cases import InvalidAction
from storage.db import utcnow
from storage.incidentquery import CaseGrouping, groupings
from storage.models import (
    FREE_TEXT_ROLES,
    ActionStatus,
    Case,
    CaseAction,
    CaseEvent,
    Category,
    EventKind,
    LinkState,
    Occurred,
    Outcome,
    Satisfaction,
    Severity,
    Status,
)
from storage.users import audit, user_scope

MAX_PER_PAGE = 100
MAX_PAGE = 100_000
CODE_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
MAX_SEARCH = 40

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
    itsci_level: int
    status: Status
    outcome: str | None
    location: LocationOut | None
    created_at: datetime
    incident: str | None = Field(
        default=None, description="the number of the incident the case is grouped in"
    )
    incident_link: LinkState | None = Field(
        default=None, description="suggested by the system, or confirmed by a person"
    )
    duplicate_of: str | None = Field(
        default=None, description="the case this one was closed as a duplicate of"
    )
    occurred: Occurred = Field(description="when it happened, as the reporter answered")
    occurred_from: date | None = Field(
        default=None,
        description="the first day it may have happened (the reporters' zone); null: earlier",
    )
    occurred_to: date | None = Field(
        default=None, description="the last day it may have happened, fixed at submission"
    )


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


class ActionOut(BaseModel):
    n: int = Field(description="the action's number within the case, as DONE <case> <n> types it")
    committee: str = Field(description="the code of the committee that took it on")
    status: ActionStatus
    due_on: date = Field(description="a day in the committee's time zone")
    done_at: datetime | None
    verified_at: datetime | None
    what: str | None = Field(default=None, description="admins and coordinators only")


class AppealOut(BaseModel):
    at: datetime
    from_committee: str | None = Field(description="the highest committee that held the case")
    to_committee: str | None = Field(description="where it went; null: the triage inbox")


class CaseDetail(CaseSummary):
    events: list[EventOut]
    actions: list[ActionOut] = []
    satisfaction: Satisfaction | None = Field(
        default=None,
        description="the reporter's latest answer to a closing (not_solved: an appeal); "
        "one older than the latest closing leaves that closing unanswered",
    )
    satisfaction_at: datetime | None = None
    appeals: list[AppealOut] = Field(
        default=[], description="each 'not solved' that reopened the case, oldest first"
    )
    description: str | None = None
    place_text: str | None = None


def _number(number: str | None) -> str | None:
    return None if number is None else casenumber.display(number)


def _summary_fields(case: Case, grouping: CaseGrouping | None = None) -> dict[str, Any]:
    location = case.location
    grouping = grouping or CaseGrouping()
    return {
        "number": casenumber.display(case.number),
        "category": case.category,
        "severity": case.severity,
        "itsci_level": case.itsci_level,
        "status": case.status,
        "outcome": case.outcome,
        "location": None if location is None else {"code": location.code, "name": location.name},
        "created_at": case.created_at,
        "incident": _number(grouping.incident),
        "incident_link": grouping.incident_link,
        "duplicate_of": _number(grouping.duplicate_of),
        "occurred": case.occurred,
        "occurred_from": case.occurred_from,
        "occurred_to": case.occurred_to,
    }


def _page(runtime: Runtime, where: CaseFilter, page: int, per_page: int) -> CasePage:
    """One page of the cases `where` matches (its scope, the caller's, among its filters)."""
    with runtime.sessions() as session:
        cases, total = list_cases(
            session=session, where=where, offset=(page - 1) * per_page, limit=per_page
        )
        grouped = groupings(session=session, case_ids=[case.id for case in cases])
        items = [
            CaseSummary.model_validate(_summary_fields(case, grouped.get(case.id)))
            for case in cases
        ]
    return CasePage(items=items, total=total, page=page, per_page=per_page)


def api_filters(
    status: Status | None = None,
    category: Category | None = None,
    severity: Severity | None = None,
    level: Annotated[int | None, Query(ge=1, le=3)] = None,
    province: Code | None = None,
    committee: Code | None = None,
    created_from: Annotated[UtcTime | None, Query()] = None,
    created_to: Annotated[UtcTime | None, Query()] = None,
    q: Annotated[str | None, Query(max_length=MAX_SEARCH)] = None,
) -> CaseFilter:
    """The case filters of a query string; `q` is a case number, whole or its first digits."""
    try:
        number = None if q is None else number_prefix(q)
    except InvalidSearch as exc:
        raise HTTPException(422, detail=f"q: {exc}") from exc
    return CaseFilter(
        status=status,
        category=category,
        severity=severity,
        level=level,
        province=province,
        committee=committee,
        created_from=created_from,
        created_to=created_to,
        number=number,
    )


@router.get("/cases")
async def cases(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    scope: ScopeDep,
    where: Annotated[CaseFilter, Depends(api_filters)],
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = 25,
) -> CasePage:
    """List the cases in the caller's scope, newest first, with filters, a case number
    search and pagination."""
    return await runtime.db(_page, runtime, replace(where, scope=scope), page, per_page)


def _event(event: CaseEvent, runtime: Runtime, free_text: bool) -> EventOut:
    fields: dict[str, Any] = {"at": event.at, "kind": event.kind, "actor": event.actor}
    if free_text:
        fields["body"] = _decrypt(runtime, event.body_enc)
    return EventOut(**fields)


def _action(action: CaseAction, runtime: Runtime, free_text: bool) -> ActionOut:
    fields: dict[str, Any] = {
        "n": action.n,
        "committee": action.committee.code,
        "status": action.status,
        "due_on": action.due_on,
        "done_at": action.done_at,
        "verified_at": action.verified_at,
    }
    if free_text:
        fields["what"] = actions.what(crypto=runtime.crypto, action=action)
    return ActionOut(**fields)


def _appeals(events: list[CaseEvent]) -> list[AppealOut]:
    found: list[AppealOut] = []
    for event in events:
        if event.kind != EventKind.APPEALED:
            continue
        data = event.data or {}
        found.append(
            AppealOut(at=event.at, from_committee=data.get("from"), to_committee=data.get("to"))
        )
    return found


def _decrypt(runtime: Runtime, value: bytes | None) -> str | None:
    return None if value is None else runtime.crypto.decrypt(value)


def _detail(runtime: Runtime, number: str, principal: Claims) -> CaseDetail | None:
    free_text = principal.role in FREE_TEXT_ROLES
    with runtime.sessions.begin() as session:
        scope = user_scope(session=session, username=principal.username)
        if not in_scope(session=session, scope=scope, number=number):
            return None  # outside the caller's scope: the same 404 as no such case
        case = case_with_events(session=session, number=number)
        if case is None:
            return None
        grouped = groupings(session=session, case_ids=[case.id])
        fields = _summary_fields(case, grouped.get(case.id))
        fields["events"] = [_event(event, runtime, free_text) for event in case.events]
        fields["actions"] = [
            _action(action, runtime, free_text)
            for action in actions.actions_of(session=session, case_id=case.id)
        ]
        fields["satisfaction"] = case.satisfaction
        fields["satisfaction_at"] = case.satisfaction_at
        fields["appeals"] = _appeals(case.events)
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


# Actions: the same `gateway.casework` code as the console and the focal points' SMS.

ActorDep = Annotated[Claims, Depends(api_allow("case_actions"))]


Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_TEXT)]


class TextIn(BaseModel):
    text: Annotated[Text, StringConstraints(min_length=1)]


class ReassignIn(BaseModel):
    committee: Annotated[str, StringConstraints(pattern=CODE_PATTERN)]


class CloseIn(BaseModel):
    outcome: Outcome
    note: Text | None = None
    duplicate_of: Annotated[
        str | None,
        Field(
            max_length=32,
            description="with outcome duplicate: the number of the case this one repeats",
        ),
    ] = None


def _reachable(runtime: Runtime, number: str, principal: Claims) -> bool:
    with runtime.sessions() as session:
        scope = user_scope(session=session, username=principal.username)
        return in_scope(session=session, scope=scope, number=number)


async def _act(
    runtime: Runtime, number: str, principal: Claims, request: ActionRequest
) -> CaseDetail:
    """Do one action and answer with the case as it now is (404, 409 or 422 when refused)."""
    canonical = casenumber.parse(number)
    if canonical is None or not await runtime.db(_reachable, runtime, canonical, principal):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no case has this number")
    try:
        await perform(runtime, number=canonical, username=principal.username, request=request)
    except CaseNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no case has this number") from exc
    except CaseClosed as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail="the case is closed") from exc
    except InvalidAction as exc:
        raise HTTPException(422, detail=str(exc)) from exc
    found = await runtime.db(_detail, runtime, canonical, principal)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no case has this number")
    return found


@router.post("/cases/{number}/notes", response_model_exclude_unset=True)
async def add_note(
    number: str, body: TextIn, runtime: RuntimeDep, principal: ActorDep
) -> CaseDetail:
    """Add an internal note to a case."""
    return await _act(runtime, number, principal, ActionRequest(Action.NOTE, text=body.text))


@router.post("/cases/{number}/acknowledge", response_model_exclude_unset=True)
async def acknowledge(number: str, runtime: RuntimeDep, principal: ActorDep) -> CaseDetail:
    """Acknowledge a case (nothing changes when it was acknowledged already)."""
    return await _act(runtime, number, principal, ActionRequest(Action.ACKNOWLEDGE))


@router.post("/cases/{number}/messages", response_model_exclude_unset=True)
async def message_reporter(
    number: str, body: TextIn, runtime: RuntimeDep, principal: ActorDep
) -> CaseDetail:
    """Leave a message for the reporter: by SMS if they asked for updates, else at their
    next status check."""
    return await _act(runtime, number, principal, ActionRequest(Action.MESSAGE, text=body.text))


@router.post("/cases/{number}/reassign", response_model_exclude_unset=True)
async def reassign(
    number: str, body: ReassignIn, runtime: RuntimeDep, principal: ActorDep
) -> CaseDetail:
    """Move a case to another active committee, which is alerted."""
    request = ActionRequest(Action.REASSIGN, committee=body.committee)
    return await _act(runtime, number, principal, request)


@router.post("/cases/{number}/escalate", response_model_exclude_unset=True)
async def escalate(number: str, runtime: RuntimeDep, principal: ActorDep) -> CaseDetail:
    """Pass a case up to the committee above, which is alerted."""
    return await _act(runtime, number, principal, ActionRequest(Action.ESCALATE))


@router.post("/cases/{number}/close", response_model_exclude_unset=True)
async def close(number: str, body: CloseIn, runtime: RuntimeDep, principal: ActorDep) -> CaseDetail:
    """Close a case with an outcome and an optional note; a duplicate may name the case it
    repeats (`duplicate_of`), whose news its reporter then gets."""
    request = ActionRequest(
        Action.CLOSE, outcome=body.outcome, text=body.note or "", other=body.duplicate_of or ""
    )
    return await _act(runtime, number, principal, request)
