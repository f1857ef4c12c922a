"""Routing table: which committee inboxes a case lands in, and that it lands there once."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.assignments import assign
from storage.committees import import_committees_yaml
from storage.models import Case, CaseAssignment, CaseEvent, Committee
from storage.privacy import Crypto
from storage.routing import RoutingResult, route_case, triage_cases


def committee(code: str, level: str, location: str, categories: str = "all", phone: int = 0) -> str:
    return f"""\
- code: {code}
  name: {code}
  level: {level}
  location: {location}
  categories: {categories}
  language: sw
  timezone: Africa/Lubumbashi
  digest_at: "18:00"
  members:
    - {{name: Focal point, phone: "+243 81 000 {phone:04d}"}}
"""


# Walikale has a site committee (Bisie) and a territory one; Masisi has none. South Kivu's
# local committee takes two categories and its provincial one only violence. Rwanda's
# national committee takes only mineral fraud; Burundi has no committee at all.
COMMITTEES = "".join(
    [
        committee("bisie-local", "local", "cd-nk-walikale-bisie", phone=1),
        committee("walikale-local", "local", "cd-nk-walikale", phone=2),
        committee("nk-provincial", "provincial", "cd-nk", phone=3),
        committee("kalehe-local", "local", "cd-sk-kalehe", "[ohs_hazard, illegal_tax]", 4),
        committee("sk-provincial", "provincial", "cd-sk", "[violence]", phone=5),
        committee("cd-national", "national", "cd", phone=6),
        committee("rw-national", "national", "rw", "[mineral_fraud]", phone=7),
        committee("inactive-local", "local", "cd-mn-pangi", phone=8),
    ]
)
MakeCase = Callable[..., Case]


@pytest.fixture
def committees(session: Session, crypto: Crypto, demo_places: None, now: datetime) -> None:
    import_committees_yaml(session=session, crypto=crypto, source=io.StringIO(COMMITTEES), now=now)
    pangi = session.scalar(select(Committee).where(Committee.code == "inactive-local"))
    assert pangi is not None
    pangi.active = False
    session.flush()


def _codes(result: RoutingResult) -> list[tuple[str, str]]:
    return [(a.committee_code, a.reason) for a in result.assignments]


def _route(session: Session, case: Case, now: datetime) -> RoutingResult:
    return route_case(session=session, case_id=case.id, now=now)


ROUTING_TABLE = [
    # deepest committee containing the place
    ("cd-nk-walikale-bisie", "illegal_tax", "no", [("bisie-local", "routed")]),
    ("cd-nk-walikale-mpama", "illegal_tax", "no", [("walikale-local", "routed")]),
    # no local committee: climb to the province
    ("cd-nk-masisi-rubaya", "mineral_fraud", "no", [("nk-provincial", "routed")]),
    # high and critical are copied up to the next level, skipping a committee of the same level
    (
        "cd-nk-walikale-bisie",
        "accident",
        "no",
        [("bisie-local", "routed"), ("nk-provincial", "copied_up")],
    ),
    (
        "cd-nk-masisi-rubaya",
        "other",
        "yes",
        [("nk-provincial", "routed"), ("cd-national", "copied_up")],
    ),
    # category filter: the local committee takes illegal taxes, not child labour
    ("cd-sk-kalehe-numbi", "illegal_tax", "no", [("kalehe-local", "routed")]),
    ("cd-sk-kalehe-numbi", "child_labour", "no", [("cd-national", "routed")]),
    # violence climbs past the local committee to the provincial one; copy-up to national
    (
        "cd-sk-kalehe-numbi",
        "violence",
        "no",
        [("sk-provincial", "routed"), ("cd-national", "copied_up")],
    ),
    # the copy goes to the next committee up that takes the category
    (
        "cd-sk-kalehe-numbi",
        "ohs_hazard",
        "yes",
        [("kalehe-local", "routed"), ("cd-national", "copied_up")],
    ),
    # an inactive committee is passed over
    ("cd-mn-pangi-kalima", "illegal_tax", "no", [("cd-national", "routed")]),
    # nobody takes it: the national committee of the country, whatever it takes
    ("rw-north-rulindo-rutongo", "accident", "no", [("rw-national", "national_fallback")]),
    ("rw-west-ngororero-gatumba", "mineral_fraud", "no", [("rw-national", "routed")]),
    # no committee at all: triage
    ("bi-kirundo-busoni-murehe", "accident", "no", []),
]


@pytest.mark.usefixtures("committees")
@pytest.mark.parametrize(("place", "category", "danger_now", "expected"), ROUTING_TABLE)
def test_routing_table(
    session: Session,
    make_case: MakeCase,
    now: datetime,
    place: str,
    category: str,
    danger_now: str,
    expected: list[tuple[str, str]],
) -> None:
    case = make_case(place=place, category=category, danger_now=danger_now)
    result = _route(session, case, now)
    assert result.changed
    assert _codes(result) == expected
    assert result.triaged == (not expected)
    assert (case.status, case.routed_at) == ("routed", now)


@pytest.mark.usefixtures("committees")
def test_each_step_is_a_case_event(session: Session, make_case: MakeCase, now: datetime) -> None:
    case = make_case(place="cd-nk-walikale-bisie", category="accident")
    _route(session, case, now)
    events = session.scalars(
        select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)
    ).all()
    assert [(e.kind, e.actor, e.data.get("committee")) for e in events] == [
        ("received", "reporter", None),
        ("routed", "system", "bisie-local"),
        ("copied_up", "system", "nk-provincial"),
    ]
    assert events[1].data["reason"] == "routed"


@pytest.mark.usefixtures("committees")
def test_routing_twice_assigns_once(session: Session, make_case: MakeCase, now: datetime) -> None:
    case = make_case(place="cd-nk-walikale-bisie", category="accident")
    first = _route(session, case, now)
    session.commit()
    second = _route(session, case, now + timedelta(minutes=1))
    assert not second.changed
    assert second.assignments == first.assignments
    count = select(func.count()).select_from(CaseAssignment)
    assert session.scalar(count) == 2
    kinds = session.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == case.id)).all()
    assert kinds.count("routed") == 1
    assert case.routed_at == now


@pytest.mark.usefixtures("committees")
def test_an_assignment_is_unique_per_case_and_committee(
    session: Session, make_case: MakeCase, now: datetime
) -> None:
    case = make_case()
    result = _route(session, case, now)
    committee_id = result.assignments[0].committee_id
    assert not assign(
        session=session, case_id=case.id, committee_id=committee_id, reason="routed", now=now
    )
    session.add(
        CaseAssignment(
            case_id=case.id,
            committee_id=committee_id,
            reason="routed",
            assigned_at=now,
            active=True,
        )
    )
    with pytest.raises(IntegrityError):
        session.flush()


@pytest.mark.usefixtures("committees")
def test_a_case_without_a_known_place_goes_to_triage(
    session: Session, make_case: MakeCase, now: datetime
) -> None:
    placeless = make_case(place="", place_text="Near the big river")
    no_committee = make_case(place="bi-kayanza-kabarore-kivuvu")
    routed = make_case()
    for case in (placeless, no_committee, routed):
        _route(session, case, now)
    assert triage_cases(session=session) == [placeless, no_committee]
    reasons = session.scalars(
        select(CaseEvent.data).where(CaseEvent.kind == "triaged").order_by(CaseEvent.id)
    ).all()
    assert reasons == [{"reason": "no_place"}, {"reason": "no_committee"}]
    assert placeless.status == "routed"


def test_routing_a_missing_case_changes_nothing(session: Session, now: datetime) -> None:
    result = route_case(session=session, case_id=999, now=now)
    assert result == RoutingResult(999, changed=False, triaged=False, assignments=())
