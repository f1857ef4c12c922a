"""Console pages: the place tree, its CSV import, renaming and (de)activating a place.

The import runs the same code as `sauti import locations`: every row is checked before any
is written, and a refused file is shown with its problems by line, nothing applied.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Request, UploadFile, status
from fastapi.responses import HTMLResponse, Response

from gateway.admin.web import Viewer, allow, back, flash, record, render
from gateway.deps import RuntimeDep
from gateway.runtime import Runtime
from gateway.uploads import UploadRefused, read_upload
from storage.places import (
    ImportResult,
    LocationImportError,
    PlaceNode,
    PlaceTree,
    Problem,
    import_locations_csv,
    path_level_name,
    place_by_code,
    place_tree,
    rename_place,
    set_place_active,
)

router = APIRouter()
CODE_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
PlaceCode = Annotated[str, Path(max_length=64, pattern=CODE_PATTERN)]
Staff = Annotated[Viewer, Depends(allow("places"))]


def _import(runtime: Runtime, text: str) -> ImportResult:
    with runtime.sessions.begin() as session:
        result = import_locations_csv(session=session, source=io.StringIO(text, newline=""))
    # This process's menus see the new places at once; others within their refresh time.
    with runtime.sessions() as session:
        runtime.places = PlaceTree.load(session)
    return result


def _tree(runtime: Runtime) -> list[PlaceNode]:
    with runtime.sessions() as session:
        return place_tree(session=session)


async def _page(
    request: Request,
    runtime: Runtime,
    viewer: Viewer,
    problems: tuple[Problem, ...] = (),
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    tree = await runtime.db(_tree, runtime)
    return await render(
        request,
        "places_tree.html",
        viewer,
        status_code=status_code,
        tree=tree,
        problems=problems,
        error=error,
    )


@router.get("/places", response_class=HTMLResponse)
async def places(request: Request, runtime: RuntimeDep, viewer: Staff) -> HTMLResponse:
    """Show the place tree, with an import form."""
    return await _page(request, runtime, viewer)


@router.post("/places/import", response_model=None)
async def import_places(
    request: Request, runtime: RuntimeDep, viewer: Staff, file: UploadFile | None = None
) -> Response:
    """Import a locations CSV; a refused file is shown with its problems, nothing applied."""
    try:
        text = await read_upload(file)
        result = await runtime.db(_import, runtime, text)
    except UploadRefused as exc:
        return await _page(request, runtime, viewer, error=str(exc), status_code=exc.status_code)
    except LocationImportError as exc:
        await runtime.db(
            record, runtime, viewer, "place.import_refused", None, {"problems": len(exc.problems)}
        )
        return await _page(request, runtime, viewer, problems=exc.problems, status_code=422)
    counts = {"created": result.created, "updated": result.updated, "unchanged": result.unchanged}
    await runtime.db(record, runtime, viewer, "place.import", None, counts)
    await flash(
        request,
        viewer,
        "ok",
        f"Imported: {result.created} places created, {result.updated} updated, "
        f"{result.unchanged} unchanged.",
    )
    return back("/admin/places")


@dataclass(frozen=True, slots=True)
class PlaceView:
    code: str
    name: str
    level: str
    path: str
    active: bool
    lat: float | None = None
    lon: float | None = None

    @property
    def level_name(self) -> str:
        """The level as the place's country names it ("district" in Rwanda)."""
        return path_level_name(self.path, self.level)


def _place(runtime: Runtime, code: str) -> PlaceView:
    with runtime.sessions() as session:
        location = place_by_code(session=session, code=code)
        if location is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "There is no place with this code.")
        return PlaceView(
            location.code,
            location.name,
            location.level,
            location.path,
            location.active,
            location.lat,
            location.lon,
        )


@router.get("/places/{code}", response_class=HTMLResponse)
async def place(
    request: Request, runtime: RuntimeDep, viewer: Staff, code: PlaceCode
) -> HTMLResponse:
    """Show one place, with the forms to rename and (de)activate it."""
    found = await runtime.db(_place, runtime, code)
    return await render(request, "places_place.html", viewer, place=found)


def _rename(runtime: Runtime, code: str, name: str) -> bool:
    with runtime.sessions.begin() as session:
        location = place_by_code(session=session, code=code)
        if location is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "There is no place with this code.")
        return rename_place(session=session, location=location, name=name)


@router.post("/places/{code}/rename", response_model=None)
async def rename(
    request: Request,
    runtime: RuntimeDep,
    viewer: Staff,
    code: PlaceCode,
    name: Annotated[str, Form(max_length=512)] = "",
) -> Response:
    """Rename a place (its code stays)."""
    try:
        changed = await runtime.db(_rename, runtime, code, name)
    except LocationImportError as exc:
        await flash(request, viewer, "error", f"{code}: " + _messages(exc))
        return back(f"/admin/places/{code}")
    if changed:
        await runtime.db(record, runtime, viewer, "place.rename", code, {"fields": ["name"]})
    await flash(request, viewer, "ok", f"{code} renamed." if changed else f"{code}: same name.")
    return back(f"/admin/places/{code}")


def _messages(exc: LocationImportError) -> str:
    return "; ".join(problem.message for problem in exc.problems)


def _set_active(runtime: Runtime, code: str, active: bool) -> int:
    with runtime.sessions.begin() as session:
        location = place_by_code(session=session, code=code)
        if location is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "There is no place with this code.")
        return set_place_active(session=session, location=location, active=active)


@router.post("/places/{code}/active", response_model=None)
async def set_active(
    request: Request,
    runtime: RuntimeDep,
    viewer: Staff,
    code: PlaceCode,
    active: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Deactivate a place and everything below it, or reactivate one place."""
    if active not in ("yes", "no"):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "Say whether the place is active.")
    wanted = active == "yes"
    try:
        changed = await runtime.db(_set_active, runtime, code, wanted)
    except LocationImportError as exc:
        await flash(request, viewer, "error", f"{code}: " + _messages(exc))
        return back(f"/admin/places/{code}")
    action = "place.reactivate" if wanted else "place.deactivate"
    if changed:
        await runtime.db(record, runtime, viewer, action, code, {"places": changed})
    word = "reactivated" if wanted else "deactivated"
    await flash(request, viewer, "ok", f"{code}: {changed} place(s) {word}.")
    return back(f"/admin/places/{code}")
