"""What the map draws (storage.mapdata): places fall back to the nearest one with
coordinates, test reports and closed lone cases are left out, and signals count by day."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.incidents import group_case
from storage.mapdata import MapFilter, MarkerKind, map_data
from storage.models import Case, Location, Signal, SignalRule, Status


def _where(now: datetime, category: str | None = None) -> MapFilter:
    return MapFilter(now - timedelta(days=7), now + timedelta(days=1), category)


def _place(session: Session, code: str) -> Location:
    return session.scalars(select(Location).where(Location.code == code)).one()


def test_a_site_without_coordinates_is_drawn_at_its_territory(
    session: Session, demo_places: None, make_case: Callable[..., Case], now: datetime
) -> None:
    bisie = _place(session, "cd-nk-walikale-bisie")
    bisie.lat = bisie.lon = None
    make_case(place="cd-nk-walikale-bisie")
    session.flush()
    [marker] = map_data(session=session, where=_where(now)).markers
    assert marker.kind == MarkerKind.CASES
    assert marker.place is not None
    assert (marker.place.code, marker.place.lat, marker.place.lon) == ("cd-nk-walikale", -1.1, 27.7)


def test_a_place_with_no_coordinates_anywhere_above_has_no_spot(
    session: Session, demo_places: None, make_case: Callable[..., Case], now: datetime
) -> None:
    for location in session.scalars(select(Location)):
        location.lat = location.lon = None
    make_case(place="cd-nk-walikale-bisie")
    session.flush()
    data = map_data(session=session, where=_where(now))
    assert [marker.place for marker in data.markers] == [None]
    assert data.sites == []


def test_test_reports_and_closed_lone_cases_are_left_out(
    session: Session, demo_places: None, make_case: Callable[..., Case], now: datetime
) -> None:
    make_case().is_test = True
    make_case(category="accident").status = Status.CLOSED
    session.flush()
    assert map_data(session=session, where=_where(now)).markers == []


def test_an_incident_counts_all_its_cases_and_lone_cases_pile_by_place(
    session: Session, demo_places: None, make_case: Callable[..., Case], now: datetime
) -> None:
    earlier = now - timedelta(minutes=10)
    first = make_case(place="cd-nk-walikale-bisie", category="accident", at=earlier)
    second = make_case(place="cd-nk-walikale-bisie", category="accident", at=now)
    make_case(place="cd-sk-uvira-lemera", at=now)
    make_case(place="cd-sk-uvira-lemera", at=now)
    session.flush()
    group_case(session=session, case=first, now=earlier)
    group_case(session=session, case=second, now=now)
    markers = {m.kind: m for m in map_data(session=session, where=_where(now)).markers}
    assert markers[MarkerKind.INCIDENT].count == 2
    assert markers[MarkerKind.INCIDENT].first == first.number
    assert markers[MarkerKind.CASES].count == 2
    only_tax = map_data(session=session, where=_where(now, "illegal_tax")).markers
    assert [marker.kind for marker in only_tax] == [MarkerKind.CASES]


def test_signals_count_by_their_day_and_closed_ones_are_left_out(
    session: Session, demo_places: None, now: datetime
) -> None:
    walikale = _place(session, "cd-nk-walikale")
    for key, days, status in (("a", 1, "open"), ("b", 30, "open"), ("c", 1, "closed")):
        session.add(
            Signal(
                key=key,
                rule=SignalRule.ABSOLUTE,
                category="sexual_violence",
                territory_id=walikale.id,
                day=(now - timedelta(days=days)).date(),
                count=1,
                status=status,
                raised_at=now,
            )
        )
    session.flush()
    [marker] = map_data(session=session, where=_where(now)).markers
    assert marker.kind == MarkerKind.SIGNAL
    assert marker.place is not None
    assert marker.place.code == "cd-nk-walikale"
