"""What a list node offers at run time: places under a parent, or the offered languages."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from flows.model import ListNode
from flows.places import level_name

if TYPE_CHECKING:
    from flows.state import Context

# Each language by its own name, as a person who reads it would look for it.
LANGUAGE_NAMES: Mapping[str, str] = {
    "sw": "Kiswahili",
    "fr": "Français",
    "en": "English",
    "rw": "Ikinyarwanda",
    "rn": "Ikirundi",
    "ln": "Lingala",
}


def list_items(
    node: ListNode, answers: Mapping[str, str], ctx: Context
) -> Sequence[tuple[str, str]]:
    """Return (value, name) pairs in display order; empty when there is nothing to pick."""
    if node.source == "languages":
        return [(code, LANGUAGE_NAMES.get(code, code)) for code in ctx.languages]
    parent = None
    if node.parent is not None:
        parent = answers.get(node.parent)
        if parent is None:
            return ()
    return [(place.code, place.name) for place in ctx.places.children(parent)]


def list_level(node: ListNode, answers: Mapping[str, str], ctx: Context) -> str | None:
    """The level of the places a list shows, as their country names it ("district" for
    Rwanda's territories); None for a list of languages or of nothing."""
    if node.source != "places":
        return None
    parent = None
    if node.parent is not None:
        parent = answers.get(node.parent)
        if parent is None:
            return None
    found = ctx.places.children(parent)
    if not found:
        return None
    return level_name(ctx.places.country_of(found[0].code), found[0].level)
