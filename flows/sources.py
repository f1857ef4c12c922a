"""What a list node offers at run time: places under a parent, or the offered languages."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from flows.model import ListNode

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
