"""Importing places from CSV, and the in-memory tree the menus read."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import Location
from storage.places import (
    ImportResult,
    LocationImportError,
    Place,
    PlaceTree,
    import_locations_csv,
)
from storage.seed import load_demo_if_empty

HEADER = "code,name,parent_code,level\n"
TREE = HEADER + (
    "cd,DR Congo,,country\n"
    "cd-nk,North Kivu,cd,province\n"
    "cd-nk-walikale,Walikale,cd-nk,territory\n"
    "cd-nk-walikale-mpama,Mpama,cd-nk-walikale,site\n"
    "cd-nk-walikale-bisie,Bisie,cd-nk-walikale,site\n"
    "cd-nk-masisi,Masisi,cd-nk,territory\n"
)


def _import(session: Session, text: str) -> ImportResult:
    return import_locations_csv(session=session, source=io.StringIO(text))


def _count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Location)) or 0


def _location(session: Session, code: str) -> Location:
    found = session.scalar(select(Location).where(Location.code == code))
    assert found is not None
    return found


def _refusal(session: Session, text: str) -> list[tuple[int, str]]:
    with pytest.raises(LocationImportError) as refused:
        _import(session, text)
    return [(problem.line, problem.field) for problem in refused.value.problems]


def test_import_creates_the_tree_with_paths(session: Session) -> None:
    assert _import(session, TREE) == ImportResult(created=6, updated=0)
    bisie = _location(session, "cd-nk-walikale-bisie")
    assert bisie.path == "/cd/cd-nk/cd-nk-walikale/cd-nk-walikale-bisie/"
    assert bisie.parent is not None
    assert bisie.parent.code == "cd-nk-walikale"


def test_reimport_updates_by_code(session: Session) -> None:
    _import(session, TREE)
    renamed = TREE.replace("Bisie,", "Bisie hill,")
    assert _import(session, renamed) == ImportResult(created=0, updated=1, unchanged=5)
    assert _location(session, "cd-nk-walikale-bisie").name == "Bisie hill"
    assert _count(session) == 6


def test_moving_a_place_moves_its_subtree(session: Session) -> None:
    _import(session, TREE)
    _import(
        session, HEADER + "cd-sk,South Kivu,cd,province\ncd-nk-walikale,Walikale,cd-sk,territory\n"
    )
    assert _location(session, "cd-nk-walikale-mpama").path == (
        "/cd/cd-sk/cd-nk-walikale/cd-nk-walikale-mpama/"
    )


def test_header_must_match_exactly(session: Session) -> None:
    assert _refusal(session, "code,name,level,parent_code\ncd,DR Congo,country,\n") == [
        (1, "header")
    ]
    assert _refusal(session, "") == [(1, "header")]


def test_byte_order_mark_before_the_header_is_accepted(session: Session) -> None:
    assert _import(session, "\ufeff" + HEADER + "rw,Rwanda,,country\n").created == 1


def test_unknown_parent_is_reported_with_its_line(session: Session) -> None:
    text = HEADER + "cd,DR Congo,,country\ncd-xx-site,Somewhere,cd-xx,site\n"
    assert _refusal(session, text) == [(3, "parent_code")]


def test_child_must_sit_one_level_below_its_parent(session: Session) -> None:
    text = (
        HEADER
        + "cd,DR Congo,,country\ncd-nk,North Kivu,cd,province\ncd-nk-bisie,Bisie,cd-nk,site\n"
    )
    assert _refusal(session, text) == [(4, "level")]


@pytest.mark.parametrize(
    ("row", "field"),
    [
        ("cd,DR Congo,xx,country", "parent_code"),
        ("cd,DR Congo,,planet", "level"),
        ("CD Congo,DR Congo,,country", "code"),
        ("cd,,,country", "name"),
        ("cd,DR Congo,country", "row"),
    ],
)
def test_bad_fields_are_named(session: Session, row: str, field: str) -> None:
    assert _refusal(session, HEADER + row + "\n") == [(2, field)]


def test_duplicate_code_and_level_change_are_refused(session: Session) -> None:
    _import(session, TREE)
    text = HEADER + "rw,Rwanda,,country\nrw,Rwanda,,country\ncd-nk,North Kivu,,country\n"
    assert _refusal(session, text) == [(3, "code"), (4, "level")]


def test_any_error_refuses_the_whole_file(session: Session) -> None:
    text = TREE + "cd-nk-walikale-omate,Omate,cd-nk-nowhere,site\n"
    assert _refusal(session, text) == [(8, "parent_code")]
    assert _count(session) == 0


def test_parents_may_already_be_in_the_database(session: Session) -> None:
    _import(session, TREE)
    result = _import(session, HEADER + "cd-nk-masisi-rubaya,Rubaya,cd-nk-masisi,site\n")
    assert result.created == 1


def test_place_tree_lists_active_children_sorted_by_name(session: Session) -> None:
    _import(session, TREE)
    _location(session, "cd-nk-masisi").active = False
    session.flush()
    tree = PlaceTree.load(session)
    assert [place.code for place in tree.children(None)] == ["cd"]
    assert [place.name for place in tree.children("cd-nk")] == ["Walikale"]
    assert [place.name for place in tree.children("cd-nk-walikale")] == ["Bisie", "Mpama"]
    assert tree.children("cd-nk-walikale-bisie") == ()
    assert tree.get("cd-nk") == Place("cd-nk", "North Kivu", "province")
    assert tree.get("cd-nk-masisi") is None
    assert tree.get("nowhere") is None


def test_place_tree_labels_a_place_below_country_level(session: Session) -> None:
    _import(session, TREE)
    tree = PlaceTree.load(session)
    assert tree.label("cd-nk-walikale-bisie") == "Bisie, Walikale, North Kivu"
    assert tree.label("cd-nk") == "North Kivu"
    assert tree.label("cd") == "DR Congo"


def test_demo_places_load_once_into_an_empty_database(session: Session) -> None:
    assert load_demo_if_empty(session=session)
    loaded = _count(session)
    assert not load_demo_if_empty(session=session)
    assert _count(session) == loaded
    tree = PlaceTree.load(session)
    assert [place.code for place in tree.children(None)] == ["bi", "cd", "rw"]
    assert tree.label("cd-sk-uvira-lemera") == "Lemera, Uvira, South Kivu"
    for location in session.scalars(select(Location).where(Location.parent_id.is_not(None))):
        assert location.parent is not None
        assert location.code.startswith(location.parent.code + "-")


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["cd", "cd-nk", "cd-nk-x", "cd-nk-x-y", "Bad Code", ""]),
            st.text(max_size=5),
            st.sampled_from(["", "cd", "cd-nk", "cd-nk-x", "zz"]),
            st.sampled_from(["country", "province", "territory", "site", "town"]),
        ),
        max_size=6,
    )
)
def test_any_file_is_either_imported_or_refused_cleanly(
    session: Session, rows: list[tuple[str, str, str, str]]
) -> None:
    buffer = io.StringIO()
    csv.writer(buffer).writerows([("code", "name", "parent_code", "level"), *rows])
    before = _count(session)
    created, problems = 0, None
    try:
        created = _import(session, buffer.getvalue()).created
    except LocationImportError as error:
        problems = error.problems
    assert problems is None or len(problems) > 0
    assert _count(session) == before + created
    session.rollback()
