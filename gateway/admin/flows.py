"""Console pages: flows (versions, drafts, lint, diff, publish, roll back) and the simulator."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.datastructures import FormData, UploadFile

from gateway import flowadmin, simulator, voicesim
from gateway.admin.web import Viewer, allow, back, flash, local_path, render
from gateway.deps import RuntimeDep
from gateway.flowadmin import FlowAdminError
from gateway.runtime import Runtime

router = APIRouter()
FlowsViewer = Annotated[Viewer, Depends(allow("flows"))]
MAX_FORM_BYTES = flowadmin.MAX_DOCUMENT_BYTES + 64 * 1024


def refused(exc: FlowAdminError) -> HTTPException:
    return HTTPException(exc.status, detail=str(exc))


def sim_key(viewer: Viewer) -> str:
    return simulator.owner_key("console", viewer.token)


def voice_key(viewer: Viewer) -> str:
    return voicesim.owner_key("console", viewer.token)


async def _form(request: Request) -> FormData:
    """The posted form, refused whole when it is larger than any document may be."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_FORM_BYTES:
        raise HTTPException(413, detail="The file is too large (at most 256 KB).")
    try:
        return await request.form(max_part_size=MAX_FORM_BYTES)
    except Exception as exc:  # multipart parser errors come in several types
        raise HTTPException(400, detail="The form could not be read.") from exc


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


async def _sim_context(runtime: Runtime, viewer: Viewer, version: str) -> dict[str, Any]:
    return {
        "sim": await simulator.last_screen(runtime, sim_key(viewer)),
        "voice_sim": await voicesim.last_screen(runtime, voice_key(viewer)),
        "sim_version": version,
        "languages": runtime.settings.languages,
        "voice_languages": runtime.settings.voice_languages,
        "default_language": runtime.settings.sauti_default_language,
        "test_case": simulator.TEST_CASE,
    }


@router.get("/flows", response_class=HTMLResponse)
async def flows_index(request: Request, viewer: FlowsViewer, runtime: RuntimeDep) -> Response:
    """List the stored versions of the flows, newest first."""
    versions = await runtime.db(flowadmin.list_versions, runtime)
    published = next((v for v in versions if v.status == "published"), None)
    context = await _sim_context(runtime, viewer, runtime.bundle.version)
    return await render(
        request,
        "flows_index.html",
        viewer,
        versions=versions,
        published=published,
        live=runtime.bundle.version,
        **context,
    )


async def _version(runtime: Runtime, version: str) -> flowadmin.Version:
    try:
        return await runtime.db(flowadmin.get_version, runtime, version)
    except FlowAdminError as exc:
        raise refused(exc) from exc


@router.get("/flows/{version}", response_class=HTMLResponse)
async def flows_version(
    request: Request, version: str, viewer: FlowsViewer, runtime: RuntimeDep
) -> Response:
    """Show a version: its documents, its lint, its differences from the published one."""
    found = await _version(runtime, version)
    report = await flowadmin.lint_version(runtime, version, found.texts)
    context = await _sim_context(runtime, viewer, version)
    return await render(
        request,
        "flows_version.html",
        viewer,
        found=found,
        info=found.info,
        report=report,
        diffs=flowadmin.diffs(found.published, found.texts),
        **context,
    )


@router.get("/flows/{version}/documents/{name}", response_class=HTMLResponse)
async def flows_document(
    request: Request, version: str, name: str, viewer: FlowsViewer, runtime: RuntimeDep
) -> Response:
    """Show one document of a version, in a form that saves an edit as a new draft."""
    found = await _version(runtime, version)
    if name not in found.texts:
        raise HTTPException(404, detail="This version has no such document.")
    return await render(
        request,
        "flows_document.html",
        viewer,
        info=found.info,
        name=name,
        text=found.texts[name],
    )


async def _document(form: FormData) -> tuple[str, str]:
    upload = form.get("file")
    if isinstance(upload, UploadFile) and upload.filename:
        data = await upload.read(flowadmin.MAX_DOCUMENT_BYTES + 1)
        name = _field(form, "name") or upload.filename
        return flowadmin.document_name(name), flowadmin.document_text(data)
    text = _field(form, "text")
    if not text.strip():
        raise FlowAdminError("choose a YAML file, or write the document")
    return flowadmin.document_name(_field(form, "name")), flowadmin.document_text(text)


@router.post("/flows/drafts")
async def flows_draft(request: Request, viewer: FlowsViewer, runtime: RuntimeDep) -> Response:
    """Store a draft: the base version with one document uploaded or edited."""
    form = await _form(request)
    try:
        name, text = await _document(form)
    except FlowAdminError as exc:
        raise refused(exc) from exc
    finally:
        await form.close()
    try:
        info = await runtime.db(
            lambda: flowadmin.create_draft(
                runtime,
                documents={name: text},
                base=_field(form, "base") or None,
                note=flowadmin.checked_note(_field(form, "note")),
                username=viewer.username,
                ip_hash=viewer.ip_hash,
            )
        )
    except FlowAdminError as exc:
        raise refused(exc) from exc
    kind = "ok" if info.status == "draft" else "info"
    said = "Draft saved" if info.status == "draft" else "These documents are already stored"
    await flash(request, viewer, kind, f"{said}: version {info.short}. Its lint is below.")
    return back(f"/admin/flows/{info.version}")


async def _publish(
    request: Request, version: str, viewer: Viewer, runtime: Runtime, *, rollback: bool
) -> RedirectResponse:
    try:
        await flowadmin.publish(
            runtime, version, viewer.username, rollback=rollback, ip_hash=viewer.ip_hash
        )
    except FlowAdminError as exc:
        raise refused(exc) from exc
    what = "Rolled back to" if rollback else "Published"
    await flash(
        request,
        viewer,
        "ok",
        f"{what} version {version[:12]}. Sessions already running finish on their version.",
    )
    return back(f"/admin/flows/{version}")


@router.post("/flows/{version}/publish")
async def flows_publish(
    request: Request, version: str, viewer: FlowsViewer, runtime: RuntimeDep
) -> Response:
    """Publish a version whose lint is clean."""
    return await _publish(request, version, viewer, runtime, rollback=False)


@router.post("/flows/{version}/rollback")
async def flows_rollback(
    request: Request, version: str, viewer: FlowsViewer, runtime: RuntimeDep
) -> Response:
    """Publish again a version that was published before."""
    return await _publish(request, version, viewer, runtime, rollback=True)


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "") or bool(
        request.headers.get("x-csrf-token")
    )


@router.post("/flows/simulator")
async def flows_simulator(request: Request, viewer: FlowsViewer, runtime: RuntimeDep) -> Response:
    """Dial, press a key, or hang up on the simulated phone (JSON for the page's script)."""
    form = await _form(request)
    await form.close()
    version = _field(form, "version") or runtime.bundle.version
    language = _field(form, "language") or runtime.settings.sauti_default_language
    action = _field(form, "action") or "send"
    key = sim_key(viewer)
    wants_json = _wants_json(request)
    try:
        if action == "hangup":
            await simulator.hang_up(runtime, key)
            shown = None
        else:
            text = None if action == "dial" else _field(form, "input")
            shown = await simulator.run(
                runtime, key=key, version=version, language=language, text=text
            )
    except FlowAdminError as exc:
        if wants_json:
            return JSONResponse({"detail": str(exc)}, status_code=exc.status)
        raise refused(exc) from exc
    if wants_json:
        body = {"screen": "", "ended": True} if shown is None else _sim_json(shown)
        return JSONResponse(body)
    return back(local_path(_field(form, "return"), "/admin/flows") + "#simulator")


def _sim_json(shown: simulator.SimScreen) -> dict[str, Any]:
    return {
        "screen": shown.screen,
        "ended": shown.ended,
        "version": shown.version,
        "language": shown.language,
        "test": True,
    }


VOICE_ACTIONS = frozenset({"dial", "press", "silence", "hangup"})


@router.post("/flows/simulator/voice")
async def flows_voice_simulator(
    request: Request, viewer: FlowsViewer, runtime: RuntimeDep
) -> Response:
    """Call, press keys, stay silent or hang up on the simulated voice call (JSON for the
    page's script: the prompts in order, each with its text and audio address)."""
    form = await _form(request)
    await form.close()
    version = _field(form, "version") or runtime.bundle.version
    language = _field(form, "language") or runtime.settings.sauti_default_language
    action = _field(form, "action") or "press"
    wants_json = _wants_json(request)
    key = voice_key(viewer)
    try:
        if action not in VOICE_ACTIONS:
            raise FlowAdminError("the action is one of: dial, press, silence, hangup")
        if action == "hangup":
            await voicesim.hang_up(runtime, key)
            shown = None
        else:
            shown = await voicesim.run(
                runtime,
                key=key,
                version=version,
                language=language,
                action=action,
                pressed=_field(form, "keys"),
            )
    except FlowAdminError as exc:
        if wants_json:
            return JSONResponse({"detail": str(exc)}, status_code=exc.status)
        raise refused(exc) from exc
    if wants_json:
        body = {"screen": "", "ended": True, "prompts": []} if shown is None else shown.to_json()
        return JSONResponse(body)
    return back(local_path(_field(form, "return"), "/admin/flows") + "#voice-simulator")
