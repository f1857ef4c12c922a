"""Places' coordinates in the import: the optional `lat,lon` columns, checked, updated on
re-import, left alone by a file without them."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Location
from storage.places import ImportResult, LocationImportError, import_locations_csv
from storage.seed import load_demo_if_empty

PLAIN = "code,name,parent_code,level\n"
WITH = "code,name,parent_code,level,lat,lon\n"
TREE = (
    WITH + "cd,DR Congo,,country,-4.04,21.76\n"
    "cd-nk,North Kivu,cd,province,,\n"
    "cd-nk-walikale,Walikale,cd-nk,territory,-1.1,27.7\n"
    "cd-nk-walikale-bisie,Bisie,cd-nk-walikale,site,-1.005,27.83\n"
)


def _import(session: Session, text: str) -> ImportResult:
    return import_locations_csv(session=session, source=io.StringIO(text))


def _coordinates(session: Session, code: str) -> tuple[float | None, float | None]:
    place = session.scalar(select(Location).where(Location.code == code))
    assert place is not None
    return place.lat, place.lon


def _refusal(session: Session, text: str) -> list[str]:
    with pytest.raises(LocationImportError) as refused:
        _import(session, text)
    return [str(problem) for problem in refused.value.problems]


def test_import_with_coordinates_keeps_them(session: Session) -> None:
    assert _import(session, TREE) == ImportResult(created=4, updated=0)
    assert _coordinates(session, "cd-nk-walikale-bisie") == (-1.005, 27.83)
    assert _coordinates(session, "cd-nk") == (None, None)


def test_import_without_the_columns_gives_no_coordinates(session: Session) -> None:
    _import(session, PLAIN + "cd,DR Congo,,country\n")
    assert _coordinates(session, "cd") == (None, None)


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        ("-91,27.8", "line 3, lat: give decimal degrees from -90 to 90"),
        ("-1.0,180.5", "line 3, lon: give decimal degrees from -180 to 180"),
        ("north,27.8", "line 3, lat: give decimal degrees from -90 to 90"),
        ("nan,27.8", "line 3, lat: give decimal degrees from -90 to 90"),
        ("-1.0,inf", "line 3, lon: give decimal degrees from -180 to 180"),
        ("-1.0,", "line 3, lon: give both lat and lon, or neither"),
        (",27.8", "line 3, lat: give both lat and lon, or neither"),
    ],
)
def test_a_bad_value_is_refused_with_its_line_and_nothing_is_written(
    session: Session, cells: str, expected: str
) -> None:
    text = WITH + "cd,DR Congo,,country,-4,21\ncd-nk,North Kivu,cd,province," + cells + "\n"
    assert _refusal(session, text) == [expected]
    assert session.scalar(select(Location)) is None


def test_a_row_missing_the_coordinate_fields_is_refused(session: Session) -> None:
    assert _refusal(session, WITH + "cd,DR Congo,,country\n") == ["line 2, row: expected 6 fields"]


def test_a_header_with_only_one_coordinate_column_is_refused(session: Session) -> None:
    problems = _refusal(session, "code,name,parent_code,level,lat\ncd,DR Congo,,country,-4\n")
    assert problems[0].startswith("line 1, header: expected code,name,parent_code,level")


def test_reimport_updates_coordinates_and_blank_clears_them(session: Session) -> None:
    _import(session, TREE)
    moved = TREE.replace("-1.005,27.83", "-1.01,27.68").replace("-1.1,27.7", ",")
    assert _import(session, moved) == ImportResult(created=0, updated=2, unchanged=2)
    assert _coordinates(session, "cd-nk-walikale-bisie") == (-1.01, 27.68)
    assert _coordinates(session, "cd-nk-walikale") == (None, None)


def test_reimport_without_the_columns_leaves_coordinates_alone(session: Session) -> None:
    _import(session, TREE)
    plain = PLAIN + "cd,DR Congo,,country\ncd-nk-walikale,Walikale,cd-nk,territory\n"
    assert _import(session, plain) == ImportResult(created=0, updated=0, unchanged=2)
    assert _coordinates(session, "cd-nk-walikale") == (-1.1, 27.7)


def test_every_demo_place_has_coordinates(session: Session) -> None:
    load_demo_if_empty(session=session)
    places = list(session.scalars(select(Location)))
    assert len(places) == 49
    for place in places:
        assert place.lat is not None, place.code
        assert place.lon is not None, place.code
        # Eastern DRC, Rwanda and Burundi, and the DRC's centre, lie in this box.
        assert -12 < place.lat < 6, place.code
        assert 12 < place.lon < 32, place.code
