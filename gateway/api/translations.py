"""`/api/v1/translations`: coverage, the .po of a language, and a checked upload.

Admins only. The same operations as the console's translations pages
(gateway.translationadmin), as JSON; a .po travels as the raw request or response body.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from gateway import translationadmin
from gateway.api.deps import api_allow
from gateway.backoffice.tokens import Claims
from gateway.deps import RuntimeDep
from gateway.flowadmin import FlowAdminError

router = APIRouter(tags=["translations"])
TranslationsClaims = Annotated[Claims, Depends(api_allow("translations"))]
PO_TYPE = "text/x-gettext-translation"
_PO_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {PO_TYPE: {"schema": {"type": "string"}}},
    }
}


class GroupOut(BaseModel):
    group: str
    translated: int
    total: int
    missing: list[str]


class LanguageOut(BaseModel):
    language: str
    name: str
    translated: int
    total: int
    percent: int
    groups: list[GroupOut]


class CoverageOut(BaseModel):
    languages: list[LanguageOut]


class ChangeOut(BaseModel):
    msgid: str
    old: str | None
    new: str | None


class UploadOut(BaseModel):
    language: str
    applied: bool
    problems: list[str]
    warnings: list[str]
    changes: list[ChangeOut]


def _language_out(found: translationadmin.LanguageCoverage) -> LanguageOut:
    return LanguageOut(
        language=found.language,
        name=found.name,
        translated=found.translated,
        total=found.total,
        percent=found.percent,
        groups=[
            GroupOut(group=g.group, translated=g.translated, total=g.total, missing=g.missing)
            for g in found.groups
        ],
    )


@router.get("/translations", response_model=CoverageOut)
async def translation_coverage(_: TranslationsClaims, runtime: RuntimeDep) -> CoverageOut:
    """Translated / total messages of each language, per flow, shared texts and code."""
    found = translationadmin.coverage(runtime)
    return CoverageOut(languages=[_language_out(lang) for lang in found])


@router.get("/translations/{language}.po", response_class=Response)
async def download_catalog(language: str, _: TranslationsClaims, runtime: RuntimeDep) -> Response:
    """The .po of a language as the service uses it (its newest upload, else the shipped one)."""
    try:
        text = await runtime.db(translationadmin.current_po, runtime, language)
    except FlowAdminError as exc:
        raise HTTPException(exc.status, detail=str(exc)) from exc
    return Response(
        text,
        media_type=PO_TYPE + "; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="sauti-{language}.po"'},
    )


@router.post("/translations/{language}", response_model=UploadOut, openapi_extra=_PO_BODY)
async def upload_catalog(
    language: str,
    request: Request,
    claims: TranslationsClaims,
    runtime: RuntimeDep,
    dry_run: Annotated[bool, Query()] = False,
) -> Response:
    """Check an uploaded .po (the request body) and, unless `dry_run`, make it the language's
    catalog. A refused upload answers 422 with its problems, each naming its msgid."""
    raw = await _body(request)
    try:
        check = await translationadmin.upload(
            runtime, language, raw, claims.username, dry_run=dry_run
        )
    except FlowAdminError as exc:
        raise HTTPException(exc.status, detail=str(exc)) from exc
    body = UploadOut(
        language=language,
        applied=check.ok and not dry_run,
        problems=check.problems,
        warnings=check.warnings,
        changes=[ChangeOut(msgid=c.msgid, old=c.old, new=c.new) for c in check.changes],
    )
    return JSONResponse(body.model_dump(), status_code=200 if check.ok else 422)


async def _body(request: Request) -> bytes:
    """The body, read no further than the size limit."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > translationadmin.MAX_PO_BYTES:
            raise HTTPException(413, detail="the file is larger than 1024 KB")
        chunks.append(chunk)
    return b"".join(chunks)
