"""`/api/v1/flows`: versions, drafts, lint, diff, publish, roll back, and the simulator.

Admins only. The same operations as the console's flows pages (gateway.flowadmin), as JSON.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, status
from pydantic import BaseModel, Field

from gateway import flowadmin, simulator
from gateway.api.deps import api_allow
from gateway.backoffice.tokens import Claims
from gateway.deps import RuntimeDep
from gateway.flowadmin import FlowAdminError, LintView, VersionInfo
from gateway.runtime import Runtime

router = APIRouter(tags=["flows"])
FlowsClaims = Annotated[Claims, Depends(api_allow("flows"))]
VersionPath = Annotated[str, Path(pattern=flowadmin.VERSION.pattern)]
MAX_DOCUMENTS = 20
SESSION_PATTERN = r"^[A-Za-z0-9_-]{8,64}$"


def refused(exc: FlowAdminError) -> HTTPException:
    return HTTPException(exc.status, detail=str(exc))


class VersionOut(BaseModel):
    version: str
    status: str
    created_by: str
    created_at: str
    published_at: str | None
    note: str
    documents: list[str]


class VersionList(BaseModel):
    items: list[VersionOut]
    published: str


class VersionDetail(VersionOut):
    texts: dict[str, str]


class DraftIn(BaseModel):
    documents: dict[str, str] = Field(min_length=1, max_length=MAX_DOCUMENTS)
    base: str | None = Field(default=None, pattern=flowadmin.VERSION.pattern)
    note: str = Field(default="", max_length=flowadmin.MAX_NOTE)


class LintOut(BaseModel):
    ok: bool
    errors: dict[str, list[str]]
    warnings: dict[str, list[str]]
    coverage: dict[str, tuple[int, int]]
    screens: int
    sms: int


class DocumentDiffOut(BaseModel):
    name: str
    change: str
    diff: list[str]


class DiffOut(BaseModel):
    version: str
    against: str | None
    documents: list[DocumentDiffOut]


class PublishOut(BaseModel):
    version: str
    previous: str | None


class SimulateIn(BaseModel):
    version: str | None = Field(default=None, pattern=flowadmin.VERSION.pattern)
    language: str | None = Field(default=None, max_length=16)
    session: str | None = Field(default=None, pattern=SESSION_PATTERN)
    input: str | None = Field(default=None, max_length=simulator.MAX_INPUT)


class SimulateOut(BaseModel):
    session: str
    screen: str
    ended: bool
    version: str
    language: str
    test: bool


def _out(info: VersionInfo) -> VersionOut:
    return VersionOut(
        version=info.version,
        status=info.status,
        created_by=info.created_by,
        created_at=info.created_at,
        published_at=info.published_at,
        note=info.note,
        documents=list(info.documents),
    )


def _lint_out(report: LintView) -> LintOut:
    return LintOut(
        ok=report.ok,
        errors=report.groups,
        warnings=report.warnings,
        coverage=report.coverage,
        screens=report.screens,
        sms=report.texts,
    )


async def _version(runtime: Runtime, version: str) -> flowadmin.Version:
    try:
        return await runtime.db(flowadmin.get_version, runtime, version)
    except FlowAdminError as exc:
        raise refused(exc) from exc


@router.get("/flows", response_model=VersionList)
async def list_flow_versions(_: FlowsClaims, runtime: RuntimeDep) -> VersionList:
    """List the stored flow versions, newest first, and the published one."""
    versions = await runtime.db(flowadmin.list_versions, runtime)
    return VersionList(items=[_out(v) for v in versions], published=runtime.bundle.version)


@router.get("/flows/{version}", response_model=VersionDetail)
async def get_flow_version(
    version: VersionPath, _: FlowsClaims, runtime: RuntimeDep
) -> VersionDetail:
    """Return one version with its documents (name → YAML text)."""
    found = await _version(runtime, version)
    return VersionDetail(**_out(found.info).model_dump(), texts=found.texts)


def _documents(raw: dict[str, str]) -> dict[str, str]:
    return {
        flowadmin.document_name(name): flowadmin.document_text(text) for name, text in raw.items()
    }


@router.post("/flows/drafts", response_model=VersionOut, status_code=status.HTTP_201_CREATED)
async def create_flow_draft(body: DraftIn, claims: FlowsClaims, runtime: RuntimeDep) -> VersionOut:
    """Store a draft: the base version (default: published) with these documents set."""
    try:
        documents = _documents(body.documents)
        note = flowadmin.checked_note(body.note)
        info = await runtime.db(
            lambda: flowadmin.create_draft(
                runtime, documents=documents, base=body.base, note=note, username=claims.username
            )
        )
    except FlowAdminError as exc:
        raise refused(exc) from exc
    return _out(info)


@router.post("/flows/{version}/lint", response_model=LintOut)
async def lint_flow_version(version: VersionPath, _: FlowsClaims, runtime: RuntimeDep) -> LintOut:
    """Lint a version in every offered language (the check that gates publishing)."""
    found = await _version(runtime, version)
    return _lint_out(await flowadmin.lint_version(runtime, version, found.texts))


@router.get("/flows/{version}/diff", response_model=DiffOut)
async def diff_flow_version(version: VersionPath, _: FlowsClaims, runtime: RuntimeDep) -> DiffOut:
    """Compare a version's documents with the published ones (unified diffs)."""
    found = await _version(runtime, version)
    documents = [
        DocumentDiffOut(name=d.name, change=d.change, diff=d.unified)
        for d in flowadmin.diffs(found.published, found.texts)
    ]
    return DiffOut(version=version, against=found.published_version, documents=documents)


async def _publish(runtime: Runtime, version: str, claims: Claims, *, rollback: bool) -> PublishOut:
    try:
        previous = await flowadmin.publish(runtime, version, claims.username, rollback=rollback)
    except FlowAdminError as exc:
        raise refused(exc) from exc
    return PublishOut(version=version, previous=previous)


@router.post("/flows/{version}/publish", response_model=PublishOut)
async def publish_flow_version(
    version: VersionPath, claims: FlowsClaims, runtime: RuntimeDep
) -> PublishOut:
    """Publish a version with a clean lint; sessions already running keep their version."""
    return await _publish(runtime, version, claims, rollback=False)


@router.post("/flows/{version}/rollback", response_model=PublishOut)
async def rollback_flow_version(
    version: VersionPath, claims: FlowsClaims, runtime: RuntimeDep
) -> PublishOut:
    """Publish again a version that was published before."""
    return await _publish(runtime, version, claims, rollback=True)


@router.post("/flows/simulate", response_model=SimulateOut)
async def simulate_flows(body: SimulateIn, claims: FlowsClaims, runtime: RuntimeDep) -> SimulateOut:
    """Dial (no `session` or no `input`) or answer on a simulated phone; nothing is filed.

    Keep the returned `session` and send it with each next `input`.
    """
    session = body.session or secrets.token_urlsafe(12)
    key = simulator.owner_key("api", claims.username, session)
    try:
        shown = await simulator.run(
            runtime,
            key=key,
            version=body.version or runtime.bundle.version,
            language=body.language or runtime.settings.sauti_default_language,
            text=body.input if body.session else None,
        )
    except FlowAdminError as exc:
        raise refused(exc) from exc
    return SimulateOut(session=session, **vars(shown))
