"""Console pages: the case list (filters, search, pages), a case's page and its actions, and
the CSV export of the listed cases. The case page also shows what the reporter said of
each closing (solved, or not solved and where the appeal went), and the incident the case
is grouped in (storage/incidents.py): its other reports (number, status, when, linked how:
by the system as possibly related, or confirmed by a person), with buttons to confirm a
suggested link, to unlink, and a form to link with another case; a duplicate closing may
name the case it repeats. The incident box shows numbers, statuses and dates only, so an
analyst sees it whole.

Actions go through `gateway.casework`, the code the focal points' SMS commands and the
API use, so a note from the console and a NOTE by SMS write the same event. Free text is
shown to admins and coordinators only, and each page that shows it is audited.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime, time, tzinfo
from enum import StrEnum
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.admin import words
from gateway.admin.scopes import ScopeDep
from gateway.admin.web import Viewer, allow, back, channel_name, flash, render
from gateway.backoffice.exports import csv_export
from gateway.casework import (
    MAX_TEXT,
    Action,
    ActionRequest,
    CaseClosed,
    CaseNotFound,
    Done,
    perform,
    will_text_reporter,
)
from gateway.deps import RuntimeDep
from gateway.runtime import Runtime
from storage import actions, casenumber, incidents, recordings, routing
from storage.actions import MAX_DAYS, MIN_DAYS, NotVerifiable
from storage.appeals import ANSWER_WINDOW, awaits_answer
from storage.casequery import (
    NEWEST_FIRST,
    CaseFilter,
    InvalidSearch,
    Sort,
    SortKey,
    assignments_of,
    case_by_number,
    case_with_events,
    clauses,
    committees_of,
    committees_under,
    in_scope,
    list_cases,
    member_names,
    number_prefix,
    provinces,
    scope_clause,
)
from storage.cases import InvalidAction, duplicates_of, find_case, original_of
from storage.committees import ack_deadline, list_committees
from storage.db import utcnow
from storage.inbox import awaits_acknowledgement
from storage.incidents import LinkRefused
from storage.models import (
    FREE_TEXT_ROLES,
    OPEN_ACTION,
    Case,
    CaseAction,
    CaseAssignment,
    CaseEvent,
    Category,
    Channel,
    EventKind,
    IncidentCase,
    ItsciLevel,
    LinkState,
    Outcome,
    Satisfaction,
    Severity,
    Status,
)
from storage.privacy import Crypto
from storage.queues import Deadline, deadlines, overdue_ids
from storage.users import (
    Scope,
    audit,
    audit_view,
    mark_queue_seen,
    queue_seen,
    user_scope,
)

router = APIRouter()
PER_PAGE = 25
MAX_PAGE = 100_000
CODE = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
Field = Annotated[str, Query(max_length=64)]
ViewerDep = Annotated[Viewer, Depends(allow("cases"))]
ActorDep = Annotated[Viewer, Depends(allow("case_actions"))]
TextField = Annotated[str, Form(max_length=MAX_TEXT)]


def _bad(message: str) -> HTTPException:
    return HTTPException(400, detail=message)


def _choice(name: str, value: str, allowed: type[StrEnum]) -> str | None:
    if not value:
        return None
    if value not in set(allowed):
        raise _bad(f"The {name} must be one of: {', '.join(allowed)}.")
    return value


def _code(name: str, value: str) -> str | None:
    if not value:
        return None
    if not CODE.fullmatch(value):
        raise _bad(f"The {name} must be a code such as cd-nk.")
    return value


def _day(name: str, value: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise _bad(f"The {name} date must be written YYYY-MM-DD.") from exc


@dataclass(frozen=True)
class Filters:
    """The list's query string as typed (empty means any), turned into a CaseFilter."""

    status: str = ""
    category: str = ""
    severity: str = ""
    province: str = ""
    committee: str = ""
    created_from: str = ""
    created_to: str = ""
    q: str = ""
    channel: str = ""
    view: str = ""
    sort: str = ""
    dir: str = ""

    def where(self) -> CaseFilter:
        """The filter, or a 400 saying which value is wrong."""
        start, end = _day("from", self.created_from), _day("to", self.created_to)
        try:
            number = number_prefix(self.q)
        except InvalidSearch as exc:
            raise _bad(f"Search: {exc}.") from exc
        return CaseFilter(
            status=_choice("status", self.status, Status),
            category=_choice("category", self.category, Category),
            severity=_choice("severity", self.severity, Severity),
            province=_code("province", self.province),
            committee=_code("committee", self.committee),
            created_from=None if start is None else datetime.combine(start, time.min, UTC),
            created_to=None if end is None else datetime.combine(end, time.max, UTC),
            number=number,
            channel=_choice("channel", self.channel, Channel),
        )

    def queue(self) -> str | None:
        """The saved view asked for, or None (all cases)."""
        return _choice("view", self.view, View)

    def order(self) -> Sort:
        """The sort asked for, else the view's own (deadline first in a work queue)."""
        key = _choice("sort", self.sort, SortKey)
        if self.dir not in ("", "asc", "desc"):
            raise _bad("The direction must be asc or desc.")
        if key is None:
            return VIEW_SORT.get(self.view, NEWEST_FIRST)
        descending = self.dir == "desc" if self.dir else key in DESCENDING_FIRST
        return Sort(SortKey(key), descending)

    def sorted_by(self, key: str) -> str:
        """The query string that sorts by `key`: the other way when it is the current one."""
        current = self.order()
        descending = key in DESCENDING_FIRST
        if current.key == key:
            descending = not current.descending
        return self.query(sort=key, dir="desc" if descending else "asc")

    def aria_sort(self, key: str) -> str:
        """The header's aria-sort value for column `key`."""
        current = self.order()
        if current.key != key:
            return "none"
        return "descending" if current.descending else "ascending"

    def query(self, **extra: Any) -> str:
        """The query string of these filters (and `extra`), for links that keep them."""
        values = {key: value for key, value in asdict(self).items() if value}
        values.update({key: value for key, value in extra.items() if value})
        return urlencode(values)


def filters(
    status: Field = "",
    category: Field = "",
    severity: Field = "",
    province: Field = "",
    committee: Field = "",
    created_from: Field = "",
    created_to: Field = "",
    q: Field = "",
    channel: Field = "",
    view: Field = "",
    sort: Field = "",
    dir: Field = "",
) -> Filters:
    return Filters(
        status,
        category,
        severity,
        province,
        committee,
        created_from,
        created_to,
        q,
        channel,
        view,
        sort,
        dir,
    )


FiltersDep = Annotated[Filters, Depends(filters)]


def age(created_at: datetime, now: datetime) -> str:
    """How long ago a case came in, in the largest whole unit that fits ("3 d", "5 h")."""
    seconds = max(int((now - created_at).total_seconds()), 0)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit}"
    return "now"


class View(StrEnum):
    """The saved views of the case list (the work queues)."""

    MINE = "mine"  # held by the viewer's committees (those of the scope, or under its place)
    OVERDUE = "overdue"  # open and past the deadline of the stage they are at
    WAITING = "waiting"  # waiting for the committee: not acknowledged, or an action due
    NEW = "new"  # came in since the viewer last marked their queue seen


VIEW_SORT: dict[str, Sort] = {
    View.MINE: Sort(SortKey.DEADLINE, descending=False),
    View.OVERDUE: Sort(SortKey.DEADLINE, descending=False),
    View.WAITING: Sort(SortKey.DEADLINE, descending=False),
}
DESCENDING_FIRST = frozenset({SortKey.CREATED})
VIEW_LABELS = (
    ("", "All cases"),
    (View.MINE, "My committees"),
    (View.OVERDUE, "Overdue"),
    (View.WAITING, "Waiting for me"),
    (View.NEW, "New"),
)
COLUMNS = (
    (SortKey.NUMBER, "Number"),
    (SortKey.CATEGORY, "Category"),
    (SortKey.SEVERITY, "Severity"),
    (SortKey.STATUS, "Status"),
    (SortKey.CHANNEL, "Channel"),
    (SortKey.PLACE, "Place"),
    (SortKey.COMMITTEE, "Committee"),
    (SortKey.DEADLINE, "Deadline"),
    (SortKey.CREATED, "Created"),
    (SortKey.AGE, "Age"),
)


@dataclass(frozen=True, slots=True)
class Queue:
    """Who looks at the list: their scope, their name (for "new") and the time."""

    scope: Scope
    username: str
    now: datetime


def _my_committees(session: Session, scope: Scope) -> frozenset[int]:
    if scope.place_path is None:
        return scope.committee_ids
    return committees_under(session=session, path=scope.place_path)


def _queue_filter(
    session: Session, where: CaseFilter, view: str | None, queue: Queue, seen: datetime | None
) -> CaseFilter:
    """`where` narrowed to the viewer's scope and to the saved view asked for."""
    where = replace(where, scope=queue.scope)
    if view == View.MINE:
        return replace(where, held_by=_my_committees(session, queue.scope))
    if view == View.WAITING:
        return replace(where, waiting_on=queue.now.date())
    if view == View.NEW:
        return replace(where, created_after=seen or datetime.min.replace(tzinfo=UTC))
    if view == View.OVERDUE:
        found = clauses(session, where)
        ids = overdue_ids(session=session, conditions=found or [], now=queue.now)
        return replace(where, ids=ids)
    return where


def _row(
    case: Case, held: list[str], due: Deadline | None, now: datetime, seen: datetime | None
) -> dict[str, Any]:
    return {
        "number": case.number,
        "category": case.category,
        "severity": case.severity,
        "status": case.status,
        "outcome": case.outcome,
        "channel": case.channel,
        "place": None if case.location is None else case.location.name,
        "committees": held,
        "created_at": case.created_at,
        "age": age(case.created_at, now),
        "deadline": due,
        "overdue": due is not None and due.at <= now,
        "new": seen is None or case.created_at > seen,
    }


def _list_view(runtime: Runtime, chosen: Filters, page: int, queue: Queue) -> dict[str, Any]:
    with runtime.sessions() as session:
        seen = queue_seen(session=session, username=queue.username)
        where = _queue_filter(session, chosen.where(), chosen.queue(), queue, seen)
        found, total = list_cases(
            session=session,
            where=where,
            offset=(page - 1) * PER_PAGE,
            limit=PER_PAGE,
            sort=chosen.order(),
        )
        ids = [case.id for case in found]
        held = committees_of(session=session, case_ids=ids)
        due = deadlines(session=session, conditions=[Case.id.in_(ids)])
        rows = [_row(c, held.get(c.id, []), due.get(c.id), queue.now, seen) for c in found]
        committees = [(c.code, c.name) for c in list_committees(session=session)]
        return {
            "rows": rows,
            "total": total,
            "seen": seen,
            "provinces": provinces(session=session),
            "committees": committees,
        }


@router.get("/cases", response_class=HTMLResponse)
async def case_list(
    request: Request,
    runtime: RuntimeDep,
    viewer: ViewerDep,
    scope: ScopeDep,
    chosen: FiltersDep,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
) -> HTMLResponse:
    """List the cases in the viewer's scope (newest first, or sorted by any column), with
    filters, saved views (the work queues), a case number search and pages of 25."""
    chosen.where(), chosen.queue(), chosen.order()  # a bad value is a 400 before any read
    queue = Queue(scope=scope, username=viewer.username, now=utcnow())
    view = await runtime.db(_list_view, runtime, chosen, page, queue)
    pages = max((view["total"] + PER_PAGE - 1) // PER_PAGE, 1)
    return await render(
        request,
        "cases_list.html",
        viewer,
        chosen=chosen,
        page=page,
        pages=pages,
        statuses=list(Status),
        categories=list(Category),
        severities=list(Severity),
        channels=list(Channel),
        views=VIEW_LABELS,
        columns=COLUMNS,
        scope=scope,
        may_export_text=viewer.role in FREE_TEXT_ROLES,
        **view,
    )


def _mark_seen(runtime: Runtime, viewer: Viewer) -> None:
    now = utcnow()
    with runtime.sessions.begin() as session:
        mark_queue_seen(session=session, username=viewer.username, now=now)
        audit(
            session=session,
            actor=viewer.username,
            action="queue.seen",
            ip_hash=viewer.ip_hash,
            now=now,
        )


@router.post("/cases/seen")
async def mark_seen(request: Request, runtime: RuntimeDep, viewer: ViewerDep) -> RedirectResponse:
    """Mark every case in the viewer's queue seen: "New" starts again from now."""
    await runtime.db(_mark_seen, runtime, viewer)
    await flash(request, viewer, "ok", "Every case so far is marked seen.")
    return back("/admin/cases?view=new")


@router.get("/cases/export.csv", response_class=StreamingResponse)
async def export(
    runtime: RuntimeDep,
    viewer: Annotated[Viewer, Depends(allow("exports"))],
    scope: ScopeDep,
    chosen: FiltersDep,
    include_text: Annotated[bool, Query()] = False,
) -> StreamingResponse:
    """Download the listed cases of the viewer's scope as CSV (free text only for admins and
    coordinators who ask)."""
    return await csv_export(
        runtime,
        username=viewer.username,
        role=viewer.role,
        where=replace(chosen.where(), scope=scope),
        include_text=include_text,
        ip_hash=viewer.ip_hash,
    )


_MEMBER = re.compile(r"member:(\d+)")


def _member_ids(events: list[CaseEvent]) -> list[int]:
    return [int(found[1]) for e in events if (found := _MEMBER.fullmatch(e.actor))]


def _who(actor: str, names: dict[int, str]) -> str:
    """Name who acted: a focal point by name and committee, a user by username."""
    found = _MEMBER.fullmatch(actor)
    if found is not None:
        return names.get(int(found[1]), "a focal point")
    if actor.startswith("user:"):
        return actor.removeprefix("user:") + " (console or API)"
    return actor


SAID = {Satisfaction.SOLVED: "solved", Satisfaction.NOT_SOLVED: "not solved"}
_ANSWER_KINDS = {EventKind.SOLVED: Satisfaction.SOLVED, EventKind.APPEALED: Satisfaction.NOT_SOLVED}


def _committee_name(code: object, committees: dict[str, str]) -> str:
    return "the admins' triage" if code is None else committees.get(str(code), str(code))


def _answer_line(event: CaseEvent, committees: dict[str, str]) -> str:
    """What the reporter said of a closing, by which channel, and where an appeal went."""
    data = event.data or {}
    said = f"The reporter said {SAID[_ANSWER_KINDS[EventKind(event.kind)]]}"
    if data.get("channel"):
        said += f", by {channel_name(str(data['channel']))}"
    if event.kind != EventKind.APPEALED:
        return said + "."
    moved = f"to {_committee_name(data.get('to'), committees)}"
    if data.get("from") is not None:
        moved = f"from {_committee_name(data['from'], committees)} {moved}"
    return f"{said}: appealed {moved}."


def _answers_by_closing(events: list[CaseEvent]) -> dict[int, CaseEvent]:
    """Each answered closing's event id, with the reporter's answer to it."""
    found: dict[int, CaseEvent] = {}
    for event in events:
        closing = (event.data or {}).get("closing")
        if event.kind in _ANSWER_KINDS and isinstance(closing, int):
            found.setdefault(closing, event)
    return found


def _closing_answer(
    event: CaseEvent, case: Case, answer: CaseEvent | None, now: datetime, zone: tzinfo
) -> str:
    """The reporter's answer to one closing, as its timeline line says it."""
    if answer is not None:
        said = SAID[_ANSWER_KINDS[EventKind(answer.kind)]]
        return f"Reporter's answer: {said}, {words.when(answer.at, zone)}."
    if case.closed_at == event.at and awaits_answer(case, now):
        until = words.when(event.at + ANSWER_WINDOW, zone, "%Y-%m-%d")
        return f"Waiting for the reporter's answer until {until}."
    return "The reporter did not answer."


def _event_row(
    event: CaseEvent,
    names: dict[int, str],
    crypto: Crypto | None,
    said: str | None = None,
    sentence: str = "",
) -> dict[str, Any]:
    body = None
    if crypto is not None and event.body_enc is not None:
        body = crypto.decrypt(event.body_enc)
    return {
        "at": event.at,
        "kind": event.kind,
        "who": _who(event.actor, names),
        "details": sentence,
        "said": said,
        "body": recordings.readable(body),
    }


def _timeline(
    case: Case,
    names: dict[int, str],
    crypto: Crypto | None,
    committees: dict[str, str],
    now: datetime,
    zone: tzinfo,
) -> list[dict[str, Any]]:
    """The case's events in sentences, the reporter's answers spelled out and each closing
    with its answer."""
    answers = _answers_by_closing(case.events)
    rows = []
    for event in case.events:
        said = None
        if event.kind in _ANSWER_KINDS:
            said = _answer_line(event, committees)
        elif event.kind == EventKind.CLOSED:
            said = _closing_answer(event, case, answers.get(event.id), now, zone)
        sentence = words.event_sentence(event.kind, event.data, committees, case)
        rows.append(_event_row(event, names, crypto, said, sentence))
    return rows


def satisfaction_view(case: Case, now: datetime) -> dict[str, Any]:
    """The case facts' line on the reporter's say: the latest answer, whether the latest
    closing waits for one (and until when), and how many times the case was appealed."""
    answered = case.satisfaction_at is not None and (
        case.closed_at is None or case.satisfaction_at >= case.closed_at
    )
    return {
        "said": SAID[Satisfaction(case.satisfaction)] if case.satisfaction else None,
        "at": case.satisfaction_at,
        "current": answered,
        "waiting_until": case.closed_at + ANSWER_WINDOW
        if case.closed_at is not None and awaits_answer(case, now)
        else None,
        "appeals": sum(event.kind == EventKind.APPEALED for event in case.events),
    }


_UNACKNOWLEDGED = frozenset({Status.RECEIVED, Status.ROUTED, Status.APPEALED})


def _acknowledgements(case: Case, names: dict[int, str]) -> dict[str | None, dict[str, Any]]:
    """Who acknowledged the case first for each committee (None: for the case, from the
    console or the API), and when."""
    found: dict[str | None, dict[str, Any]] = {}
    for event in case.events:
        data = event.data or {}
        # Work started on a case nobody had acknowledged acknowledges it (set_in_progress).
        implied = event.kind == EventKind.IN_PROGRESS and data.get("from") in _UNACKNOWLEDGED
        if event.kind == EventKind.ACKNOWLEDGED or implied:
            code = None if implied else data.get("committee")
            found.setdefault(code, {"who": _who(event.actor, names), "at": event.at})
    return found


def _first_acknowledgement(
    case: Case, acks: dict[str | None, dict[str, Any]], committees: dict[str, str]
) -> dict[str, Any] | None:
    """The acknowledgement that stopped the case's deadline, with the committee it was for."""
    if case.acknowledged_at is None or not acks:
        return None
    code, first = min(acks.items(), key=lambda item: item[1]["at"])
    return {**first, "committee": None if code is None else committees.get(code, code)}


def _assignment_row(
    assignment: CaseAssignment,
    case: Case,
    now: datetime,
    acks: dict[str | None, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    committee = assignment.committee
    due = assignment.assigned_at + ack_deadline(committee, case.severity)
    waiting = assignment.active and assignment.acknowledged_at is None
    waiting = waiting and awaits_acknowledgement(case)
    return {
        "code": committee.code,
        "name": committee.name,
        "level": committee.level,
        "reason": assignment.reason,
        "active": assignment.active,
        "assigned_at": assignment.assigned_at,
        "acknowledged_at": assignment.acknowledged_at,
        "acknowledged_by": (acks or {}).get(committee.code, {}).get("who"),
        "escalated_at": assignment.escalated_at,
        "due_at": due,
        "overdue": waiting and assignment.escalated_at is None and due <= now,
    }


def _action_row(action: CaseAction, names: dict[int, str], crypto: Crypto | None) -> dict[str, Any]:
    def who(actor: str | None) -> str | None:
        return None if actor is None else _who(actor, names)

    return {
        "n": action.n,
        "what": None if crypto is None else actions.what(crypto=crypto, action=action),
        "committee": action.committee.name,
        "owner": who(action.owner),
        "due_on": action.due_on,
        "status": action.status,
        "open": action.status in OPEN_ACTION,
        "done": who(action.done_by),
        "done_at": action.done_at,
        "verified": who(action.verified_by),
        "verified_at": action.verified_at,
    }


def _actions_view(session: Session, case: Case, crypto: Crypto | None) -> list[dict[str, Any]]:
    found = actions.actions_of(session=session, case_id=case.id)
    actors = [a.owner for a in found] + [a.done_by or "" for a in found]
    ids = [int(m[1]) for actor in actors if (m := _MEMBER.fullmatch(actor))]
    names = member_names(session=session, member_ids=ids)
    return [_action_row(action, names, crypto) for action in found]


LINKED_HOW = words.LINK_STATES


def _link_row(link: IncidentCase, case: Case, names: dict[int, str]) -> dict[str, Any]:
    other = link.case
    return {
        "number": other.number,
        "status": other.status,
        "outcome": other.outcome,
        "created_at": other.created_at,
        "how": LINKED_HOW.get(LinkState(link.state), link.state),
        "by": _who(link.linked_by, names),
        "at": link.linked_at,
        "this": other.id == case.id,
    }


def _visible(session: Session, scope: Scope | None, case_ids: list[int]) -> set[int]:
    """Which of these cases the viewer's scope covers."""
    condition = scope_clause(scope)
    if condition is None or not case_ids:
        return set(case_ids)
    return set(session.scalars(select(Case.id).where(Case.id.in_(case_ids), condition)))


def incident_view(
    session: Session, case: Case, scope: Scope | None = None
) -> dict[str, Any] | None:
    """The incident box: the incident's number, category and place, and each of its reports
    in the viewer's scope with how it was linked (`outside`: how many others are not);
    None for a case in no incident."""
    link = incidents.link_of(session, case.id)
    if link is None:
        return None
    incident = link.incident
    every = incidents.links_of(session, incident.id)
    shown = _visible(session, scope, [item.case_id for item in every]) | {case.id}
    links = [item for item in every if item.case_id in shown]
    ids = [int(m[1]) for item in links if (m := _MEMBER.fullmatch(item.linked_by))]
    names = member_names(session=session, member_ids=ids)
    return {
        "number": incident.number,
        "category": incident.category,
        "place": None if incident.location is None else incident.location.name,
        "suggested": link.state == LinkState.SUGGESTED,
        "reports": [_link_row(item, case, names) for item in links],
        "size": len(every),
        "outside": len(every) - len(links),
    }


def duplicate_view(session: Session, case: Case, scope: Scope | None = None) -> dict[str, Any]:
    """The case this one duplicates, and the cases in the viewer's scope that duplicate it
    (numbers only); the original is named only when the scope covers it."""
    original = original_of(session=session, case=case)
    if original is not None and original.id not in _visible(session, scope, [original.id]):
        original = None
    by = duplicates_of(session=session, case_id=case.id)
    seen = _visible(session, scope, [c.id for c in by])
    return {
        "of": None if original is None else original.number,
        "by": [c.number for c in by if c.id in seen],
    }


def _free_text(case: Case, crypto: Crypto) -> dict[str, str | None]:
    def plain(value: bytes | None) -> str | None:
        return None if value is None else crypto.decrypt(value)

    return {
        "description": recordings.readable(plain(case.description_enc)),
        "place_text": plain(case.place_text_enc),
    }


def case_page_view(runtime: Runtime, number: str, viewer: Viewer) -> dict[str, Any] | None:
    """Everything the case page shows; free text only for roles that may read it (audited)."""
    crypto = runtime.crypto if viewer.role in FREE_TEXT_ROLES else None
    now = utcnow()
    with runtime.sessions.begin() as session:
        case = case_with_events(session=session, number=number)
        if case is None:
            return None
        scope = user_scope(session=session, username=viewer.username)
        names = member_names(session=session, member_ids=_member_ids(case.events))
        committees = [(c.code, c.name) for c in list_committees(session=session)]
        acks, zone = _acknowledgements(case, names), runtime.settings.zone
        view: dict[str, Any] = {
            "case": case,
            "assignments": [
                _assignment_row(a, case, now, acks)
                for a in assignments_of(session=session, case_id=case.id)
            ],
            "events": _timeline(case, names, crypto, dict(committees), now, zone),
            "first_ack": _first_acknowledgement(case, acks, dict(committees)),
            "text": None if crypto is None else _free_text(case, crypto),
            "recordings": []
            if crypto is None
            else recordings.for_case(session=session, case_id=case.id),
            "committees": committees,
            "actions": _actions_view(session, case, crypto),
            "satisfaction": satisfaction_view(case, now),
            "by_sms": will_text_reporter(case),
            "closed": case.status == Status.CLOSED,
            "age": age(case.created_at, now),
            "incident": incident_view(session, case, scope),
            "duplicates": duplicate_view(session, case, scope),
        }
        if crypto is not None:
            # One entry per visit: not again on the landing back after an action (docs/security.md).
            audit_view(
                session=session,
                actor=viewer.username,
                action="case.view_text",
                target=case.number,
                ip_hash=viewer.ip_hash,
                now=now,
            )
        return view


def _canonical(number: str) -> str:
    canonical = casenumber.parse(number)
    if canonical is None:
        raise HTTPException(404, detail="No case has this number.")
    return canonical


def _in_scope(runtime: Runtime, username: str, number: str, others: tuple[str, ...]) -> bool:
    """The case is in the user's scope, and so is every other case named that exists (one
    that does not is for the action to refuse, with its own words)."""
    with runtime.sessions() as session:
        scope = user_scope(session=session, username=username)
        if not in_scope(session=session, scope=scope, number=number):
            return False
        return all(
            in_scope(session=session, scope=scope, number=other)
            or case_by_number(session=session, number=other) is None
            for other in others
        )


async def _reachable(runtime: Runtime, viewer: Viewer, number: str, *others: str) -> str:
    """The canonical number of a case in the viewer's scope; else 404, as for a number no
    case has (every case route, pages and actions alike, asks this first). `others` are
    cases the action names (the case to link with): out of scope, the same 404."""
    canonical = _canonical(number)
    named = tuple(found for other in others if (found := casenumber.parse(other)) is not None)
    if not await runtime.db(_in_scope, runtime, viewer.username, canonical, named):
        raise HTTPException(404, detail="No case has this number.")
    return canonical


@router.get("/cases/{number}", response_class=HTMLResponse)
async def case_page(
    number: str, request: Request, runtime: RuntimeDep, viewer: ViewerDep
) -> HTMLResponse:
    """Show a case: its fields, committees, timeline, and the actions open to the viewer."""
    canonical = await _reachable(runtime, viewer, number)
    view = await runtime.db(case_page_view, runtime, canonical, viewer)
    if view is None:
        raise HTTPException(404, detail="No case has this number.")
    outcomes = list(Outcome)
    return await render(request, "cases_case.html", viewer, outcomes=outcomes, **view)


def _listen(runtime: Runtime, number: str, ref: str, viewer: Viewer) -> recordings.Audio | None:
    """A case's spoken answer, decrypted, with its audit entry (`recording.listen`)."""
    with runtime.sessions.begin() as session:
        case = find_case(session=session, number=number)
        if case is None:
            return None
        return recordings.listen(
            session=session,
            crypto=runtime.crypto,
            case_id=case.id,
            ref=ref,
            actor=viewer.username,
            target=case.number,
            ip_hash=viewer.ip_hash,
            now=utcnow(),
        )


@router.get("/cases/{number}/recordings/{ref}")
async def recording(number: str, ref: str, runtime: RuntimeDep, viewer: ViewerDep) -> Response:
    """Play a spoken answer: only to roles that read free text, never cached, each
    request audited."""
    if viewer.role not in FREE_TEXT_ROLES:
        raise HTTPException(403, detail="Recordings are for admins and coordinators only.")
    canonical = await _reachable(runtime, viewer, number)
    audio = None
    if recordings.is_ref(ref):
        audio = await runtime.db(_listen, runtime, canonical, ref, viewer)
    if audio is None:
        raise HTTPException(404, detail="This case has no such recording.")
    headers = {"Cache-Control": "no-store", "Content-Disposition": "inline"}
    return Response(audio.content, media_type=audio.content_type, headers=headers)


async def _act(
    request: Request, runtime: Runtime, viewer: Viewer, number: str, action: ActionRequest
) -> RedirectResponse:
    """Run one action and come back to the case page with what happened."""
    canonical = await _reachable(runtime, viewer, number, action.other)
    try:
        done = await perform(
            runtime,
            number=canonical,
            username=viewer.username,
            request=action,
            ip_hash=viewer.ip_hash,
        )
    except CaseNotFound as exc:
        raise HTTPException(404, detail="No case has this number.") from exc
    except CaseClosed as exc:
        raise HTTPException(409, detail="This case is closed: it can no longer change.") from exc
    except InvalidAction as exc:
        raise HTTPException(422, detail=_invalid_text(exc)) from exc
    except NotVerifiable as exc:
        raise HTTPException(409, detail=NOT_VERIFIABLE[exc.reason]) from exc
    except LinkRefused as exc:
        raise HTTPException(409, detail=LINK_REFUSED[exc.reason]) from exc
    kind, text = _said(action, done)
    await flash(request, viewer, kind, text)
    return back(f"/admin/cases/{canonical}")


NOT_VERIFIABLE = {
    "not_done": "This action is not marked done yet: it cannot be verified.",
    "own": "You own this action or marked it done: someone else must verify it.",
    "below": "This action is verified by its own committee or the one above.",
}
INVALID_ACTION = {
    "days": f"The action is due in {MIN_DAYS} to {MAX_DAYS} days.",
    "n": "This case has no such action.",
    "reason": "This case has actions not done: say in the closing note why it is resolved.",
    "committee": "Choose one of the active committees.",
    "other": "No case has this number: check the 10 digits.",
    "duplicate_of": "A case cannot duplicate itself: name the case it repeats, "
    "and close as duplicate.",
}
LINK_REFUSED = {
    LinkRefused.SAME_CASE: "Name another case: a case is not linked with itself.",
    LinkRefused.TEST_AND_REAL: "A test case and a real one cannot be linked.",
    LinkRefused.NOT_LINKED: "This case is in no incident.",
}


def _invalid_text(exc: InvalidAction) -> str:
    if exc.field in INVALID_ACTION:
        return INVALID_ACTION[exc.field]
    if exc.field == "outcome":
        return "Choose an outcome: resolved, persistent, unfounded or duplicate."
    if exc.field == "note":
        return f"The note may have at most {MAX_TEXT} characters."
    return f"Write some text (at most {MAX_TEXT} characters)."


def _said(action: ActionRequest, done: Done) -> tuple[str, str]:
    """The flash message that says what an action did."""
    name = done.committee_name or ""
    incident = _shown(done.incident)
    n = "" if done.action is None else done.action.n
    due = "" if done.action is None else done.action.due_on.isoformat()
    said: dict[Action, tuple[str, str]] = {
        Action.NOTE: ("ok", "Note added."),
        Action.ACKNOWLEDGE: ("ok", "Case acknowledged.")
        if done.changed
        else ("info", "The case was already acknowledged."),
        Action.MESSAGE: ("ok", "Message saved and sent to the reporter by SMS.")
        if done.by_sms
        else ("ok", "Message saved: the reporter reads it at their next status check."),
        Action.REASSIGN: ("ok", f"Case reassigned to {name}.")
        if done.changed
        else ("info", f"The case was already with {name} only."),
        Action.ESCALATE: ("ok", f"Case passed up to {name}.")
        if done.changed
        else ("info", "The case cannot go higher: no committee above takes it."),
        Action.CLOSE: ("ok", f"Case closed as a duplicate of {_shown(done.duplicate_of)}.")
        if done.duplicate_of
        else ("ok", f"Case closed: {action.outcome}."),
        Action.ADD_ACTION: ("ok", f"Action {n} recorded, due {due}."),
        Action.ACTION_DONE: ("ok", f"Action {n} marked done.")
        if done.changed
        else ("info", f"Action {n} was already done."),
        Action.VERIFY_ACTION: ("ok", f"Action {n} verified.")
        if done.changed
        else ("info", f"Action {n} was already verified."),
        Action.LINK: (
            "ok",
            f"Linked: incident {incident} now holds {done.incident_size} reports.",
        ),
        Action.CONFIRM_LINK: ("ok", f"Link to incident {incident} confirmed.")
        if done.changed
        else ("info", f"The link to incident {incident} was already confirmed."),
        Action.UNLINK: ("ok", f"Case taken out of incident {incident}."),
    }
    return said[action.action]


def _shown(number: str | None) -> str:
    return "" if number is None else casenumber.display(number)


@router.post("/cases/{number}/note")
async def note(
    number: str, request: Request, runtime: RuntimeDep, viewer: ActorDep, text: TextField = ""
) -> RedirectResponse:
    """Add an internal note."""
    return await _act(request, runtime, viewer, number, ActionRequest(Action.NOTE, text=text))


@router.post("/cases/{number}/acknowledge")
async def acknowledge(
    number: str, request: Request, runtime: RuntimeDep, viewer: ActorDep
) -> RedirectResponse:
    """Acknowledge the case."""
    return await _act(request, runtime, viewer, number, ActionRequest(Action.ACKNOWLEDGE))


@router.post("/cases/{number}/message")
async def message(
    number: str, request: Request, runtime: RuntimeDep, viewer: ActorDep, text: TextField = ""
) -> RedirectResponse:
    """Leave a message for the reporter."""
    return await _act(request, runtime, viewer, number, ActionRequest(Action.MESSAGE, text=text))


@router.post("/cases/{number}/reassign")
async def reassign(
    number: str,
    request: Request,
    runtime: RuntimeDep,
    viewer: ActorDep,
    committee: Annotated[str, Form(max_length=64)] = "",
) -> RedirectResponse:
    """Move the case to another active committee."""
    action = ActionRequest(Action.REASSIGN, committee=committee)
    return await _act(request, runtime, viewer, number, action)


@router.post("/cases/{number}/escalate")
async def escalate(
    number: str, request: Request, runtime: RuntimeDep, viewer: ActorDep
) -> RedirectResponse:
    """Pass the case up to the committee above."""
    return await _act(request, runtime, viewer, number, ActionRequest(Action.ESCALATE))


@router.post("/cases/{number}/close")
async def close(
    number: str,
    request: Request,
    runtime: RuntimeDep,
    viewer: ActorDep,
    outcome: Annotated[str, Form(max_length=32)] = "",
    text: TextField = "",
    duplicate_of: Annotated[str, Form(max_length=32)] = "",
) -> RedirectResponse:
    """Close the case with an outcome and an optional note; a duplicate may name the case
    it repeats, whose news its reporter then gets."""
    action = ActionRequest(Action.CLOSE, outcome=outcome, text=text, other=duplicate_of)
    return await _act(request, runtime, viewer, number, action)


@router.post("/cases/{number}/link")
async def link(
    number: str,
    request: Request,
    runtime: RuntimeDep,
    viewer: ActorDep,
    other: Annotated[str, Form(max_length=32)] = "",
) -> RedirectResponse:
    """Put the case and another in one incident, confirmed."""
    return await _act(request, runtime, viewer, number, ActionRequest(Action.LINK, other=other))


@router.post("/cases/{number}/link/confirm")
async def confirm_link(
    number: str, request: Request, runtime: RuntimeDep, viewer: ActorDep
) -> RedirectResponse:
    """Confirm the suggested link of the case to its incident."""
    return await _act(request, runtime, viewer, number, ActionRequest(Action.CONFIRM_LINK))


@router.post("/cases/{number}/unlink")
async def unlink(
    number: str, request: Request, runtime: RuntimeDep, viewer: ActorDep
) -> RedirectResponse:
    """Take the case out of its incident."""
    return await _act(request, runtime, viewer, number, ActionRequest(Action.UNLINK))


@router.post("/cases/{number}/actions")
async def add_action(
    number: str,
    request: Request,
    runtime: RuntimeDep,
    viewer: ActorDep,
    text: TextField = "",
    days: Annotated[int, Form(ge=MIN_DAYS, le=MAX_DAYS)] = 7,
    committee: Annotated[str, Form(max_length=64)] = "",
) -> RedirectResponse:
    """Record an action on the case, owned by the user, due in `days` days."""
    action = ActionRequest(Action.ADD_ACTION, text=text, days=days, committee=committee)
    return await _act(request, runtime, viewer, number, action)


@router.post("/cases/{number}/actions/{n}/done")
async def action_done(
    number: str,
    n: Annotated[int, Path(ge=1, le=9999)],
    request: Request,
    runtime: RuntimeDep,
    viewer: ActorDep,
) -> RedirectResponse:
    """Mark an action done."""
    return await _act(request, runtime, viewer, number, ActionRequest(Action.ACTION_DONE, n=n))


@router.post("/cases/{number}/actions/{n}/verify")
async def verify_action(
    number: str,
    n: Annotated[int, Path(ge=1, le=9999)],
    request: Request,
    runtime: RuntimeDep,
    viewer: ActorDep,
) -> RedirectResponse:
    """Verify a done action (not by whoever owns it or marked it done)."""
    action = ActionRequest(Action.VERIFY_ACTION, n=n)
    return await _act(request, runtime, viewer, number, action)


LEVEL_CHOICES = {str(level.value): level for level in ItsciLevel}


def _change_level(runtime: Runtime, number: str, level: int, reason: str, viewer: Viewer) -> bool:
    """Set a case's ITSCI level, with its event (the reason encrypted) and its audit entry."""
    now = utcnow()
    with runtime.sessions.begin() as session:
        case = find_case(session=session, number=number)
        if case is None:
            raise HTTPException(404, detail="No case has this number.")
        if case.status == Status.CLOSED:
            raise HTTPException(409, detail="This case is closed: it can no longer change.")
        before = case.itsci_level
        changed = routing.set_level(
            session=session,
            case=case,
            level=level,
            actor=f"user:{viewer.username}",
            reason_enc=runtime.crypto.encrypt(reason),
            now=now,
        )
        if changed:
            audit(
                session=session,
                actor=viewer.username,
                action="case.level",
                target=case.number,
                data={"from": before, "to": level},
                ip_hash=viewer.ip_hash,
                now=now,
            )
        return changed


@router.post("/cases/{number}/level")
async def change_level(
    number: str,
    request: Request,
    runtime: RuntimeDep,
    viewer: ActorDep,
    level: Annotated[str, Form(max_length=1)] = "",
    reason: TextField = "",
) -> RedirectResponse:
    """Change the case's ITSCI level (1 is copied up to every level); a reason is required."""
    canonical = await _reachable(runtime, viewer, number)
    if level not in LEVEL_CHOICES:
        raise HTTPException(422, detail="Choose ITSCI level 1, 2 or 3.")
    if not reason.strip():
        raise HTTPException(422, detail="Say why the level changes.")
    changed = await runtime.db(
        _change_level, runtime, canonical, int(level), reason.strip(), viewer
    )
    if changed:
        await flash(request, viewer, "ok", f"ITSCI level set to {level}.")
    else:
        await flash(request, viewer, "info", f"The case already has ITSCI level {level}.")
    return back(f"/admin/cases/{canonical}")
