"""Console pages: flows (versions, drafts, lint, diff, publish, roll back) and the simulator."""

from __future__ import annotations

from datetime import tzinfo
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.datastructures import FormData, UploadFile

from gateway import flowadmin, simulator, voicesim
from gateway.admin import words
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


# How the simulator's list of versions names each state of a version.
VERSION_STATES = {"published": "in use", "retired": "published before", "draft": "draft"}


def _version_label(info: flowadmin.VersionInfo, zone: tzinfo) -> str:
    """ "In use, published 2026-12-06 14:03 (17826e76404e)"."""
    state = VERSION_STATES.get(info.status, info.status)
    if info.published_at:
        at = f"published {words.when(info.published_at, zone)}"
    else:
        at = f"saved {words.when(info.created_at, zone)}"
    return f"{state.capitalize()}, {at} ({info.short})"


def sim_versions(
    versions: list[flowadmin.VersionInfo], chosen: str, zone: tzinfo
) -> list[tuple[str, str]]:
    """The versions the simulator offers, with their dates: the one in use first, then the
    ones published before (newest first), then the chosen one if it is a draft."""
    current = [v for v in versions if v.status == "published"]
    before = sorted(
        (v for v in versions if v.status == "retired"),
        key=lambda v: v.published_at or "",
        reverse=True,
    )
    drafts = [v for v in versions if v.status == "draft" and v.version == chosen]
    listed = [*current, *before, *drafts]
    return [(v.version, _version_label(v, zone)) for v in listed]


async def _sim_context(runtime: Runtime, viewer: Viewer, version: str) -> dict[str, Any]:
    versions = await runtime.db(flowadmin.list_versions, runtime)
    offered = sim_versions(versions, version, runtime.settings.zone)
    if not any(code == version for code, _ in offered):
        offered.insert(0, (version, f"Shipped with the service ({version[:12]})"))
    return {
        "sim": await simulator.last_screen(runtime, sim_key(viewer)),
        "voice_sim": await voicesim.last_screen(runtime, voice_key(viewer)),
        "sim_version": version,
        "sim_versions": offered,
        "languages": runtime.settings.languages,
        "voice_languages": runtime.settings.voice_languages,
        "default_language": runtime.settings.sauti_default_language,
        "countries": simulator.COUNTRIES,
        "default_country": simulator.default_country(runtime),
        "calling_from": calling_from,
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
                runtime,
                key=key,
                version=version,
                language=language,
                text=text,
                country=_field(form, "country"),
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
        "language_name": words.language_name(shown.language),
        "country": shown.country,
        "calling_from": calling_from(shown.country),
        "test": True,
    }


def calling_from(country: str | None) -> str:
    """Where the simulated phone calls from, as its state line says it."""
    if country is None:
        return "a number of no known country"
    name, prefix = simulator.COUNTRIES[country]
    return f"{prefix} ({name})"


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
                country=_field(form, "country"),
            )
    except FlowAdminError as exc:
        if wants_json:
            return JSONResponse({"detail": str(exc)}, status_code=exc.status)
        raise refused(exc) from exc
    if wants_json:
        body = {"screen": "", "ended": True, "prompts": []} if shown is None else shown.to_json()
        if shown is not None:
            body["language_name"] = words.language_name(shown.language)
            body["waiting_for"] = words.label(words.VOICE_WAITS, shown.waits)
        return JSONResponse(body)
    return back(local_path(_field(form, "return"), "/admin/flows") + "#voice-simulator")
