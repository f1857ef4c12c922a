"""JSON API: signals (storage/signals.py), listed with filters, one with the numbers of
the cases behind it, acknowledged and closed with a note.

As on the console: every role reads signals; acknowledging and closing take the roles
that act on cases; the closing note is free text, given only to admins and coordinators
(each read audited as `signal.view_text`), never to analysts.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, status
from pydantic import BaseModel, StringConstraints

from gateway.api.deps import ScopeDep, api_allow
from gateway.backoffice.signalwork import SignalNotFound, change_signal
from gateway.backoffice.tokens import Claims
from gateway.deps import RuntimeDep
from gateway.runtime import Runtime
from storage import signals
from storage.cases import InvalidAction
from storage.db import utcnow
from storage.models import FREE_TEXT_ROLES, Category, Signal, SignalRule, SignalStatus
from storage.signals import MAX_NOTE, SignalFilter
from storage.users import audit, user_scope

router = APIRouter(tags=["signals"])
Everyone = Annotated[Claims, Depends(api_allow("signals"))]
ActorDep = Annotated[Claims, Depends(api_allow("case_actions"))]
SignalId = Annotated[int, Path(ge=1, le=2**31 - 1)]
ProvinceCode = Annotated[str | None, Query(max_length=64, pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")]
MAX_PER_PAGE = 200
NO_SIGNAL = "no signal has this id"


class SignalOut(BaseModel):
    id: int
    rule: SignalRule
    category: str
    status: SignalStatus
    territory: str | None
    committee: str | None
    day: date
    count: int
    baseline_mean: float | None
    baseline_sd: float | None
    threshold: float | None
    words: str
    raised_at: datetime
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    closed_by: str | None
    closed_at: datetime | None


class SignalDetail(SignalOut):
    cases: list[str]
    # The closing note: only for roles that read free text; None while open.
    note: str | None = None


class SignalPage(BaseModel):
    items: list[SignalOut]
    total: int
    page: int
    per_page: int


class CloseIn(BaseModel):
    note: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_NOTE)
    ]


def _out(signal: Signal) -> dict[str, object]:
    return {
        "id": signal.id,
        "rule": signal.rule,
        "category": signal.category,
        "status": signal.status,
        "territory": None if signal.territory is None else signal.territory.code,
        "committee": None if signal.committee is None else signal.committee.code,
        "day": signal.day,
        "count": signal.count,
        "baseline_mean": signal.baseline_mean,
        "baseline_sd": signal.baseline_sd,
        "threshold": signal.threshold,
        "words": signals.rule_in_words(signal),
        "raised_at": signal.raised_at,
        "acknowledged_by": signal.acknowledged_by,
        "acknowledged_at": signal.acknowledged_at,
        "closed_by": signal.closed_by,
        "closed_at": signal.closed_at,
    }


def _listing(
    runtime: Runtime, where: SignalFilter, page: int, per_page: int
) -> tuple[list[SignalOut], int]:
    with runtime.sessions() as session:
        found = signals.list_signals(
            session=session, where=where, limit=per_page, offset=(page - 1) * per_page
        )
        total = signals.count_signals(session=session, where=where)
        return [SignalOut.model_validate(_out(s)) for s in found], total


@router.get("/signals")
async def signal_list(
    runtime: RuntimeDep,
    principal: Everyone,
    scope: ScopeDep,
    status_: Annotated[SignalStatus | None, Query(alias="status")] = None,
    category: Category | None = None,
    province: ProvinceCode = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = 50,
) -> SignalPage:
    """List signals, open first, then acknowledged, then closed, newest first in each;
    filter by status, category and province code (no closing notes here)."""
    where = SignalFilter(status=status_, category=category, province=province, scope=scope)
    items, total = await runtime.db(_listing, runtime, where, page, per_page)
    return SignalPage(items=items, total=total, page=page, per_page=per_page)


def _detail(runtime: Runtime, signal_id: int, principal: Claims) -> SignalDetail | None:
    with runtime.sessions.begin() as session:
        scope = user_scope(session=session, username=principal.username)
        signal = signals.get_signal(session=session, signal_id=signal_id, scope=scope)
        if signal is None:
            return None
        note = None
        if signal.note_enc is not None and principal.role in FREE_TEXT_ROLES:
            note = signals.closing_note(crypto=runtime.crypto, signal=signal)
            audit(
                session=session,
                actor=principal.username,
                action="signal.view_text",
                target=str(signal.id),
                now=utcnow(),
            )
        cases = [link.case.number for link in signal.cases]
        return SignalDetail.model_validate({**_out(signal), "cases": cases, "note": note})


async def _found(runtime: Runtime, signal_id: int, principal: Claims) -> SignalDetail:
    detail = await runtime.db(_detail, runtime, signal_id, principal)
    if detail is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=NO_SIGNAL)
    return detail


@router.get("/signals/{signal_id}")
async def signal_detail(
    signal_id: SignalId, runtime: RuntimeDep, principal: Everyone
) -> SignalDetail:
    """One signal with the case numbers behind it (the closing note for admins and
    coordinators only, audited)."""
    return await _found(runtime, signal_id, principal)


def _change(runtime: Runtime, signal_id: int, principal: Claims, note: str | None) -> bool:
    try:
        return change_signal(runtime, signal_id, principal.username, note)
    except SignalNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=NO_SIGNAL) from exc


@router.post("/signals/{signal_id}/acknowledge")
async def acknowledge(
    signal_id: SignalId, runtime: RuntimeDep, principal: ActorDep
) -> SignalDetail:
    """Acknowledge an open signal (nothing changes when it was acknowledged or closed)."""
    await runtime.db(_change, runtime, signal_id, principal, None)
    return await _found(runtime, signal_id, principal)


@router.post("/signals/{signal_id}/close")
async def close(
    signal_id: SignalId, body: CloseIn, runtime: RuntimeDep, principal: ActorDep
) -> SignalDetail:
    """Close a signal with a note on what was done; 409 when it was closed already."""
    try:
        changed = await runtime.db(_change, runtime, signal_id, principal, body.note)
    except InvalidAction as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=f"note: {exc}") from exc
    if not changed:
        raise HTTPException(status.HTTP_409_CONFLICT, detail="this signal is closed already")
    return await _found(runtime, signal_id, principal)
