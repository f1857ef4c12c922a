"""The places tree rolls case counts up: a site's cases count in its territory, province and
country, in one counting query; leaves have nothing to unfold."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from storage.places import PlaceNode, place_tree
from tests.admin.conftest import Browser


def _flat(nodes: list[PlaceNode]) -> Iterator[PlaceNode]:
    for node in nodes:
        yield node
        yield from _flat(node.children)


def _file_small_tree(file_case: Callable[..., str]) -> None:
    """Two cases at Mpama, one at Omate, one placed at Walikale itself, one at Lemera."""
    for place in ("cd-nk-walikale-mpama", "cd-nk-walikale-mpama", "cd-nk-walikale-omate"):
        file_case(place=place)
    file_case(place="cd-nk-walikale")
    file_case(place="cd-sk-uvira-lemera")


def test_counts_roll_up_to_territory_province_and_country(
    file_case: Callable[..., str], db: sessionmaker[Session]
) -> None:
    _file_small_tree(file_case)
    with db() as session:
        nodes = {node.code: node for node in _flat(place_tree(session=session))}
    counts = {code: (nodes[code].cases, nodes[code].here) for code in nodes}
    assert counts["cd-nk-walikale-mpama"] == (2, 2)
    assert counts["cd-nk-walikale-omate"] == (1, 1)
    assert counts["cd-nk-walikale-bisie"] == (0, 0)
    assert counts["cd-nk-walikale"] == (4, 1)
    assert counts["cd-nk"] == (4, 0)
    assert counts["cd-sk-uvira"] == (1, 0)
    assert counts["cd-sk"] == (1, 0)
    assert counts["cd"] == (5, 0)
    # Every parent's count is its own cases plus its children's.
    for node in nodes.values():
        assert node.cases == node.here + sum(child.cases for child in node.children)


def test_the_tree_is_counted_in_one_query(
    file_case: Callable[..., str], db: sessionmaker[Session]
) -> None:
    """One query counts the cases and one reads the places, however many places there are."""
    _file_small_tree(file_case)
    statements: list[str] = []

    def seen(*args: Any) -> None:
        statements.append(args[2])

    engine = db.kw["bind"]
    event.listen(engine, "before_cursor_execute", seen)
    try:
        with db() as session:
            nodes = list(_flat(place_tree(session=session)))
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert len(nodes) > 20
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 2, selects


def test_page_shows_rolled_up_counts_and_no_marker_on_leaves(
    browser: Callable[[str], Browser], file_case: Callable[..., str], db: sessionmaker[Session]
) -> None:
    _file_small_tree(file_case)
    text = browser("coordinator").get("/admin/places").text

    def shown(code: str) -> str:
        start = text.index(f"<code>{code}</code>")
        found = re.search(r'<span class="muted">([^<]*)</span>', text[start:])
        assert found is not None
        return found.group(1)

    assert shown("cd") == "5 cases"
    assert shown("cd-nk") == "4 cases"
    assert shown("cd-nk-walikale") == "4 cases (1 placed at the territory itself)"
    assert shown("cd-nk-walikale-mpama") == "2 cases"
    assert shown("cd-sk-uvira-lemera") == "1 case"
    with db() as session:
        nodes = list(_flat(place_tree(session=session)))
    parents = [node for node in nodes if node.children]
    leaves = [node for node in nodes if not node.children]
    # A <details> (with its unfold marker) for each place with children, none for a leaf.
    tree = text[text.index('<ul class="place-tree">') :]
    assert tree.count("<details") == len(parents)
    assert text.count('<div class="place-leaf">') == len(leaves)
    for leaf in leaves:
        before = text[: text.index(f"<code>{leaf.code}</code>")]
        assert before.rindex('<div class="place-leaf">') > before.rindex("<summary>")
