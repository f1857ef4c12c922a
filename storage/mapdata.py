"""What the console's map draws: incidents, open cases in no incident, and open signals,
each at the nearest place with coordinates, and the sites that have coordinates.

Only structured fields are read: numbers, categories, counts, statuses, place codes and
names. Nothing a reporter typed (a description, a place as typed) is loaded here, so the
map is the same for every role, analysts included.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import Select, exists, select
from sqlalchemy.orm import Session

from storage.casequery import scope_clause, signal_scope_clause
from storage.models import (
    Case,
    Incident,
    IncidentCase,
    Level,
    Location,
    Signal,
    SignalStatus,
    Status,
)
from storage.users import Scope

__all__ = [
    "MAX_NUMBERS",
    "MapData",
    "MapFilter",
    "Marker",
    "MarkerKind",
    "Spot",
    "map_data",
]

# A marker lists at most this many case numbers; its count says how many there are.
MAX_NUMBERS = 20


class MarkerKind(StrEnum):
    INCIDENT = "incident"
    CASES = "cases"
    SIGNAL = "signal"


@dataclass(frozen=True, slots=True)
class MapFilter:
    """Cases received (signals raised for a day) in [start, end), of `category` if given."""

    start: datetime
    end: datetime
    category: str | None = None
    scope: Scope | None = None  # the viewer's: their cases, incidents and signals only


@dataclass(frozen=True, slots=True)
class Spot:
    """A place with coordinates."""

    code: str
    name: str
    level: str
    lat: float
    lon: float


@dataclass(frozen=True, slots=True)
class Marker:
    """One thing on the map. `place` is the nearest place with coordinates at or above the
    one named (None when there is none: the table lists it, the map cannot). `first` is
    the number of an incident's first case (the incident's own number); `signal_id` names
    a signal; `open` says whether any of its cases is still open (a signal: not closed)."""

    kind: MarkerKind
    category: str
    count: int
    place: Spot | None
    numbers: tuple[str, ...]
    latest: datetime
    open: bool = True
    first: str | None = None
    signal_id: int | None = None
    rule: str | None = None
    status: str | None = None


@dataclass(frozen=True, slots=True)
class MapData:
    markers: list[Marker]
    sites: list[Spot]


class _Place(NamedTuple):
    code: str
    name: str
    level: str
    lat: float | None
    lon: float | None
    parent_id: int | None


class _Places:
    """Every place, read once, to find the nearest one with coordinates."""

    def __init__(self, session: Session) -> None:
        query = select(
            Location.id,
            Location.code,
            Location.name,
            Location.level,
            Location.lat,
            Location.lon,
            Location.parent_id,
        )
        self._rows = {row[0]: _Place(*row[1:]) for row in session.execute(query)}

    def spot(self, location_id: int | None) -> Spot | None:
        current = location_id
        while current is not None and current in self._rows:
            place = self._rows[current]
            if place.lat is not None and place.lon is not None:
                return Spot(place.code, place.name, place.level, place.lat, place.lon)
            current = place.parent_id
        return None

    def sites(self) -> list[Spot]:
        found = (
            self.spot(place_id)
            for place_id, place in self._rows.items()
            if place.level == Level.SITE
        )
        return sorted(
            (spot for spot in found if spot and spot.level == Level.SITE), key=lambda s: s.code
        )


_Query = TypeVar("_Query", bound=Select[Any])


def _in_range(query: _Query, where: MapFilter) -> _Query:
    query = query.where(
        Case.is_test.is_(False), Case.created_at >= where.start, Case.created_at < where.end
    )
    in_scope = scope_clause(where.scope)
    if in_scope is not None:
        query = query.where(in_scope)
    return query if where.category is None else query.where(Case.category == where.category)


def _incident_markers(session: Session, places: _Places, where: MapFilter) -> list[Marker]:
    wanted = _in_range(
        select(IncidentCase.incident_id).join(Case, Case.id == IncidentCase.case_id), where
    )
    query = (
        select(Incident, Case)
        .join(IncidentCase, IncidentCase.incident_id == Incident.id)
        .join(Case, Case.id == IncidentCase.case_id)
        .where(Incident.id.in_(wanted.scalar_subquery()), Case.is_test.is_(False))
        .order_by(Incident.id, Case.created_at, Case.id)
    )
    in_scope = scope_clause(where.scope)
    if in_scope is not None:
        query = query.where(in_scope)
    grouped: dict[int, tuple[Incident, list[Case]]] = {}
    for incident, case in session.execute(query):
        grouped.setdefault(incident.id, (incident, []))[1].append(case)
    return [_incident_marker(places, incident, cases) for incident, cases in grouped.values()]


def _incident_marker(places: _Places, incident: Incident, cases: list[Case]) -> Marker:
    return Marker(
        kind=MarkerKind.INCIDENT,
        category=incident.category,
        count=len(cases),
        place=places.spot(incident.location_id),
        numbers=tuple(case.number for case in cases[:MAX_NUMBERS]),
        latest=max(case.created_at for case in cases),
        open=any(case.status != Status.CLOSED for case in cases),
        first=incident.number,
    )


def _case_markers(session: Session, places: _Places, where: MapFilter) -> list[Marker]:
    grouped = exists().where(IncidentCase.case_id == Case.id)
    query = _in_range(select(Case), where).where(Case.status != Status.CLOSED, ~grouped)
    piles: dict[tuple[str | None, str], list[Case]] = {}
    for case in session.scalars(query.order_by(Case.created_at, Case.id)):
        spot = places.spot(case.location_id)
        piles.setdefault((spot.code if spot else None, case.category), []).append(case)
    return [_cases_marker(places, cases) for cases in piles.values()]


def _cases_marker(places: _Places, cases: list[Case]) -> Marker:
    return Marker(
        kind=MarkerKind.CASES,
        category=cases[0].category,
        count=len(cases),
        place=places.spot(cases[0].location_id),
        numbers=tuple(case.number for case in cases[:MAX_NUMBERS]),
        latest=cases[-1].created_at,
    )


def _signal_markers(session: Session, places: _Places, where: MapFilter) -> list[Marker]:
    query = select(Signal).where(
        Signal.status != SignalStatus.CLOSED,
        Signal.day >= where.start.date(),
        Signal.day < where.end.date(),
    )
    if where.category is not None:
        query = query.where(Signal.category == where.category)
    in_scope = signal_scope_clause(where.scope)
    if in_scope is not None:
        query = query.where(in_scope)
    return [_signal_marker(places, signal) for signal in session.scalars(query)]


def _signal_marker(places: _Places, signal: Signal) -> Marker:
    return Marker(
        kind=MarkerKind.SIGNAL,
        category=signal.category,
        count=signal.count,
        place=places.spot(signal.territory_id),
        numbers=(),
        latest=signal.raised_at,
        signal_id=signal.id,
        rule=signal.rule,
        status=signal.status,
    )


def _newest_first(markers: Iterable[Marker]) -> list[Marker]:
    return sorted(markers, key=lambda marker: (marker.latest, marker.kind), reverse=True)


def map_data(*, session: Session, where: MapFilter) -> MapData:
    """Return the markers for a filter, newest first, and every site with coordinates."""
    places = _Places(session)
    markers = [
        *_signal_markers(session, places, where),
        *_incident_markers(session, places, where),
        *_case_markers(session, places, where),
    ]
    return MapData(_newest_first(markers), places.sites())
