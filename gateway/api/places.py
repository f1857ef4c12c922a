"""JSON API: the place tree, its CSV import, and renaming or (de)activating a place."""

from __future__ import annotations

import io
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Request, status
from pydantic import BaseModel, ConfigDict, Field

from gateway.api.committees import ImportOut, body_text, refused
from gateway.api.deps import api_allow
from gateway.backoffice.tokens import Claims
from gateway.deps import RuntimeDep
from gateway.runtime import Runtime
from storage.db import utcnow
from storage.places import (
    LocationImportError,
    PlaceNode,
    PlaceTree,
    import_locations_csv,
    place_by_code,
    place_tree,
    rename_place,
    set_place_active,
)
from storage.users import audit

router = APIRouter(tags=["places"])
Staff = Annotated[Claims, Depends(api_allow("places"))]
PlaceCode = Annotated[str, Path(max_length=64, pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")]
CSV_TYPES = ("text/csv", "application/csv", "text/plain")


class PlaceSummary(BaseModel):
    code: str
    name: str
    level: str
    active: bool
    lat: float | None = Field(default=None, description="WGS 84 degrees, from the import")
    lon: float | None = Field(default=None, description="WGS 84 degrees, from the import")


class PlaceOut(PlaceSummary):
    cases: int
    children: list[PlaceOut]


class PlacePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(max_length=256)] | None = None
    active: bool | None = None


def _out(node: PlaceNode) -> PlaceOut:
    return PlaceOut(
        code=node.code,
        name=node.name,
        level=node.level,
        active=node.active,
        lat=node.lat,
        lon=node.lon,
        cases=node.cases,
        children=[_out(child) for child in node.children],
    )


def _tree(runtime: Runtime) -> list[PlaceOut]:
    with runtime.sessions() as session:
        return [_out(node) for node in place_tree(session=session)]


@router.get("/places")
async def places(runtime: RuntimeDep, principal: Staff) -> list[PlaceOut]:
    """Return the place tree from the countries down, inactive places included."""
    return await runtime.db(_tree, runtime)


def _import(runtime: Runtime, principal: Claims, text: str) -> ImportOut:
    with runtime.sessions.begin() as session:
        result = import_locations_csv(session=session, source=io.StringIO(text, newline=""))
        counts = {
            "created": result.created,
            "updated": result.updated,
            "unchanged": result.unchanged,
        }
        audit(
            session=session,
            actor=principal.username,
            action="place.import",
            data=counts,
            now=utcnow(),
        )
    with runtime.sessions() as session:
        runtime.places = PlaceTree.load(session)
    return ImportOut(**counts)


@router.post(
    "/places/import",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {"schema": {"type": "string"}},
            },
        }
    },
)
async def import_places(request: Request, runtime: RuntimeDep, principal: Staff) -> ImportOut:
    """Import a locations CSV (body or multipart `file`); any problem refuses it all."""
    text = await body_text(request, CSV_TYPES)
    try:
        return await runtime.db(_import, runtime, principal, text)
    except LocationImportError as exc:
        raise refused(exc.problems) from None


def _patch(runtime: Runtime, principal: Claims, code: str, body: PlacePatch) -> PlaceSummary:
    with runtime.sessions.begin() as session:
        location = place_by_code(session=session, code=code)
        if location is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no place with this code")
        changes: list[tuple[str, dict[str, object]]] = []
        if body.name is not None and rename_place(
            session=session, location=location, name=body.name
        ):
            changes.append(("place.rename", {"fields": ["name"]}))
        if body.active is not None:
            count = set_place_active(session=session, location=location, active=body.active)
            if count:
                action = "place.reactivate" if body.active else "place.deactivate"
                changes.append((action, {"places": count}))
        for action, data in changes:
            audit(
                session=session,
                actor=principal.username,
                action=action,
                target=code,
                data=data,
                now=utcnow(),
            )
        return PlaceSummary(
            code=location.code,
            name=location.name,
            level=location.level,
            active=location.active,
            lat=location.lat,
            lon=location.lon,
        )


@router.patch("/places/{code}")
async def update_place(
    code: PlaceCode, body: PlacePatch, runtime: RuntimeDep, principal: Staff
) -> PlaceSummary:
    """Rename a place, or deactivate it with everything below (`active: false`)."""
    try:
        return await runtime.db(_patch, runtime, principal, code, body)
    except LocationImportError as exc:
        raise refused(exc.problems) from None
