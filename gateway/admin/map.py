"""The console's map of incidents: incidents, open cases in no incident and open signals
at their places, over the provinces outline shipped with the demo data.

The page is a filter form and a table of the same markers the map draws, so it reads
without JavaScript; `map.js` draws the map (Leaflet, vendored, no tiles) from the JSON
endpoint and the outline, both served here, so nothing leaves the console. Nothing a
reporter typed is on the page or in its JSON (`storage.mapdata`), for any role.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from gateway.admin.web import Viewer, allow, render
from gateway.backoffice.dashboards import CATEGORY_LABELS, FIELD, Text, stats_filter
from gateway.runtime import Runtime
from storage import casenumber
from storage.db import utcnow
from storage.mapdata import MapData, MapFilter, Marker, MarkerKind, Spot, map_data
from storage.models import SignalRule
from storage.users import user_scope

router = APIRouter()
Everyone = Annotated[Viewer, Depends(allow("map"))]
OUTLINE = "provinces.geojson"
KIND_LABELS = {
    MarkerKind.INCIDENT: "Incident",
    MarkerKind.CASES: "Open cases in no incident",
    MarkerKind.SIGNAL: "Signal",
}


@cache
def outline() -> bytes:
    """The provinces outline (storage/seed/provinces.geojson), read once."""
    return resources.files("storage.seed").joinpath(OUTLINE).read_bytes()


def signal_words(rule: str | None, count: int) -> str:
    """Say in words why a signal was raised."""
    if rule == SignalRule.ABSOLUTE:
        return "A report that is a signal by itself"
    return f"{count} reports in a day, above the territory's usual count"


def _href(marker: Marker) -> str | None:
    if marker.kind == MarkerKind.SIGNAL:
        return f"/admin/signals/{marker.signal_id}"
    number = marker.first or (marker.numbers[0] if len(marker.numbers) == 1 else None)
    return f"/admin/cases/{number}" if number else None


def _title(marker: Marker) -> str:
    if marker.kind == MarkerKind.INCIDENT and marker.first:
        return f"Incident {casenumber.display(marker.first)}"
    if marker.kind == MarkerKind.SIGNAL:
        return signal_words(marker.rule, marker.count)
    return f"{marker.count} open case{'s' if marker.count != 1 else ''} in no incident"


def _place(spot: Spot | None) -> dict[str, Any] | None:
    if spot is None:
        return None
    return {
        "code": spot.code,
        "name": spot.name,
        "level": spot.level,
        "lat": spot.lat,
        "lon": spot.lon,
    }


def marker_json(marker: Marker) -> dict[str, Any]:
    """One marker as the map's JSON carries it: structured fields only."""
    return {
        "kind": marker.kind.value,
        "title": _title(marker),
        "category": marker.category,
        "category_label": CATEGORY_LABELS.get(marker.category, marker.category),
        "count": marker.count,
        "open": marker.open,
        "status": marker.status,
        "place": _place(marker.place),
        "numbers": [casenumber.display(number) for number in marker.numbers],
        "href": _href(marker),
        "latest": marker.latest.isoformat(),
    }


def _read(runtime: Runtime, where: MapFilter, username: str) -> MapData:
    with runtime.sessions() as session:
        scope = user_scope(session=session, username=username)
        return map_data(session=session, where=replace(where, scope=scope))


async def load(
    request: Request, *, start: str, end: str, category: str, username: str
) -> tuple[MapData, dict[str, Any]]:
    """The markers for the page's filters in the viewer's scope, and the filters as read
    (400 when unreadable)."""
    runtime: Runtime = request.app.state.runtime
    where, first, last = stats_filter(
        start=start, end=end, category=category, province="", committee="", today=utcnow().date()
    )
    found = MapFilter(where.start, where.end, where.category)
    data = await runtime.db(_read, runtime, found, username)
    filters = {"from": first.isoformat(), "to": last.isoformat(), "category": category}
    return data, filters


def data_url(filters: dict[str, Any]) -> str:
    """Where map.js reads the markers for these filters."""
    return "/admin/map.json?" + urlencode({k: v for k, v in filters.items() if v})


def map_json(data: MapData, filters: dict[str, Any], now: datetime) -> dict[str, Any]:
    return {
        "filters": filters,
        "as_of": now.isoformat(),
        "markers": [marker_json(marker) for marker in data.markers],
        "sites": [_place(site) for site in data.sites],
    }


@router.get("/map", response_class=HTMLResponse)
async def map_page(
    request: Request,
    viewer: Everyone,
    start: Annotated[str, Query(alias="from", max_length=FIELD)] = "",
    end: Annotated[str, Query(alias="to", max_length=FIELD)] = "",
    category: Text = "",
) -> HTMLResponse:
    """Show incidents, open cases and open signals on the map and in a table."""
    data, filters = await load(
        request, start=start, end=end, category=category, username=viewer.username
    )
    return await render(
        request,
        "map.html",
        viewer,
        markers=[marker_json(marker) for marker in data.markers],
        filters=filters,
        categories=CATEGORY_LABELS,
        kinds=KIND_LABELS,
        data_url=data_url(filters),
    )


@router.get("/map.json")
async def map_data_json(
    request: Request,
    viewer: Everyone,
    start: Annotated[str, Query(alias="from", max_length=FIELD)] = "",
    end: Annotated[str, Query(alias="to", max_length=FIELD)] = "",
    category: Text = "",
) -> JSONResponse:
    """The map's markers and sites for the page's filters, as JSON."""
    data, filters = await load(
        request, start=start, end=end, category=category, username=viewer.username
    )
    return JSONResponse(map_json(data, filters, utcnow()))


@router.get("/map/provinces.geojson")
async def provinces(viewer: Everyone) -> Response:
    """The provinces outline the map draws as its base."""
    return Response(outline(), media_type="application/geo+json")
