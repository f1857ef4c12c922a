"""What the place lists read: a provider of places by parent, a small in-memory one, what
each country calls the levels of its tree, and place names in the reader's language."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

# The levels of the place tree, widest first; every country has the same four.
LEVELS = ("country", "province", "territory", "site")

# What a country calls a level, where it is not the level's own name. The level under the
# province is a territory in the DRC, a district in Rwanda and a commune in Burundi; a
# list's question names the level as the country of its places does (`level_text` of a
# list node, docs/flows.md). Keys are country place codes (ISO 3166 alpha-2, lower case).
LEVEL_NAMES: Mapping[str, Mapping[str, str]] = {
    "rw": {"territory": "district"},
    "bi": {"territory": "commune"},
}

# Every name a level can have in some country.
LEVEL_WORDS = frozenset(LEVELS) | {
    word for names in LEVEL_NAMES.values() for word in names.values()
}

# The gettext context of place names: an entry with msgctxt "place" and the name as
# imported for msgid gives the name in the catalog's language.
PLACE_CONTEXT = "place"


def level_name(country: str | None, level: str) -> str:
    """What `country` calls `level` ("district" for Rwanda's territory level)."""
    return LEVEL_NAMES.get(country or "", {}).get(level, level)


def place_key(name: str) -> str:
    """The catalog key of a place name: its context and name joined by EOT, as gettext
    itself keys a message with a context."""
    return f"{PLACE_CONTEXT}\x04{name}"


class _Gettext(Protocol):
    def gettext(self, message: str, /) -> str: ...


def place_name(tr: _Gettext, name: str) -> str:
    """`name` in the language of `tr` when its catalog has it, else as imported."""
    key = place_key(name)
    found = tr.gettext(key)
    return name if found == key or not found else found


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

    def country_of(self, code: str) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Place:
    """One node of the place tree: country, province, territory or site."""

    code: str
    name: str
    level: str


class StaticPlaces:
    """An immutable place tree built from (code, name, parent_code, level) rows."""

    __slots__ = ("_children", "_countries", "_places")

    def __init__(self, rows: Iterable[tuple[str, str, str | None, str]]) -> None:
        self._places: dict[str, Place] = {}
        grouped: dict[str | None, list[Place]] = {}
        parents: dict[str, str | None] = {}
        for code, name, parent_code, level in rows:
            place = Place(code, name, level)
            self._places[code] = place
            parents[code] = parent_code
            grouped.setdefault(parent_code, []).append(place)
        self._children = {parent: tuple(places) for parent, places in grouped.items()}
        self._countries = {code: _root(code, parents) for code in parents}

    def children(self, parent_code: str | None) -> Sequence[Place]:
        """Return the places under `parent_code` in the order they were given."""
        return self._children.get(parent_code, ())

    def get(self, code: str) -> Place | None:
        """Return the place with this code, if any."""
        return self._places.get(code)

    def country_of(self, code: str) -> str | None:
        """Return the code of the country a place is in (its own for a country)."""
        return self._countries.get(code)


def _root(code: str, parents: Mapping[str, str | None]) -> str:
    seen = {code}
    while (parent := parents.get(code)) is not None and parent not in seen:
        seen.add(parent)
        code = parent
    return code
