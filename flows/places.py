"""What the place lists read: a provider of places by parent, and a small in-memory one."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol


class PlaceLike(Protocol):
    """A place as a menu shows it (storage has its own class of the same shape)."""

    @property
    def code(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def level(self) -> str: ...


class PlaceProvider(Protocol):
    """Places by parent; countries are the children of None."""

    def children(self, parent_code: str | None) -> Sequence[PlaceLike]: ...

    def get(self, code: str) -> PlaceLike | None: ...


@dataclass(frozen=True, slots=True)
class Place:
    """One node of the place tree: country, province, territory or site."""

    code: str
    name: str
    level: str


class StaticPlaces:
    """An immutable place tree built from (code, name, parent_code, level) rows."""

    __slots__ = ("_children", "_places")

    def __init__(self, rows: Iterable[tuple[str, str, str | None, str]]) -> None:
        self._places: dict[str, Place] = {}
        grouped: dict[str | None, list[Place]] = {}
        for code, name, parent_code, level in rows:
            place = Place(code, name, level)
            self._places[code] = place
            grouped.setdefault(parent_code, []).append(place)
        self._children = {parent: tuple(places) for parent, places in grouped.items()}

    def children(self, parent_code: str | None) -> Sequence[Place]:
        """Return the places under `parent_code` in the order they were given."""
        return self._children.get(parent_code, ())

    def get(self, code: str) -> Place | None:
        """Return the place with this code, if any."""
        return self._places.get(code)
