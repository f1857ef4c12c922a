"""The grouping rule: reports of one category at one site (or one territory when no site
was named) within the window are linked into one incident; a person's LINK, confirm and
UNLINK, each with its case event."""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from storage import incidents
from storage.cases import SYSTEM, close_case, create_report
from storage.committees import import_committees_yaml
from storage.incidents import LinkRefused
from storage.models import Case, CaseEvent, Committee, EventKind, LinkState
from storage.privacy import Crypto
from storage.routing import route_case
from tests.storage.conftest import REPORTER_PHONE

BISIE, MPAMA, WALIKALE, NORTH_KIVU = (
    "cd-nk-walikale-bisie",
    "cd-nk-walikale-mpama",
    "cd-nk-walikale",
    "cd-nk",
)
PERSON = "user:coordinator"

pytestmark = pytest.mark.usefixtures("demo_places")


def _group(session: Session, case: Case, hours: int = 72) -> incidents.Grouped | None:
    return incidents.group_case(
        session=session, case=case, now=case.created_at, window=timedelta(hours=hours)
    )


def _events(session: Session, case: Case, kind: EventKind) -> list[CaseEvent]:
    query = select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.kind == kind)
    return list(session.scalars(query.order_by(CaseEvent.id)))


@pytest.fixture
def accident(make_case: Callable[..., Case], now: datetime) -> Callable[..., Case]:
    """An accident report at Bisie, `hours` after the first."""

    def make(hours: float = 0, place: str = BISIE, category: str = "accident") -> Case:
        return make_case(place=place, category=category, at=now + timedelta(hours=hours))

    return make


def test_same_site_and_category_within_the_window_make_one_incident(
    session: Session, accident: Callable[..., Case]
) -> None:
    first, second, third = accident(0), accident(30), accident(100)
    assert _group(session, first) is None
    grouped = _group(session, second)
    assert grouped is not None
    assert grouped.created
    assert grouped.size == 2
    incident = grouped.incident
    assert (incident.number, incident.category, incident.created_by) == (
        first.number,
        "accident",
        SYSTEM,
    )
    assert incident.location is not None
    assert incident.location.code == BISIE
    # The window counts from the incident's latest report (30 h), not from its first.
    later = _group(session, third)
    assert later is not None
    assert later.incident.id == incident.id
    assert later.size == 3
    assert [c.id for c in incidents.cases_of(session, incident.id)] == [
        first.id,
        second.id,
        third.id,
    ]
    assert incidents.incident_of(session, third.id) == incident
    assert incident.last_report_at == third.created_at
    states = {link.state for link in incidents.links_of(session, incident.id)}
    assert states == {LinkState.SUGGESTED}
    linked = _events(session, first, EventKind.LINKED)
    assert [(e.actor, e.data) for e in linked] == [
        (SYSTEM, {"incident": incident.id, "state": "suggested", "with": first.number})
    ]


def test_outside_the_window_another_category_or_another_site_stand_alone(
    session: Session, accident: Callable[..., Case]
) -> None:
    first = accident(0)
    assert _group(session, accident(73)) is None
    assert _group(session, accident(1, category="violence")) is None
    assert _group(session, accident(1, place=MPAMA)) is None
    assert _group(session, accident(1, place=WALIKALE)) is None
    assert incidents.incident_of(session, first.id) is None


def test_the_window_is_a_setting(session: Session, accident: Callable[..., Case]) -> None:
    accident(0)
    assert _group(session, accident(5), hours=4) is None
    assert _group(session, accident(6), hours=4) is not None


def test_territory_cases_group_with_territory_cases_only(
    session: Session, accident: Callable[..., Case]
) -> None:
    """A report naming the territory but no site groups with the other such reports of
    that territory, not with a site's; a province is too wide to group at all."""
    accident(0, place=BISIE)
    territory_first = accident(1, place=WALIKALE)
    assert _group(session, territory_first) is None
    grouped = _group(session, accident(2, place=WALIKALE))
    assert grouped is not None
    assert grouped.incident.number == territory_first.number
    assert grouped.incident.location is not None
    assert grouped.incident.location.code == WALIKALE
    accident(3, place=NORTH_KIVU)
    assert _group(session, accident(4, place=NORTH_KIVU)) is None


def test_a_case_with_no_known_place_is_never_grouped(
    session: Session, make_case: Callable[..., Case]
) -> None:
    make_case(place="", place_text="near the river", category="accident")
    lost = make_case(place="", place_text="near the river", category="accident")
    assert lost.location_id is None
    assert _group(session, lost) is None


def test_closed_cases_are_not_grouped(
    session: Session, crypto: Crypto, accident: Callable[..., Case]
) -> None:
    first = accident(0)
    close_case(
        session=session,
        crypto=crypto,
        case=first,
        actor=PERSON,
        outcome="resolved",
        note=None,
        now=first.created_at,
    )
    assert _group(session, accident(1)) is None


def test_test_cases_group_only_with_test_cases(
    session: Session, crypto: Crypto, accident: Callable[..., Case], now: datetime
) -> None:
    rng = random.Random(7)

    def test_report() -> Case:
        return create_report(
            session=session,
            crypto=crypto,
            pseudonym=crypto.pseudonym(REPORTER_PHONE),
            channel="ussd",
            language="sw",
            answers={
                "category": "accident",
                "place_code": BISIE,
                "when": "today",
                "danger_now": "no",
                "sms_updates": "no",
            },
            contact_e164=None,
            flow_version="v1",
            rng=rng,
            now=now + timedelta(hours=1),
            is_test=True,
        )

    real = accident(0)
    first_test = test_report()
    assert _group(session, first_test) is None
    grouped = _group(session, test_report())
    assert grouped is not None
    assert grouped.incident.number == first_test.number
    assert _group(session, accident(2)) is not None
    assert incidents.incident_of(session, real.id) != grouped.incident
    with pytest.raises(LinkRefused) as refused:
        incidents.link_cases(session=session, first=real, second=first_test, actor=PERSON, now=now)
    assert refused.value.reason == LinkRefused.TEST_AND_REAL


def test_the_incident_with_the_most_recent_report_wins(
    session: Session, accident: Callable[..., Case], now: datetime
) -> None:
    a, b, c, d = accident(0), accident(1), accident(2), accident(3)
    incidents.link_cases(session=session, first=a, second=b, actor=PERSON, now=now)
    incidents.link_cases(session=session, first=c, second=d, actor=PERSON, now=now)
    grouped = _group(session, accident(4))
    assert grouped is not None
    assert grouped.incident.number == c.number


def test_grouping_twice_links_once(session: Session, accident: Callable[..., Case]) -> None:
    accident(0)
    second = accident(1)
    first_run, second_run = _group(session, second), _group(session, second)
    assert first_run is not None
    assert second_run is not None
    assert first_run.incident.id == second_run.incident.id
    assert second_run.size == 2
    assert len(_events(session, second, EventKind.LINKED)) == 1


def test_a_person_links_two_lone_cases_confirmed(
    session: Session, accident: Callable[..., Case], now: datetime
) -> None:
    older, newer = accident(0, place=MPAMA), accident(200)
    linked = incidents.link_cases(session=session, first=newer, second=older, actor=PERSON, now=now)
    assert linked.size == 2
    assert not linked.moved
    assert linked.incident.number == older.number
    assert linked.incident.created_by == PERSON
    links = incidents.links_of(session, linked.incident.id)
    assert [(link.case_id, link.state, link.linked_by) for link in links] == [
        (older.id, LinkState.CONFIRMED, PERSON),
        (newer.id, LinkState.CONFIRMED, PERSON),
    ]


def test_linking_confirms_suggested_links(
    session: Session, accident: Callable[..., Case], now: datetime
) -> None:
    first, second = accident(0), accident(1)
    grouped = _group(session, second)
    assert grouped is not None
    linked = incidents.link_cases(
        session=session, first=first, second=second, actor=PERSON, now=now
    )
    assert linked.incident.id == grouped.incident.id
    assert linked.size == 2
    assert {link.state for link in incidents.links_of(session, linked.incident.id)} == {
        LinkState.CONFIRMED
    }
    assert [e.data["state"] for e in _events(session, second, EventKind.LINKED)] == [
        "suggested",
        "confirmed",
    ]


def test_linking_cases_of_two_incidents_moves_the_second_case_only(
    session: Session, accident: Callable[..., Case], now: datetime
) -> None:
    a, b = accident(0), accident(1)
    c, d = accident(0, place=MPAMA), accident(1, place=MPAMA)
    first = incidents.link_cases(session=session, first=a, second=b, actor=PERSON, now=now)
    other = incidents.link_cases(session=session, first=c, second=d, actor=PERSON, now=now)
    moved = incidents.link_cases(session=session, first=a, second=c, actor=PERSON, now=now)
    assert moved.moved
    assert moved.incident.id == first.incident.id
    assert moved.size == 3
    assert [case.id for case in incidents.cases_of(session, other.incident.id)] == [d.id]
    unlinked = _events(session, c, EventKind.UNLINKED)
    assert [e.data for e in unlinked] == [
        {"incident": other.incident.id, "state": "confirmed", "with": c.number}
    ]


def test_confirm_and_unlink(session: Session, accident: Callable[..., Case], now: datetime) -> None:
    first, second = accident(0), accident(1)
    grouped = _group(session, second)
    assert grouped is not None
    assert incidents.confirm_link(session=session, case=second, actor=PERSON, now=now) is True
    assert incidents.confirm_link(session=session, case=second, actor=PERSON, now=now) is False
    left = incidents.unlink_case(session=session, case=second, actor=PERSON, now=now)
    assert left.id == grouped.incident.id
    assert incidents.incident_of(session, second.id) is None
    assert [c.id for c in incidents.cases_of(session, left.id)] == [first.id]
    assert [(e.actor, e.data) for e in _events(session, second, EventKind.UNLINKED)] == [
        (PERSON, {"incident": left.id, "state": "confirmed", "with": first.number})
    ]
    for refused_call in (incidents.unlink_case, incidents.confirm_link):
        with pytest.raises(LinkRefused) as refused:
            refused_call(session=session, case=second, actor=PERSON, now=now)
        assert refused.value.reason == LinkRefused.NOT_LINKED


def test_an_unlinked_case_is_not_pulled_back_by_the_system(
    session: Session, accident: Callable[..., Case], now: datetime
) -> None:
    first, second = accident(0), accident(1)
    _group(session, second)
    incidents.unlink_case(session=session, case=first, actor=PERSON, now=now)
    incidents.unlink_case(session=session, case=second, actor=PERSON, now=now)
    assert _group(session, accident(2)) is None


def test_a_case_is_not_linked_with_itself(
    session: Session, accident: Callable[..., Case], now: datetime
) -> None:
    case = accident(0)
    with pytest.raises(LinkRefused) as refused:
        incidents.link_cases(session=session, first=case, second=case, actor=PERSON, now=now)
    assert refused.value.reason == LinkRefused.SAME_CASE


def test_a_first_case_that_left_its_incident_does_not_name_a_second_one(
    session: Session, accident: Callable[..., Case], now: datetime
) -> None:
    """An incident keeps its first case's number for good, so a new one takes the other's."""
    first, second, third = accident(0), accident(1), accident(2)
    old = incidents.link_cases(session=session, first=first, second=second, actor=PERSON, now=now)
    incidents.unlink_case(session=session, case=first, actor=PERSON, now=now)
    new = incidents.link_cases(session=session, first=first, second=third, actor=PERSON, now=now)
    assert new.incident.id != old.incident.id
    assert (old.incident.number, new.incident.number) == (first.number, third.number)


def test_open_incidents_of_a_committee(
    session: Session, crypto: Crypto, accident: Callable[..., Case]
) -> None:
    committee = (
        "- code: walikale-local\n  name: Walikale\n  level: local\n"
        "  location: cd-nk-walikale\n  categories: all\n  language: sw\n"
        '  timezone: Africa/Lubumbashi\n  digest_at: "18:00"\n  members:\n'
        '    - {name: Focal point, phone: "+243810000011", language: fr}\n'
    )
    cases = [accident(hours) for hours in (0, 1, 2)]
    import_committees_yaml(
        session=session, crypto=crypto, source=io.StringIO(committee), now=cases[0].created_at
    )
    closed = accident(4)
    for case in [*cases, closed]:
        route_case(session=session, case_id=case.id, now=case.created_at)
        _group(session, case)
    close_case(
        session=session,
        crypto=crypto,
        case=closed,
        actor=PERSON,
        outcome="duplicate",
        note=None,
        now=closed.created_at,
    )
    local = session.scalars(select(Committee)).one()
    [(incident, held)] = incidents.open_incidents(session=session, committee_id=local.id)
    assert incident.number == cases[0].number
    assert [c.id for c in held] == [c.id for c in cases]
