"""JSON API: committees and their members, and the committees YAML import.

The same storage functions as the console check every value (the import's validators), so
a refused value gets the same messages, here as `{"detail": {"problems": [...]}}` with 422.
Members' numbers are returned masked; changes are audited by code.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Request, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from gateway.api.deps import api_allow
from gateway.backoffice.tokens import Claims
from gateway.deps import RuntimeDep
from gateway.runtime import Runtime
from gateway.uploads import MAX_UPLOAD, UploadRefused, decode_upload, read_upload
from storage import committees as store
from storage.committees import CommitteeImportError, Problem
from storage.db import utcnow
from storage.models import (
    Category,
    Committee,
    CommitteeLevel,
    CommitteeMember,
    MessageChannel,
    Severity,
)
from storage.users import audit

router = APIRouter(tags=["committees"])
Staff = Annotated[Claims, Depends(api_allow("committees"))]
CODE_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
CommitteeCode = Annotated[str, Path(max_length=64, pattern=CODE_PATTERN)]
MemberId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Text = Annotated[str, Field(max_length=256)]
Short = Annotated[str, Field(max_length=64)]
Duration = Annotated[str, Field(max_length=16)]
# A stage's deadlines by severity ("2h", "3d"); a severity left out takes the default.
Deadlines = Annotated[dict[Short, Duration], Field(max_length=8)]
DEADLINE_FIELDS = tuple(store.DEADLINE_FIELDS)
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain")


class ProblemOut(BaseModel):
    line: int
    field: str
    message: str


class MemberOut(BaseModel):
    id: int
    name: str
    phone: str = Field(description="masked: country code and the last three digits")
    language: str
    channel: MessageChannel = Field(description="how alerts and digests reach the member")
    active: bool


class CommitteeOut(BaseModel):
    code: str
    name: str
    level: CommitteeLevel
    location: str
    categories: list[Category] | None
    language: str
    timezone: str
    ack_deadlines: dict[Severity, str] = Field(description="time to acknowledge a case")
    action_deadlines: dict[Severity, str] = Field(description="time to a first action on it")
    close_deadlines: dict[Severity, str] = Field(description="time to close it")
    digest_at: str
    active: bool
    members: int
    open_cases: int
    updated_at: datetime


class CommitteeDetail(CommitteeOut):
    member_list: list[MemberOut]


class CommitteeIn(BaseModel):
    """A new committee, in the YAML import's words (members are added separately)."""

    model_config = ConfigDict(extra="forbid")
    code: Short
    name: Text
    level: Short
    location: Short
    categories: Annotated[list[Short], Field(max_length=16)] | Short = "all"
    language: Short
    timezone: Short = "Africa/Lubumbashi"
    ack_deadlines: Deadlines = {}
    action_deadlines: Deadlines = {}
    close_deadlines: Deadlines = {}
    digest_at: Short = "18:00"


class CommitteePatch(BaseModel):
    """Fields to change; those left out keep their value. `active` (de)activates."""

    model_config = ConfigDict(extra="forbid")
    name: Text | None = None
    level: Short | None = None
    location: Short | None = None
    categories: Annotated[list[Short], Field(max_length=16)] | Short | None = None
    language: Short | None = None
    timezone: Short | None = None
    ack_deadlines: Deadlines | None = None
    action_deadlines: Deadlines | None = None
    close_deadlines: Deadlines | None = None
    digest_at: Short | None = None
    active: bool | None = None


class MemberIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Text
    phone: Short
    language: Short
    channel: Short = Field(default=MessageChannel.SMS.value, description="sms or whatsapp")


class MemberPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Text | None = None
    phone: Short | None = None
    language: Short | None = None
    channel: Short | None = Field(default=None, description="sms or whatsapp")
    active: bool | None = None


class ImportOut(BaseModel):
    created: int
    updated: int
    unchanged: int


def refused(problems: tuple[Problem, ...] | list[Problem]) -> HTTPException:
    """A 422 naming each problem (line, field, message)."""
    found = [ProblemOut(line=p.line, field=p.field, message=p.message) for p in problems]
    return HTTPException(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        detail={"problems": [problem.model_dump() for problem in found]},
    )


def _member_out(member: CommitteeMember) -> MemberOut:
    return MemberOut(
        id=member.id,
        name=member.name,
        phone=store.mask_phone(member.phone),
        language=member.language,
        channel=MessageChannel(member.channel),
        active=member.active,
    )


def _deadlines(committee: Committee) -> dict[str, dict[str, str]]:
    """Each stage's deadlines as text by severity, the defaults filled in."""
    return {
        stage: {
            severity: store.duration_text(seconds)
            for severity, seconds in store.deadlines_of(committee, stage).items()
        }
        for stage in DEADLINE_FIELDS
    }


def _out(committee: Committee, members: int, open_cases: int) -> dict[str, Any]:
    return {
        "code": committee.code,
        "name": committee.name,
        "level": committee.level,
        "location": committee.location.code,
        "categories": committee.categories,
        "language": committee.language,
        "timezone": committee.timezone,
        **_deadlines(committee),
        "digest_at": committee.digest_at,
        "active": committee.active,
        "members": members,
        "open_cases": open_cases,
        "updated_at": committee.updated_at,
    }


def _detail(session: Session, committee: Committee) -> CommitteeDetail:
    open_cases = store.open_case_counts(session=session).get(committee.id, 0)
    members = sum(1 for member in committee.members if member.active)
    return CommitteeDetail(
        **_out(committee, members, open_cases),
        member_list=[_member_out(member) for member in committee.members],
    )


def _found(session: Session, code: str) -> Committee:
    committee = store.committee_by_code(session=session, code=code)
    if committee is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no committee with this code")
    return committee


def _audit(
    session: Session, principal: Claims, action: str, target: str | None, **data: Any
) -> None:
    audit(
        session=session,
        actor=principal.username,
        action=action,
        target=target,
        data=data,
        now=utcnow(),
    )


def _list(runtime: Runtime, include_inactive: bool) -> list[CommitteeOut]:
    with runtime.sessions() as session:
        members = store.member_counts(session=session)
        open_cases = store.open_case_counts(session=session)
        return [
            CommitteeOut(
                **_out(c, members.get(c.id, 0), open_cases.get(c.id, 0)),
            )
            for c in store.list_committees(session=session, active_only=not include_inactive)
        ]


@router.get("/committees")
async def committees(
    runtime: RuntimeDep, principal: Staff, include_inactive: bool = False
) -> list[CommitteeOut]:
    """List committees by code (active ones unless include_inactive)."""
    return await runtime.db(_list, runtime, include_inactive)


def _create(runtime: Runtime, principal: Claims, body: CommitteeIn) -> CommitteeDetail:
    with runtime.sessions.begin() as session:
        committee = store.create_committee(
            session=session,
            values=body.model_dump(),
            now=utcnow(),
            languages=runtime.settings.languages,
        )
        _audit(session, principal, "committee.create", committee.code)
        session.refresh(committee, ["location", "members"])
        return _detail(session, committee)


@router.post("/committees", status_code=status.HTTP_201_CREATED)
async def create_committee(
    body: CommitteeIn, runtime: RuntimeDep, principal: Staff
) -> CommitteeDetail:
    """Create a committee, checked as the YAML import checks one; members come after."""
    try:
        return await runtime.db(_create, runtime, principal, body)
    except CommitteeImportError as exc:
        raise refused(exc.problems) from None


def _import(runtime: Runtime, principal: Claims, text: str) -> ImportOut:
    with runtime.sessions.begin() as session:
        result = store.import_committees_yaml(
            session=session,
            crypto=runtime.crypto,
            source=io.StringIO(text),
            default_region=runtime.settings.sauti_default_region,
        )
        counts = {
            "created": result.created,
            "updated": result.updated,
            "unchanged": result.unchanged,
        }
        _audit(session, principal, "committee.import", None, **counts)
        return ImportOut(**counts)


async def body_text(request: Request, types: tuple[str, ...]) -> str:
    """The request's text: a multipart `file` field, or the raw body of one of `types`."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if kind == "multipart/form-data":
            async with request.form(max_files=1, max_fields=4) as form:
                return await read_upload(form.get("file"))
        if kind not in types:
            raise HTTPException(
                status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
                f"send the file as multipart/form-data (field file) or as {types[0]}",
            )
        data = bytearray()
        async for chunk in request.stream():
            data += chunk
            if len(data) > MAX_UPLOAD:
                break
        return decode_upload(bytes(data))
    except UploadRefused as exc:
        raise HTTPException(exc.status_code, str(exc)) from None


@router.post(
    "/committees/import",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/yaml": {"schema": {"type": "string"}},
            },
        }
    },
)
async def import_committees(request: Request, runtime: RuntimeDep, principal: Staff) -> ImportOut:
    """Import a committees YAML file (body or multipart `file`); any problem refuses it all."""
    text = await body_text(request, YAML_TYPES)
    try:
        return await runtime.db(_import, runtime, principal, text)
    except CommitteeImportError as exc:
        raise refused(exc.problems) from None


def _get(runtime: Runtime, code: str) -> CommitteeDetail:
    with runtime.sessions() as session:
        return _detail(session, _found(session, code))


@router.get("/committees/{code}")
async def committee(code: CommitteeCode, runtime: RuntimeDep, principal: Staff) -> CommitteeDetail:
    """Show a committee with its members (numbers masked)."""
    return await runtime.db(_get, runtime, code)


def _current_values(committee: Committee) -> dict[str, Any]:
    return {
        "code": committee.code,
        "name": committee.name,
        "level": committee.level,
        "location": committee.location.code,
        "categories": "all" if committee.categories is None else committee.categories,
        "language": committee.language,
        "timezone": committee.timezone,
        **_deadlines(committee),
        "digest_at": committee.digest_at,
    }


def _patch(runtime: Runtime, principal: Claims, code: str, body: CommitteePatch) -> CommitteeDetail:
    with runtime.sessions.begin() as session:
        committee = _found(session, code)
        given = body.model_dump(exclude_unset=True, exclude={"active"})
        given = {key: value for key, value in given.items() if value is not None}
        now = utcnow()
        changed = store.update_committee(
            session=session,
            committee=committee,
            values=_current_values(committee) | given,
            now=now,
            languages=runtime.settings.languages,
        )
        if changed:
            _audit(session, principal, "committee.update", code, fields=changed)
        if body.active is not None and store.set_committee_active(
            session=session, committee=committee, active=body.active, now=now
        ):
            action = "committee.reactivate" if body.active else "committee.deactivate"
            _audit(session, principal, action, code)
        return _detail(session, committee)


@router.patch("/committees/{code}")
async def update_committee(
    code: CommitteeCode, body: CommitteePatch, runtime: RuntimeDep, principal: Staff
) -> CommitteeDetail:
    """Change a committee's settings, or (de)activate it with `active`."""
    try:
        return await runtime.db(_patch, runtime, principal, code, body)
    except CommitteeImportError as exc:
        raise refused(exc.problems) from None


def _members(runtime: Runtime, code: str) -> list[MemberOut]:
    with runtime.sessions() as session:
        return [_member_out(member) for member in _found(session, code).members]


@router.get("/committees/{code}/members")
async def members(code: CommitteeCode, runtime: RuntimeDep, principal: Staff) -> list[MemberOut]:
    """List a committee's members, active or not, numbers masked."""
    return await runtime.db(_members, runtime, code)


def _add(runtime: Runtime, principal: Claims, code: str, body: MemberIn) -> MemberOut:
    with runtime.sessions.begin() as session:
        member = store.add_member(
            session=session,
            crypto=runtime.crypto,
            committee=_found(session, code),
            values=body.model_dump(),
            now=utcnow(),
            languages=runtime.settings.languages,
            default_region=runtime.settings.sauti_default_region,
        )
        _audit(session, principal, "member.add", f"{code}/member/{member.id}")
        return _member_out(member)


@router.post("/committees/{code}/members", status_code=status.HTTP_201_CREATED)
async def add_member(
    code: CommitteeCode, body: MemberIn, runtime: RuntimeDep, principal: Staff
) -> MemberOut:
    """Add a focal point; the number is checked for the committee's country."""
    try:
        return await runtime.db(_add, runtime, principal, code, body)
    except CommitteeImportError as exc:
        raise refused(exc.problems) from None


def _patch_member(
    runtime: Runtime, principal: Claims, code: str, member_id: int, body: MemberPatch
) -> MemberOut:
    with runtime.sessions.begin() as session:
        member = store.member_by_id(committee=_found(session, code), member_id=member_id)
        if member is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no such member")
        target, now = f"{code}/member/{member_id}", utcnow()
        current = {
            "name": member.name,
            "phone": member.phone,
            "language": member.language,
            "channel": str(member.channel),
        }
        given = body.model_dump(exclude_unset=True, exclude={"active"})
        values = current | {key: value for key, value in given.items() if value is not None}
        changed = store.update_member(
            session=session,
            crypto=runtime.crypto,
            member=member,
            values=values,
            now=now,
            languages=runtime.settings.languages,
            default_region=runtime.settings.sauti_default_region,
        )
        if changed:
            _audit(session, principal, "member.update", target, fields=changed)
        if body.active is not None and store.set_member_active(
            session=session, member=member, active=body.active, now=now
        ):
            _audit(
                session,
                principal,
                "member.reactivate" if body.active else "member.deactivate",
                target,
            )
        return _member_out(member)


@router.patch("/committees/{code}/members/{member_id}")
async def update_member(
    code: CommitteeCode,
    member_id: MemberId,
    body: MemberPatch,
    runtime: RuntimeDep,
    principal: Staff,
) -> MemberOut:
    """Change a member's name, number, language or channel, or (de)activate them with
    `active`."""
    try:
        return await runtime.db(_patch_member, runtime, principal, code, member_id, body)
    except CommitteeImportError as exc:
        raise refused(exc.problems) from None
