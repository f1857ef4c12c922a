"""The one way the service reads YAML (flow definitions, committee files): bounded.

PyYAML composes nested collections recursively and expands nothing itself, but what reads
its result does: a document nested a few thousand levels deep exhausts the interpreter's
stack (RecursionError), an alias can make a small file stand for an enormous or circular
structure, and some scalars are costly or impossible to build (a number of a million
digits, an impossible date). So a document is refused, with the line it went wrong on,
when it is larger than `MAX_CHARS`, nests collections deeper than `MAX_DEPTH`, uses an
alias (`*name`, and so `<<: *name`), or holds a value its tag cannot build (a number
longer than `MAX_NUMBER` characters, 2024-13-45, ``!!int abc``). Every refusal is a
`YAMLRefused`, a `yaml.MarkedYAMLError`, so callers that already report a YAML error with
its line report these the same way.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.error import Mark
from yaml.events import AliasEvent, MappingStartEvent, SequenceStartEvent

__all__ = ["MAX_CHARS", "MAX_DEPTH", "MAX_NUMBER", "YAMLRefused", "compose", "load"]

MAX_DEPTH = 64
MAX_CHARS = 5 * 1024 * 1024
MAX_NUMBER = 100
_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"


class YAMLRefused(yaml.MarkedYAMLError):
    """A document the bounded reader refuses; `problem` says why, `line` where (from 1)."""

    def __init__(self, problem: str, mark: Mark | None) -> None:
        super().__init__(problem=problem, problem_mark=mark)
        self.line = 1 if mark is None else int(mark.line) + 1

    def __str__(self) -> str:
        return f"line {self.line}: {self.problem}"


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader that counts how deep it composes, refuses aliases and bad scalars."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise YAMLRefused(
                f"aliases (*{event.anchor}) are not accepted: write the value out",
                event.start_mark,
            )
        if not self.check_event(SequenceStartEvent, MappingStartEvent):
            return super().compose_node(parent, index)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                event = self.peek_event()  # type: ignore[no-untyped-call]
                raise YAMLRefused(f"nested deeper than {MAX_DEPTH} levels", event.start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        if node.tag in (_INT_TAG, _FLOAT_TAG) and len(str(node.value)) > MAX_NUMBER:
            raise YAMLRefused(
                f"a number longer than {MAX_NUMBER} characters (quote it to make it text)",
                node.start_mark,
            )
        try:
            return super().construct_object(node, deep)
        except (ValueError, TypeError, OverflowError) as exc:
            raise YAMLRefused(
                f"{node.value!r:.60} cannot be read: {exc}", node.start_mark
            ) from None


def _checked(text: str) -> str:
    if len(text) > MAX_CHARS:
        raise YAMLRefused(f"the document is larger than {MAX_CHARS // (1024 * 1024)} MB", None)
    return text


def load(text: str) -> Any:
    """The value of a YAML document (`yaml.safe_load`, bounded), or YAMLRefused."""
    loader = _BoundedLoader(_checked(text))
    try:
        return loader.get_single_data()
    except RecursionError:  # not expected within MAX_DEPTH; never a crash all the same
        raise YAMLRefused(f"nested deeper than {MAX_DEPTH} levels", None) from None
    finally:
        loader.dispose()


def compose(text: str) -> yaml.Node | None:
    """The node tree of a YAML document (`yaml.compose`, bounded), or YAMLRefused."""
    loader = _BoundedLoader(_checked(text))
    try:
        return loader.get_single_node()
    except RecursionError:
        raise YAMLRefused(f"nested deeper than {MAX_DEPTH} levels", None) from None
    finally:
        loader.dispose()
