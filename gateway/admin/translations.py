"""Console pages: translations (coverage, download, checked upload with a preview).

An upload is checked and its changes shown first; the checked text waits in Redis under
`PENDING_PREFIX` (keyed by a hash of the console session and the language, for
`PENDING_TTL` seconds) until the admin applies it, when it is checked again and stored.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import UploadFile

from gateway import translationadmin
from gateway.admin.web import Viewer, allow, back, flash, render
from gateway.admin.words import language_name
from gateway.deps import RuntimeDep
from gateway.flowadmin import FlowAdminError
from gateway.runtime import Runtime
from storage import translations

router = APIRouter()
TranslationsViewer = Annotated[Viewer, Depends(allow("translations"))]
PENDING_PREFIX = "sauti:po-upload:"
PENDING_TTL = 900
MAX_FORM_BYTES = translationadmin.MAX_PO_BYTES + 64 * 1024
# What each part of the catalog is called on the pages: the flows by what they do, the
# texts every flow shows, and the service's own SMS and replies.
PART_NAMES = {
    "main": "Main menu",
    "report": "Report a problem",
    "status": "Check a report",
    "add_info": "Add information",
    translationadmin.SHARED_GROUP: "Texts on every screen",
    translationadmin.CODE_GROUP: "SMS and replies",
}


def part_name(group: str) -> str:
    """A part of the catalog by name; a flow without one by its id, in words."""
    return PART_NAMES.get(group, group.replace("_", " ").capitalize())


def _pending_key(viewer: Viewer, language: str) -> str:
    digest = hashlib.sha256(f"{viewer.token}\0{language}".encode()).hexdigest()
    return PENDING_PREFIX + digest[:40]


def _language(runtime: Runtime, language: str) -> str:
    try:
        return translationadmin.checked_language(runtime, language)
    except FlowAdminError as exc:
        raise HTTPException(exc.status, detail=str(exc)) from exc


@router.get("/translations", response_class=HTMLResponse)
async def translations_index(
    request: Request, viewer: TranslationsViewer, runtime: RuntimeDep
) -> Response:
    """Show the coverage of every language, per flow."""
    found = translationadmin.coverage(runtime)
    groups = [part_name(g.group) for g in found[0].groups] if found else []
    return await render(request, "translations_index.html", viewer, found=found, groups=groups)


@router.get("/translations/{language}.po")
async def translations_download(
    language: str, viewer: TranslationsViewer, runtime: RuntimeDep
) -> Response:
    """Download the .po of a language as the service uses it."""
    _language(runtime, language)
    text = await runtime.db(translationadmin.current_po, runtime, language)
    return Response(
        text,
        media_type="text/x-gettext-translation; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="sauti-{language}.po"'},
    )


def _history(runtime: Runtime, language: str) -> list[tuple[int, str, datetime]]:
    with runtime.sessions() as session:
        rows = translations.uploads(session=session, language=language)
        return [(row.id, row.uploaded_by, row.uploaded_at) for row in rows]


@router.get("/translations/{language}", response_class=HTMLResponse)
async def translations_language(
    request: Request, language: str, viewer: TranslationsViewer, runtime: RuntimeDep
) -> Response:
    """Show one language: its coverage per flow, the missing messages, and the upload form."""
    _language(runtime, language)
    found = next(c for c in translationadmin.coverage(runtime) if c.language == language)
    history = await runtime.db(_history, runtime, language)
    return await render(
        request,
        "translations_language.html",
        viewer,
        lang=found,
        history=history,
        part_name=part_name,
    )


async def _uploaded(request: Request) -> bytes:
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_FORM_BYTES:
        raise HTTPException(413, detail="The file is too large (at most 1024 KB).")
    try:
        form = await request.form(max_part_size=MAX_FORM_BYTES)
    except Exception as exc:  # multipart parser errors come in several types
        raise HTTPException(400, detail="The form could not be read.") from exc
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise HTTPException(400, detail="Choose a .po file to upload.")
        data = await upload.read(translationadmin.MAX_PO_BYTES + 1)
    finally:
        await form.close()
    if len(data) > translationadmin.MAX_PO_BYTES:
        raise HTTPException(413, detail="The file is too large (at most 1024 KB).")
    return data


@router.post("/translations/{language}", response_class=HTMLResponse)
async def translations_upload(
    request: Request, language: str, viewer: TranslationsViewer, runtime: RuntimeDep
) -> Response:
    """Check an uploaded .po and show what it would change, before applying it."""
    data = await _uploaded(request)
    _language(runtime, language)
    try:
        check = await translationadmin.upload(
            runtime, language, data, viewer.username, dry_run=True
        )
    except FlowAdminError as exc:
        raise HTTPException(exc.status, detail=str(exc)) from exc
    if check.ok:
        await runtime.aredis.set(_pending_key(viewer, language), data, ex=PENDING_TTL)
    return await render(
        request,
        "translations_preview.html",
        viewer,
        status_code=200 if check.ok else 422,
        check=check,
        language=language,
    )


@router.post("/translations/{language}/apply")
async def translations_apply(
    request: Request, language: str, viewer: TranslationsViewer, runtime: RuntimeDep
) -> Response:
    """Apply the upload checked on the preview page."""
    _language(runtime, language)
    key = _pending_key(viewer, language)
    data = await runtime.aredis.get(key)
    if data is None:
        raise HTTPException(409, detail="No checked upload is waiting: upload the file again.")
    raw = data if isinstance(data, bytes) else data.encode("utf-8")
    try:
        check = await translationadmin.upload(
            runtime, language, raw, viewer.username, dry_run=False, ip_hash=viewer.ip_hash
        )
    except FlowAdminError as exc:
        raise HTTPException(exc.status, detail=str(exc)) from exc
    await runtime.aredis.delete(key)
    if not check.ok:
        await flash(request, viewer, "error", "The upload no longer passes its checks.")
    else:
        await flash(
            request,
            viewer,
            "ok",
            f"Applied: {len(check.changes)} message(s) changed in {language_name(language)};"
            " in use now.",
        )
    return back(f"/admin/translations/{language}")
