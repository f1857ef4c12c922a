"""Console pages: committees, their focal points, and the committees YAML import.

Forms go through the import's own validators (`storage.committees.check_committee` and
friends), so the console accepts exactly what a file would. Members' numbers are shown
masked everywhere but in a member's own edit form. Every change is audited by code, never
with a number or a name in the audit data.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Request, UploadFile, status
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from gateway.admin.web import Viewer, allow, back, flash, record, render
from gateway.deps import RuntimeDep
from gateway.runtime import Runtime
from gateway.uploads import UploadRefused, read_upload
from storage import committees as store
from storage.committees import CommitteeImportError, ImportResult, Problem
from storage.db import utcnow
from storage.models import (
    Category,
    Committee,
    CommitteeLevel,
    CommitteeMember,
    Location,
    MessageChannel,
    Severity,
)
from storage.places import path_level_name

router = APIRouter()
CODE_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
CommitteeCode = Annotated[str, Path(max_length=64, pattern=CODE_PATTERN)]
MemberId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Staff = Annotated[Viewer, Depends(allow("committees"))]
MAX_FIELD = 512
SETTINGS_FIELDS = ("code", "name", "level", "location", "language", "timezone", "digest_at")
MEMBER_FIELDS = ("name", "phone", "language", "channel")
NOT_FOUND = "There is no committee with this code."
CHANNEL_NAMES = {MessageChannel.SMS.value: "SMS", MessageChannel.WHATSAPP.value: "WhatsApp"}
# Each stage's deadlines: the import's field, the form's input prefix, and how it is named.
STAGES = (
    ("ack_deadlines", "ack", "Acknowledge"),
    ("action_deadlines", "action", "First action"),
    ("close_deadlines", "close", "Close"),
)


# -- reading forms ----------------------------------------------------------------------------


def _text(form: FormData, key: str) -> str:
    value = form.get(key)
    return value[:MAX_FIELD] if isinstance(value, str) else ""


def committee_values(form: Mapping[str, Any]) -> dict[str, object]:
    """The import's keys from a committee form (or JSON): the same validators check both."""
    values: dict[str, object] = {key: form.get(key, "") for key in SETTINGS_FIELDS}
    categories = form.get("categories", "all")
    values["categories"] = categories
    for stage, _prefix, _label in STAGES:
        deadlines = form.get(stage) or {}
        values[stage] = {key: value for key, value in deadlines.items() if value}
    return values


def _form_values(form: FormData) -> dict[str, Any]:
    values: dict[str, Any] = {key: _text(form, key) for key in SETTINGS_FIELDS}
    if _text(form, "categories_mode") == "some":
        values["categories"] = [v for v in form.getlist("categories") if isinstance(v, str)]
    else:
        values["categories"] = "all"
    for stage, prefix, _label in STAGES:
        values[stage] = {
            severity.value: _text(form, f"{prefix}_{severity.value}") for severity in Severity
        }
    return values


def _field_problems(problems: tuple[Problem, ...]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for problem in problems:
        found.setdefault(problem.field.removeprefix("members."), []).append(problem.message)
    return found


# -- what the pages show ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MemberView:
    id: int
    name: str
    masked: str
    language: str
    channel: str
    active: bool


@dataclass(frozen=True, slots=True)
class CommitteeView:
    code: str
    name: str
    level: str
    place_code: str
    place_name: str
    categories: list[str] | None
    language: str
    timezone: str
    deadlines: dict[str, dict[str, str]]  # by stage (a key of STAGES), then by severity
    digest_at: str
    active: bool
    members: int = 0
    open_cases: int = 0
    member_list: list[MemberView] = field(default_factory=list)


def _view(committee: Committee, members: int = 0, open_cases: int = 0) -> CommitteeView:
    return CommitteeView(
        code=committee.code,
        name=committee.name,
        level=committee.level,
        place_code=committee.location.code,
        place_name=committee.location.name,
        categories=committee.categories,
        language=committee.language,
        timezone=committee.timezone,
        deadlines={
            stage: {
                severity: store.duration_text(seconds)
                for severity, seconds in store.deadlines_of(committee, stage).items()
            }
            for stage, _prefix, _label in STAGES
        },
        digest_at=committee.digest_at,
        active=committee.active,
        members=members,
        open_cases=open_cases,
    )


def _member_view(member: CommitteeMember) -> MemberView:
    return MemberView(
        member.id,
        member.name,
        store.mask_phone(member.phone),
        member.language,
        member.channel,
        member.active,
    )


def _list(runtime: Runtime) -> list[CommitteeView]:
    with runtime.sessions() as session:
        members = store.member_counts(session=session)
        open_cases = store.open_case_counts(session=session)
        return [
            _view(committee, members.get(committee.id, 0), open_cases.get(committee.id, 0))
            for committee in store.list_committees(session=session, active_only=False)
        ]


def _found(session: Session, code: str) -> Committee:
    committee = store.committee_by_code(session=session, code=code)
    if committee is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND)
    return committee


def _detail(runtime: Runtime, code: str) -> CommitteeView:
    with runtime.sessions() as session:
        committee = _found(session, code)
        view = _view(committee)
        view.member_list.extend(_member_view(member) for member in committee.members)
        return view


def _form_of(view: CommitteeView) -> dict[str, Any]:
    values: dict[str, Any] = {
        "code": view.code,
        "name": view.name,
        "level": view.level,
        "location": view.place_code,
        "language": view.language,
        "timezone": view.timezone,
        "digest_at": view.digest_at,
        "categories": "all" if view.categories is None else view.categories,
        **view.deadlines,
    }
    return values


def _places(runtime: Runtime) -> list[tuple[str, str, str]]:
    """(code, name, level as the place's country names it) of the places a committee may
    cover."""
    with runtime.sessions() as session:
        query = select(Location.code, Location.name, Location.level, Location.path).where(
            Location.active.is_(True), Location.level != "site"
        )
        return [
            (code, name, path_level_name(path, level))
            for code, name, level, path in session.execute(query.order_by(Location.path))
        ]


async def _committee_form(
    request: Request,
    runtime: Runtime,
    viewer: Viewer,
    values: dict[str, Any],
    *,
    creating: bool,
    problems: tuple[Problem, ...] = (),
) -> HTMLResponse:
    return await render(
        request,
        "committees_form.html",
        viewer,
        status_code=422 if problems else 200,
        form=values,
        creating=creating,
        problems=_field_problems(problems),
        levels=list(CommitteeLevel),
        categories=list(Category),
        severities=list(Severity),
        stages=STAGES,
        languages=runtime.settings.languages,
        places=await runtime.db(_places, runtime),
    )


# -- committees -------------------------------------------------------------------------------


@router.get("/committees", response_class=HTMLResponse)
async def committees(request: Request, runtime: RuntimeDep, viewer: Staff) -> HTMLResponse:
    """List every committee, active or not."""
    rows = await runtime.db(_list, runtime)
    return await render(request, "committees_list.html", viewer, committees=rows, problems=())


@router.get("/committees/new", response_class=HTMLResponse)
async def new_committee(request: Request, runtime: RuntimeDep, viewer: Staff) -> HTMLResponse:
    """Show an empty committee form."""
    values: dict[str, Any] = dict.fromkeys(SETTINGS_FIELDS, "")
    values |= {
        "level": CommitteeLevel.LOCAL.value,
        "language": runtime.settings.languages[0],
        "timezone": "Africa/Lubumbashi",
        "digest_at": "18:00",
        "categories": "all",
    }
    for stage, _prefix, _label in STAGES:
        values[stage] = {
            key: store.duration_text(value) for key, value in store.DEADLINE_FIELDS[stage].items()
        }
    return await _committee_form(request, runtime, viewer, values, creating=True)


def _create(runtime: Runtime, values: dict[str, Any]) -> str:
    with runtime.sessions.begin() as session:
        committee = store.create_committee(
            session=session,
            values=committee_values(values),
            now=utcnow(),
            languages=runtime.settings.languages,
        )
        return committee.code


@router.post("/committees", response_model=None)
async def create(request: Request, runtime: RuntimeDep, viewer: Staff) -> Response:
    """Create a committee; its members are added on its page."""
    values = _form_values(await request.form())
    try:
        code = await runtime.db(_create, runtime, values)
    except CommitteeImportError as exc:
        return await _committee_form(
            request, runtime, viewer, values, creating=True, problems=exc.problems
        )
    await runtime.db(record, runtime, viewer, "committee.create", code, {})
    await flash(request, viewer, "ok", f"Committee {code} created: now add its members.")
    return back(f"/admin/committees/{code}")


def _import(runtime: Runtime, text: str) -> ImportResult:
    with runtime.sessions.begin() as session:
        return store.import_committees_yaml(
            session=session,
            crypto=runtime.crypto,
            source=io.StringIO(text),
            default_region=runtime.settings.sauti_default_region,
        )


async def _import_refused(
    request: Request, runtime: Runtime, viewer: Viewer, problems: tuple[Problem, ...], code: int
) -> HTMLResponse:
    rows = await runtime.db(_list, runtime)
    return await render(
        request,
        "committees_list.html",
        viewer,
        status_code=code,
        committees=rows,
        problems=problems,
    )


@router.post("/committees/import", response_model=None)
async def import_committees(
    request: Request, runtime: RuntimeDep, viewer: Staff, file: UploadFile | None = None
) -> Response:
    """Import a committees YAML file; a refused file is shown by line, nothing applied."""
    try:
        result = await runtime.db(_import, runtime, await read_upload(file))
    except UploadRefused as exc:
        problem = Problem(1, "file", str(exc))
        return await _import_refused(request, runtime, viewer, (problem,), exc.status_code)
    except CommitteeImportError as exc:
        data = {"problems": len(exc.problems)}
        await runtime.db(record, runtime, viewer, "committee.import_refused", None, data)
        return await _import_refused(request, runtime, viewer, exc.problems, 422)
    counts = {"created": result.created, "updated": result.updated, "unchanged": result.unchanged}
    await runtime.db(record, runtime, viewer, "committee.import", None, counts)
    text = (
        f"Imported: {result.created} committees created, {result.updated} updated, "
        f"{result.unchanged} unchanged."
    )
    await flash(request, viewer, "ok", text)
    return back("/admin/committees")


@router.get("/committees/{code}", response_class=HTMLResponse)
async def committee(
    request: Request, runtime: RuntimeDep, viewer: Staff, code: CommitteeCode
) -> HTMLResponse:
    """Show a committee: its settings, deadlines and members (numbers masked)."""
    view = await runtime.db(_detail, runtime, code)
    return await _committee_page(request, runtime, viewer, view)


async def _committee_page(
    request: Request,
    runtime: Runtime,
    viewer: Viewer,
    view: CommitteeView,
    member_form: dict[str, str] | None = None,
    problems: tuple[Problem, ...] = (),
) -> HTMLResponse:
    blank = {"name": "", "phone": "", "language": view.language, "channel": MessageChannel.SMS}
    return await render(
        request,
        "committees_detail.html",
        viewer,
        status_code=422 if problems else 200,
        committee=view,
        stages=STAGES,
        member_form=member_form or blank,
        problems=_field_problems(problems),
        languages=runtime.settings.languages,
        channels=list(MessageChannel),
        channel_names=CHANNEL_NAMES,
    )


@router.get("/committees/{code}/edit", response_class=HTMLResponse)
async def edit_committee(
    request: Request, runtime: RuntimeDep, viewer: Staff, code: CommitteeCode
) -> HTMLResponse:
    """Show the committee's settings in a form."""
    view = await runtime.db(_detail, runtime, code)
    return await _committee_form(request, runtime, viewer, _form_of(view), creating=False)


def _update(runtime: Runtime, code: str, values: dict[str, Any]) -> list[str]:
    with runtime.sessions.begin() as session:
        return store.update_committee(
            session=session,
            committee=_found(session, code),
            values=committee_values(values),
            now=utcnow(),
            languages=runtime.settings.languages,
        )


@router.post("/committees/{code}", response_model=None)
async def update(
    request: Request, runtime: RuntimeDep, viewer: Staff, code: CommitteeCode
) -> Response:
    """Change a committee's settings (its code stays)."""
    values = _form_values(await request.form()) | {"code": code}
    try:
        changed = await runtime.db(_update, runtime, code, values)
    except CommitteeImportError as exc:
        return await _committee_form(
            request, runtime, viewer, values, creating=False, problems=exc.problems
        )
    if changed:
        await runtime.db(record, runtime, viewer, "committee.update", code, {"fields": changed})
    await flash(request, viewer, "ok", "Saved." if changed else "Nothing changed.")
    return back(f"/admin/committees/{code}")


def _set_active(runtime: Runtime, code: str, active: bool) -> bool:
    with runtime.sessions.begin() as session:
        return store.set_committee_active(
            session=session, committee=_found(session, code), active=active, now=utcnow()
        )


def _yes_no(value: str) -> bool:
    if value not in ("yes", "no"):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "Say yes or no.")
    return value == "yes"


@router.post("/committees/{code}/active", response_model=None)
async def set_active(
    request: Request,
    runtime: RuntimeDep,
    viewer: Staff,
    code: CommitteeCode,
    active: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Deactivate a committee (no new cases are routed to it) or reactivate it."""
    wanted = _yes_no(active)
    changed = await runtime.db(_set_active, runtime, code, wanted)
    action = "committee.reactivate" if wanted else "committee.deactivate"
    if changed:
        await runtime.db(record, runtime, viewer, action, code, {})
    word = "active" if wanted else "inactive"
    await flash(request, viewer, "ok", f"{code} is {word}." if changed else f"{code} was {word}.")
    return back(f"/admin/committees/{code}")


# -- members ----------------------------------------------------------------------------------


def _member_values(form: FormData) -> dict[str, str]:
    """The member form's fields; a form without a channel leaves it to the default (SMS
    for a new member, the current one for an edit)."""
    values = {key: _text(form, key) for key in MEMBER_FIELDS}
    if not values["channel"]:
        del values["channel"]
    return values


def _add_member(runtime: Runtime, code: str, values: dict[str, str]) -> int:
    with runtime.sessions.begin() as session:
        member = store.add_member(
            session=session,
            crypto=runtime.crypto,
            committee=_found(session, code),
            values=values,
            now=utcnow(),
            languages=runtime.settings.languages,
            default_region=runtime.settings.sauti_default_region,
        )
        return member.id


@router.post("/committees/{code}/members", response_model=None)
async def add_member(
    request: Request, runtime: RuntimeDep, viewer: Staff, code: CommitteeCode
) -> Response:
    """Add a focal point to a committee (the number is checked for the committee's country)."""
    values = _member_values(await request.form())
    try:
        member_id = await runtime.db(_add_member, runtime, code, values)
    except CommitteeImportError as exc:
        view = await runtime.db(_detail, runtime, code)
        form = {"channel": MessageChannel.SMS.value} | values
        return await _committee_page(request, runtime, viewer, view, form, exc.problems)
    target = f"{code}/member/{member_id}"
    await runtime.db(record, runtime, viewer, "member.add", target, {})
    await flash(request, viewer, "ok", "Member added.")
    return back(f"/admin/committees/{code}")


@dataclass(frozen=True, slots=True)
class MemberEdit:
    committee: str
    committee_name: str
    id: int
    active: bool
    form: dict[str, str]


def _member(runtime: Runtime, code: str, member_id: int) -> MemberEdit:
    with runtime.sessions() as session:
        committee = _found(session, code)
        member = store.member_by_id(committee=committee, member_id=member_id)
        if member is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "There is no such member.")
        form = {
            "name": member.name,
            "phone": member.phone,
            "language": member.language,
            "channel": member.channel,
        }
        return MemberEdit(committee.code, committee.name, member.id, member.active, form)


async def _member_page(
    request: Request,
    runtime: Runtime,
    viewer: Viewer,
    edit: MemberEdit,
    problems: tuple[Problem, ...] = (),
) -> HTMLResponse:
    return await render(
        request,
        "committees_member.html",
        viewer,
        status_code=422 if problems else 200,
        member=edit,
        problems=_field_problems(problems),
        languages=runtime.settings.languages,
        channels=list(MessageChannel),
        channel_names=CHANNEL_NAMES,
    )


@router.get("/committees/{code}/members/{member_id}", response_class=HTMLResponse)
async def member(
    request: Request, runtime: RuntimeDep, viewer: Staff, code: CommitteeCode, member_id: MemberId
) -> HTMLResponse:
    """Show a member's edit form, the one place their full number is shown."""
    edit = await runtime.db(_member, runtime, code, member_id)
    return await _member_page(request, runtime, viewer, edit)


def _update_member(
    runtime: Runtime, code: str, member_id: int, values: dict[str, str]
) -> list[str]:
    with runtime.sessions.begin() as session:
        committee = _found(session, code)
        found = store.member_by_id(committee=committee, member_id=member_id)
        if found is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "There is no such member.")
        return store.update_member(
            session=session,
            crypto=runtime.crypto,
            member=found,
            values=values,
            now=utcnow(),
            languages=runtime.settings.languages,
            default_region=runtime.settings.sauti_default_region,
        )


@router.post("/committees/{code}/members/{member_id}", response_model=None)
async def update_member(
    request: Request, runtime: RuntimeDep, viewer: Staff, code: CommitteeCode, member_id: MemberId
) -> Response:
    """Change a member's name, number, language or channel."""
    values = _member_values(await request.form())
    try:
        changed = await runtime.db(_update_member, runtime, code, member_id, values)
    except CommitteeImportError as exc:
        edit = await runtime.db(_member, runtime, code, member_id)
        form = edit.form | values
        edit = MemberEdit(edit.committee, edit.committee_name, edit.id, edit.active, form)
        return await _member_page(request, runtime, viewer, edit, exc.problems)
    if changed:
        target = f"{code}/member/{member_id}"
        await runtime.db(record, runtime, viewer, "member.update", target, {"fields": changed})
    await flash(request, viewer, "ok", "Member saved." if changed else "Nothing changed.")
    return back(f"/admin/committees/{code}")


def _set_member_active(runtime: Runtime, code: str, member_id: int, active: bool) -> bool:
    with runtime.sessions.begin() as session:
        committee = _found(session, code)
        found = store.member_by_id(committee=committee, member_id=member_id)
        if found is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "There is no such member.")
        return store.set_member_active(session=session, member=found, active=active, now=utcnow())


@router.post("/committees/{code}/members/{member_id}/active", response_model=None)
async def set_member_active(
    request: Request,
    runtime: RuntimeDep,
    viewer: Staff,
    code: CommitteeCode,
    member_id: MemberId,
    active: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Stop alerts to a member (kept, since case events name them) or restart them."""
    wanted = _yes_no(active)
    changed = await runtime.db(_set_member_active, runtime, code, member_id, wanted)
    if changed:
        action = "member.reactivate" if wanted else "member.deactivate"
        await runtime.db(record, runtime, viewer, action, f"{code}/member/{member_id}", {})
    word = "active" if wanted else "inactive"
    await flash(request, viewer, "ok", f"The member is {word}.")
    return back(f"/admin/committees/{code}")
