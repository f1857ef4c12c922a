"""Importing the place tree from CSV, and an in-memory snapshot of it for the menus.

`Place` is the menus' own class (`flows.places.Place`), re-exported here.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple, TextIO

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from flows.places import Place, StaticPlaces, level_name
from storage.models import PARENT_LEVEL, Case, Level, Location

__all__ = [
    "HEADER",
    "ImportResult",
    "LocationImportError",
    "Place",
    "PlaceNode",
    "PlaceTree",
    "Problem",
    "import_locations_csv",
    "path_level_name",
    "place_by_code",
    "place_tree",
    "rename_place",
    "set_place_active",
]

HEADER = ("code", "name", "parent_code", "level")
# Optional columns after the four: a place's WGS 84 coordinates in decimal degrees, for the
# console's map. A file without them leaves every place's coordinates as they were.
COORDINATES = ("lat", "lon")
_RANGES = {"lat": 90.0, "lon": 180.0}
MAX_CODE = 64
MAX_NAME = 128
_CODE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason a file was refused: where, which field, and why."""

    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}, {self.field}: {self.message}"


class LocationImportError(ValueError):
    """The file was refused as a whole; nothing was written."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("locations refused: " + "; ".join(map(str, self.problems)))


@dataclass(frozen=True, slots=True)
class ImportResult:
    created: int
    updated: int
    unchanged: int = 0


class _TreeRow(NamedTuple):
    code: str
    name: str
    level: str
    parent_code: str | None
    active: bool


@dataclass(frozen=True, slots=True)
class _Row:
    line: int
    code: str
    name: str
    parent_code: str | None
    level: Level
    # None: the file has no coordinate columns; (None, None): this place has none.
    coordinates: tuple[float | None, float | None] | None = None


def _degrees(line: int, field: str, text: str) -> tuple[float | None, Problem | None]:
    limit = _RANGES[field]
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or abs(value) > limit:
        return None, Problem(line, field, f"give decimal degrees from -{limit:g} to {limit:g}")
    return value, None


def _coordinates(
    line: int, lat: str, lon: str
) -> tuple[tuple[float | None, float | None], list[Problem]]:
    if not lat and not lon:
        return (None, None), []
    if not lat or not lon:
        return (None, None), [
            Problem(line, "lat" if not lat else "lon", "give both lat and lon, or neither")
        ]
    lat_value, lat_problem = _degrees(line, "lat", lat)
    lon_value, lon_problem = _degrees(line, "lon", lon)
    return (lat_value, lon_value), [p for p in (lat_problem, lon_problem) if p is not None]


def _field_problems(line: int, code: str, name: str, level: str) -> list[Problem]:
    problems = []
    if len(code) > MAX_CODE or not _CODE.fullmatch(code):
        problems.append(Problem(line, "code", "use lower-case letters, digits and dashes"))
    if not name or len(name) > MAX_NAME or _CONTROL.search(name):
        problems.append(Problem(line, "name", f"give a name of 1 to {MAX_NAME} characters"))
    if level not in set(Level):
        problems.append(Problem(line, "level", "one of " + ", ".join(Level)))
    return problems


def _records(source: TextIO) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(source, strict=True)
    try:
        for record in reader:
            yield reader.line_num, record
    except csv.Error as exc:
        raise LocationImportError([Problem(reader.line_num, "row", str(exc))]) from None


def _header(line: int, header: list[str]) -> tuple[str, ...]:
    columns = tuple(cell.strip().removeprefix("\ufeff") for cell in header)
    if columns not in (HEADER, HEADER + COORDINATES):
        expected = ",".join(HEADER) + " (then lat,lon if you give coordinates)"
        raise LocationImportError([Problem(line, "header", "expected " + expected)])
    return columns


def _row(line: int, cells: list[str]) -> tuple[_Row | None, list[Problem]]:
    code, name, parent, level = cells[:4]
    found = _field_problems(line, code, name, level)
    coordinates = None
    if len(cells) > len(HEADER):
        coordinates, bad = _coordinates(line, cells[4], cells[5])
        found += bad
    if found:
        return None, found
    return _Row(line, code, name, parent or None, Level(level), coordinates), []


def _parse(source: TextIO) -> tuple[list[_Row], list[Problem]]:
    records = _records(source)
    line, header = next(records, (1, []))
    columns = _header(line, header)
    rows: list[_Row] = []
    problems: list[Problem] = []
    for line, record in records:
        if not any(cell.strip() for cell in record):
            continue
        if len(record) != len(columns):
            problems.append(Problem(line, "row", f"expected {len(columns)} fields"))
            continue
        row, found = _row(line, [cell.strip() for cell in record])
        problems.extend(found)
        if row is not None:
            rows.append(row)
    return rows, problems


def _parent_problem(row: _Row, levels: dict[str, Level]) -> Problem | None:
    expected = PARENT_LEVEL[row.level]
    if expected is None:
        if row.parent_code is not None:
            return Problem(row.line, "parent_code", "a country has no parent")
        return None
    if row.parent_code is None:
        return Problem(row.line, "parent_code", f"a {row.level} needs a {expected} as parent")
    parent_level = levels.get(row.parent_code)
    if parent_level is None:
        return Problem(row.line, "parent_code", f"unknown parent {row.parent_code!r}")
    if parent_level != expected:
        return Problem(
            row.line, "level", f"a {row.level} sits under a {expected}, not a {parent_level}"
        )
    return None


def _row_problems(row: _Row, levels: dict[str, Level], seen: set[str]) -> list[Problem]:
    problems = []
    if row.code in seen:
        problems.append(Problem(row.line, "code", f"{row.code!r} appears twice"))
    known = levels.get(row.code)
    if known is not None and known != row.level and row.code not in seen:
        problems.append(Problem(row.line, "level", f"{row.code!r} is already a {known}"))
    parent = _parent_problem(row, levels)
    if parent is not None:
        problems.append(parent)
    return problems


def _tree_problems(rows: Iterable[_Row], existing: dict[str, Location]) -> list[Problem]:
    levels = {code: Level(location.level) for code, location in existing.items()}
    seen: set[str] = set()
    problems: list[Problem] = []
    for row in rows:
        problems.extend(_row_problems(row, levels, seen))
        seen.add(row.code)
        levels.setdefault(row.code, row.level)
    return problems


def _move_subtree(existing: dict[str, Location], old: str, new: str) -> None:
    for location in existing.values():
        if location.path.startswith(old):
            location.path = new + location.path[len(old) :]


def _apply_coordinates(location: Location, row: _Row) -> bool:
    if row.coordinates is None or (location.lat, location.lon) == row.coordinates:
        return False
    location.lat, location.lon = row.coordinates
    return True


def _apply_row(session: Session, row: _Row, existing: dict[str, Location]) -> str:
    parent = existing[row.parent_code] if row.parent_code else None
    path = (parent.path if parent else "/") + row.code + "/"
    location = existing.get(row.code)
    if location is None:
        location = Location(code=row.code, name=row.name, level=row.level, parent=parent, path=path)
        _apply_coordinates(location, row)
        session.add(location)
        existing[row.code] = location
        return "created"
    moved = _apply_coordinates(location, row)
    # The path spells the whole chain of parents, so it stands for the parent here.
    if (location.name, location.path, location.active) == (row.name, path, True):
        return "updated" if moved else "unchanged"
    if location.path != path:
        _move_subtree(existing, location.path, path)
    location.name, location.parent, location.active = row.name, parent, True
    return "updated"


def import_locations_csv(*, session: Session, source: TextIO) -> ImportResult:
    """Create or update locations from `code,name,parent_code,level[,lat,lon]` CSV.

    Parents come before children or already exist; every row is checked before anything
    is written, and any problem refuses the whole file. Rows update by code; a place
    moved to another parent takes its subtree along. With the `lat,lon` columns each row
    sets its place's coordinates (both blank: none); without them they stay as they were.
    """
    rows, problems = _parse(source)
    existing = {location.code: location for location in session.scalars(select(Location))}
    problems += _tree_problems(rows, existing)
    if problems:
        raise LocationImportError(sorted(problems, key=lambda problem: problem.line))
    outcomes = [_apply_row(session, row, existing) for row in rows]
    session.flush()
    return ImportResult(
        created=outcomes.count("created"),
        updated=outcomes.count("updated"),
        unchanged=outcomes.count("unchanged"),
    )


class PlaceTree(StaticPlaces):
    """An immutable snapshot of the active place tree; every lookup is a dictionary get.

    Children are sorted by name; inactive places are neither listed nor found, but still
    name their descendants in labels. Build it once (`PlaceTree.load`) and again after an
    import.
    """

    __slots__ = ("_names",)

    def __init__(self, rows: Iterable[_TreeRow]) -> None:
        rows = list(rows)
        self._names = {row.code: (row.name, row.level, row.parent_code) for row in rows}
        active = sorted((row for row in rows if row.active), key=lambda row: row.name.casefold())
        super().__init__((row.code, row.name, row.parent_code, row.level) for row in active)

    @classmethod
    def load(cls, session: Session) -> PlaceTree:
        """Read every location in one query."""
        parent = aliased(Location)
        query = select(Location.code, Location.name, Location.level, parent.code, Location.active)
        query = query.outerjoin(parent, Location.parent_id == parent.id)
        return cls(_TreeRow(*row) for row in session.execute(query))

    def has_name(self, name: str) -> bool:
        """Tell whether some place, active or not, has this name."""
        return any(found == name for found, _, _ in self._names.values())

    def label(self, code: str) -> str:
        """Name a place with its ancestors below country level: "Bisie, Walikale, North Kivu"."""
        names: list[str] = []
        current: str | None = code
        while current is not None:
            name, level, parent_code = self._names[current]
            if level == Level.COUNTRY and names:
                break
            names.append(name)
            current = parent_code
        return ", ".join(names)


def path_level_name(path: str, level: str) -> str:
    """What the country of a place (the first code of its `path`) calls its level:
    "district" for a territory of Rwanda (`flows.places.LEVEL_NAMES`)."""
    return level_name(path.strip("/").partition("/")[0] or None, level)


@dataclass(slots=True)
class PlaceNode:
    """One place in the console's tree, with its children; `cases` counts the cases of the
    place and of everything below it (a site's case counts in its territory, province and
    country), `here` those that name this very place. `level_name` is its level as its
    country names it."""

    code: str
    name: str
    level: str
    active: bool
    cases: int
    children: list[PlaceNode]
    level_name: str = ""
    lat: float | None = None
    lon: float | None = None
    here: int = 0


def _case_counts(session: Session) -> dict[int, int]:
    query = (
        select(Case.location_id, func.count())
        .where(Case.location_id.is_not(None))
        .group_by(Case.location_id)
    )
    return {place: count for place, count in session.execute(query) if place}


def _node(location: Location, cases: int) -> PlaceNode:
    return PlaceNode(
        location.code,
        location.name,
        location.level,
        location.active,
        cases,
        [],
        path_level_name(location.path, location.level),
        location.lat,
        location.lon,
        cases,
    )


def _roll_up(node: PlaceNode) -> int:
    """Add every child's count, itself rolled up, to its parent's; return the node's."""
    node.cases = node.here + sum(_roll_up(child) for child in node.children)
    return node.cases


def place_tree(*, session: Session) -> list[PlaceNode]:
    """Return the whole tree, inactive places included, children sorted by name, each
    place's count rolled up from everything below it (one counting query for the tree)."""
    counts = _case_counts(session)
    locations = sorted(session.scalars(select(Location)), key=lambda loc: loc.name.casefold())
    nodes = {location.id: _node(location, counts.get(location.id, 0)) for location in locations}
    roots: list[PlaceNode] = []
    for location in locations:
        parent = nodes.get(location.parent_id) if location.parent_id else None
        (roots if parent is None else parent.children).append(nodes[location.id])
    for root in roots:
        _roll_up(root)
    return roots


def place_by_code(*, session: Session, code: str) -> Location | None:
    """Return the place with `code`, active or not."""
    return session.scalar(select(Location).where(Location.code == code))


def rename_place(*, session: Session, location: Location, name: str) -> bool:
    """Rename a place under the import's rules; False when the name is the same.

    Raises LocationImportError (field "name") for a name the import would refuse.
    """
    name = name.strip()
    problems = _field_problems(1, location.code, name, location.level)
    if problems:
        raise LocationImportError(problems)
    if location.name == name:
        return False
    location.name = name
    session.flush()
    return True


def set_place_active(*, session: Session, location: Location, active: bool) -> int:
    """Deactivate a place with everything below it, or reactivate one place; return how many
    places changed.

    A place cannot come back under an inactive parent: the menus would never reach it.
    """
    if active:
        if location.parent is not None and not location.parent.active:
            raise LocationImportError(
                [Problem(1, "parent_code", f"reactivate {location.parent.code!r} first")]
            )
        changed = [location] if not location.active else []
    else:
        below = select(Location).where(Location.path.startswith(location.path, autoescape=True))
        changed = [place for place in session.scalars(below) if place.active]
    for place in changed:
        place.active = active
    session.flush()
    return len(changed)
