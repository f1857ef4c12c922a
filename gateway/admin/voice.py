"""Console pages: the voice line's prompts (coverage, recording kit, uploads as drafts,
previews, publish and discard) for admins."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import UploadFile

from gateway import voiceadmin
from gateway.admin.web import Viewer, allow, back, flash, render
from gateway.deps import RuntimeDep
from gateway.flowadmin import FlowAdminError
from gateway.runtime import Runtime
from storage.models import PromptSource, PromptStatus
from storage.voiceprompts import FALLBACK, MISSING, STALE

router = APIRouter()
VoiceViewer = Annotated[Viewer, Depends(allow("voice"))]
MAX_FORM_BYTES = voiceadmin.MAX_ZIP_BYTES + 64 * 1024
SHOWN = {
    "all": "All",
    "missing": "Missing",
    "tts": "Text-to-speech",
    "stale": "Stale",
    "drafts": "Drafts",
}


def refused(exc: FlowAdminError) -> HTTPException:
    return HTTPException(exc.status, detail=str(exc))


def _language(runtime: Runtime, language: str) -> str:
    try:
        return voiceadmin.checked_language(runtime, language)
    except FlowAdminError as exc:
        raise refused(exc) from exc


@router.get("/voice", response_class=HTMLResponse)
async def voice_index(request: Request, viewer: VoiceViewer, runtime: RuntimeDep) -> Response:
    """Show each language's prompt coverage and the drafts waiting."""
    found = await runtime.db(voiceadmin.overview, runtime)
    return await render(request, "voice_index.html", viewer, found=found)


def _shown(rows: list[voiceadmin.PromptRow], show: str) -> list[voiceadmin.PromptRow]:
    if show == "missing":
        return [row for row in rows if row.status == MISSING or row.status.startswith(FALLBACK)]
    if show == "tts":
        return [row for row in rows if row.source == PromptSource.TTS]
    if show == "stale":
        return [row for row in rows if row.status == STALE]
    if show == "drafts":
        return [row for row in rows if row.draft_ms is not None]
    return rows


@router.get("/voice/{language}", response_class=HTMLResponse)
async def voice_language(
    request: Request,
    language: str,
    viewer: VoiceViewer,
    runtime: RuntimeDep,
    show: Annotated[str, Query(max_length=16)] = "all",
) -> Response:
    """Show one language: coverage, every prompt with its previews, the upload forms."""
    _language(runtime, language)
    if show not in SHOWN:
        raise HTTPException(400, detail=f"Show one of: {', '.join(SHOWN)}.")
    view = await runtime.db(voiceadmin.language_view, runtime, language)
    return await render(
        request,
        "voice_language.html",
        viewer,
        view=view,
        rows=_shown(view.rows, show),
        show=show,
        shown=SHOWN,
        tts_note=voiceadmin.TTS_NOTE,
        max_mb=voiceadmin.MAX_ZIP_BYTES // 2**20,
    )


@router.get("/voice/{language}/kit.csv")
async def voice_kit(language: str, viewer: VoiceViewer, runtime: RuntimeDep) -> Response:
    """Download the recording kit: each file with its message id and the text it says."""
    _language(runtime, language)
    text = await runtime.db(voiceadmin.kit_csv, runtime, language)
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="sauti-voice-kit-{language}.csv"'},
    )


async def _audio(runtime: Runtime, language: str, file: str, status: str) -> Response:
    _language(runtime, language)
    if voiceadmin.prompt_file(file) != file:
        raise HTTPException(404, detail="There is no such prompt.")
    data = await runtime.db(voiceadmin.draft_audio, runtime, language, file, status)
    if data is None:
        raise HTTPException(404, detail="There is no such prompt.")
    return Response(data, media_type="audio/wav")


@router.get("/voice/{language}/draft/{file}")
async def voice_draft_audio(
    language: str, file: str, viewer: VoiceViewer, runtime: RuntimeDep
) -> Response:
    """The audio of a draft waiting to be published."""
    return await _audio(runtime, language, file, PromptStatus.DRAFT)


@router.get("/voice/{language}/published/{file}")
async def voice_published_audio(
    language: str, file: str, viewer: VoiceViewer, runtime: RuntimeDep
) -> Response:
    """The audio the line plays now."""
    return await _audio(runtime, language, file, PromptStatus.PUBLISHED)


async def _uploaded(request: Request) -> tuple[str, bytes, str | None]:
    length = request.headers.get("content-length", "")
    too_large = f"The upload is too large (at most {voiceadmin.MAX_ZIP_BYTES // 2**20} MB)."
    if length.isdigit() and int(length) > MAX_FORM_BYTES:
        raise HTTPException(413, detail=too_large)
    try:
        form = await request.form(max_part_size=MAX_FORM_BYTES)
    except Exception as exc:  # multipart parser errors come in several types
        raise HTTPException(400, detail="The form could not be read.") from exc
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise HTTPException(400, detail="Choose a zip or an audio file to upload.")
        data = await upload.read(voiceadmin.MAX_ZIP_BYTES + 1)
        target = form.get("prompt")
        name = upload.filename
    finally:
        await form.close()
    if len(data) > voiceadmin.MAX_ZIP_BYTES:
        raise HTTPException(413, detail=too_large)
    return name, data, target if isinstance(target, str) and target else None


@router.post("/voice/{language}/upload", response_class=HTMLResponse)
async def voice_upload(
    request: Request, language: str, viewer: VoiceViewer, runtime: RuntimeDep
) -> Response:
    """Keep the uploaded recordings that pass their checks as drafts; list the others."""
    name, data, target = await _uploaded(request)
    _language(runtime, language)
    try:
        result = await asyncio.to_thread(
            voiceadmin.upload, runtime, language, name, data, viewer.username, target=target
        )
    except FlowAdminError as exc:
        raise refused(exc) from exc
    return await render(
        request,
        "voice_upload.html",
        viewer,
        status_code=200 if result.accepted or not result.refused else 422,
        result=result,
    )


@router.post("/voice/{language}/publish")
async def voice_publish(
    request: Request, language: str, viewer: VoiceViewer, runtime: RuntimeDep
) -> Response:
    """Make the language's drafts the prompts the line plays."""
    _language(runtime, language)
    count = await runtime.db(voiceadmin.publish, runtime, language, viewer.username, viewer.ip_hash)
    if count:
        await runtime.db(voiceadmin.refresh_index, runtime)
        await flash(request, viewer, "ok", f"Published {count} prompt(s) in {language}.")
    else:
        await flash(request, viewer, "info", "There were no drafts to publish.")
    return back(f"/admin/voice/{language}")


@router.post("/voice/{language}/discard")
async def voice_discard(
    request: Request, language: str, viewer: VoiceViewer, runtime: RuntimeDep
) -> Response:
    """Delete the language's drafts; the published prompts stay as they are."""
    _language(runtime, language)
    count = await runtime.db(voiceadmin.discard, runtime, language, viewer.username, viewer.ip_hash)
    await flash(request, viewer, "ok", f"Discarded {count} draft(s) in {language}.")
    return back(f"/admin/voice/{language}")
