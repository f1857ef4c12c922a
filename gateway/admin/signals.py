"""Console pages of signals (storage/signals.py): the list, open first, with filters by
status, category and province; a signal's page with its rule in words, the cases behind it
and the committee told; and the forms to acknowledge it and to close it with a note.

Every role sees signals; acting on one takes the roles that act on cases. The closing note
is free text: shown to admins and coordinators only, each view audited, never to analysts.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from gateway.admin.web import Viewer, allow, back, flash, render
from gateway.backoffice.signalwork import SignalNotFound, change_signal
from gateway.deps import RuntimeDep
from gateway.runtime import Runtime
from storage import signals
from storage.casequery import provinces
from storage.cases import InvalidAction
from storage.db import utcnow
from storage.models import FREE_TEXT_ROLES, Category, Signal, SignalStatus
from storage.signals import MAX_NOTE, SignalFilter
from storage.users import audit_view, user_scope

router = APIRouter()
PER_PAGE = 50
MAX_PAGE = 10_000
SignalId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Field = Annotated[str, Query(max_length=64)]
ViewerDep = Annotated[Viewer, Depends(allow("signals"))]
ActorDep = Annotated[Viewer, Depends(allow("case_actions"))]
NO_SIGNAL = "There is no such signal."


def _bad(message: str) -> HTTPException:
    return HTTPException(400, detail=message)


@dataclass(frozen=True)
class Filters:
    """The list's query string as typed (empty: any)."""

    status: str = ""
    category: str = ""
    province: str = ""

    def where(self, known_provinces: set[str]) -> SignalFilter:
        """The filter, or a 400 saying which value is wrong."""
        if self.status and self.status not in set(SignalStatus):
            raise _bad(f"The status must be one of: {', '.join(SignalStatus)}.")
        if self.category and self.category not in set(Category):
            raise _bad(f"The category must be one of: {', '.join(Category)}.")
        if self.province and self.province not in known_provinces:
            raise _bad("Choose a province from the list.")
        return SignalFilter(
            status=self.status or None,
            category=self.category or None,
            province=self.province or None,
        )

    def query(self, **extra: Any) -> str:
        values = {key: value for key, value in asdict(self).items() if value}
        values.update({key: value for key, value in extra.items() if value})
        return urlencode(values)


def filters(status: Field = "", category: Field = "", province: Field = "") -> Filters:
    return Filters(status, category, province)


FiltersDep = Annotated[Filters, Depends(filters)]


def row(signal: Signal) -> dict[str, Any]:
    """What the list shows of a signal (never its note)."""
    return {
        "id": signal.id,
        "rule": signal.rule,
        "words": signals.rule_in_words(signal),
        "category": signal.category,
        "place": None if signal.territory is None else signal.territory.name,
        "committee": None if signal.committee is None else signal.committee.name,
        "day": signal.day,
        "count": signal.count,
        "status": signal.status,
        "raised_at": signal.raised_at,
    }


def _list_view(runtime: Runtime, chosen: Filters, page: int, username: str) -> dict[str, Any]:
    with runtime.sessions() as session:
        known = provinces(session=session)
        scope = user_scope(session=session, username=username)
        where = replace(chosen.where({code for code, _ in known}), scope=scope)
        found = signals.list_signals(
            session=session, where=where, limit=PER_PAGE, offset=(page - 1) * PER_PAGE
        )
        total = signals.count_signals(session=session, where=where)
        return {"rows": [row(s) for s in found], "total": total, "provinces": known}


@router.get("/signals", response_class=HTMLResponse)
async def signal_list(
    request: Request,
    runtime: RuntimeDep,
    viewer: ViewerDep,
    chosen: FiltersDep,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
) -> HTMLResponse:
    """List signals, open first, then acknowledged, then closed, with filters."""
    view = await runtime.db(_list_view, runtime, chosen, page, viewer.username)
    pages = max((view["total"] + PER_PAGE - 1) // PER_PAGE, 1)
    return await render(
        request,
        "signals_list.html",
        viewer,
        chosen=chosen,
        page=page,
        pages=pages,
        statuses=list(SignalStatus),
        categories=list(Category),
        **view,
    )


def _who(actor: str | None) -> str | None:
    """How the page names who acted: a console user by name, a focal point as such."""
    if actor is None:
        return None
    kind, _, name = actor.partition(":")
    return name if kind == "user" else actor


def page_view(runtime: Runtime, signal_id: int, viewer: Viewer) -> dict[str, Any] | None:
    """Everything a signal's page shows; the closing note only for roles that read free
    text (each such view audited)."""
    now = utcnow()
    with runtime.sessions.begin() as session:
        scope = user_scope(session=session, username=viewer.username)
        signal = signals.get_signal(session=session, signal_id=signal_id, scope=scope)
        if signal is None:
            return None
        note = None
        if signal.note_enc is not None and viewer.role in FREE_TEXT_ROLES:
            note = signals.closing_note(crypto=runtime.crypto, signal=signal)
            audit_view(
                session=session,
                actor=viewer.username,
                action="signal.view_text",
                target=str(signal.id),
                ip_hash=viewer.ip_hash,
                now=now,
            )
        cases = [
            {
                "number": link.case.number,
                "category": link.case.category,
                "severity": link.case.severity,
                "status": link.case.status,
                "place": None if link.case.location is None else link.case.location.name,
                "created_at": link.case.created_at,
            }
            for link in signal.cases
        ]
        return {
            "signal": row(signal),
            "territory_code": None if signal.territory is None else signal.territory.code,
            "committee_code": None if signal.committee is None else signal.committee.code,
            "acknowledged": (_who(signal.acknowledged_by), signal.acknowledged_at),
            "closed": (_who(signal.closed_by), signal.closed_at),
            "has_note": signal.note_enc is not None,
            "note": note,
            "cases": cases,
            "max_note": MAX_NOTE,
        }


@router.get("/signals/{signal_id}", response_class=HTMLResponse)
async def signal_page(
    signal_id: SignalId, request: Request, runtime: RuntimeDep, viewer: ViewerDep
) -> HTMLResponse:
    """Show a signal: its rule in words, the cases behind it, the committee told, and the
    actions open to the viewer."""
    view = await runtime.db(page_view, runtime, signal_id, viewer)
    if view is None:
        raise HTTPException(404, detail=NO_SIGNAL)
    return await render(request, "signals_signal.html", viewer, **view)


def _change(runtime: Runtime, signal_id: int, viewer: Viewer, note: str | None) -> bool:
    """Acknowledge (`note` None) or close a signal, with its audit entry when it changed."""
    try:
        return change_signal(runtime, signal_id, viewer.username, note, viewer.ip_hash)
    except SignalNotFound as exc:
        raise HTTPException(404, detail=NO_SIGNAL) from exc


@router.post("/signals/{signal_id}/acknowledge")
async def acknowledge(
    signal_id: SignalId, request: Request, runtime: RuntimeDep, viewer: ActorDep
) -> RedirectResponse:
    """Acknowledge an open signal."""
    changed = await runtime.db(_change, runtime, signal_id, viewer, None)
    if changed:
        await flash(request, viewer, "ok", "Signal acknowledged.")
    else:
        await flash(request, viewer, "info", "The signal was already acknowledged or closed.")
    return back(f"/admin/signals/{signal_id}")


@router.post("/signals/{signal_id}/close")
async def close(
    signal_id: SignalId,
    request: Request,
    runtime: RuntimeDep,
    viewer: ActorDep,
    note: Annotated[str, Form(max_length=MAX_NOTE * 2)] = "",
) -> RedirectResponse:
    """Close a signal with a note on what was done (required)."""
    try:
        changed = await runtime.db(_change, runtime, signal_id, viewer, note)
    except InvalidAction as exc:
        raise HTTPException(
            422, detail=f"Say what was done, in at most {MAX_NOTE} characters."
        ) from exc
    if changed:
        await flash(request, viewer, "ok", "Signal closed.")
    else:
        await flash(request, viewer, "info", "The signal was already closed.")
    return back(f"/admin/signals/{signal_id}")
