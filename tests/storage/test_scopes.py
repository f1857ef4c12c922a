"""Scopes as SQL (`storage.casequery.scope_clause`): a place scope is the place and
everything under it, a committee scope the cases its committees hold (a copied-up case in
both committees' scopes, a reassigned one only in the new holder's), and work-queue
deadlines by stage (`storage.queues`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage.casequery import CaseFilter, count_cases, in_scope
from storage.models import Case, CaseAssignment, Committee, Location
from storage.privacy import Crypto
from storage.queues import Stage, deadlines
from storage.routing import route_case
from storage.seed import load_demo_if_empty
from storage.users import EVERYTHING, Scope


@pytest.fixture
def routed(session: Session, crypto: Crypto, make_case: Callable[..., Case]) -> Callable[..., Case]:
    load_demo_if_empty(session=session, crypto=crypto)
    session.flush()

    def make(**kwargs: object) -> Case:
        case = make_case(**kwargs)
        route_case(session=session, case_id=case.id, now=case.created_at)
        session.flush()
        return case

    return make


def _place(session: Session, code: str) -> Scope:
    path = session.scalar(select(Location.path).where(Location.code == code))
    assert path is not None
    return Scope(place_path=path, label=code)


def _committees(session: Session, *codes: str) -> Scope:
    ids = session.scalars(select(Committee.id).where(Committee.code.in_(codes)))
    return Scope(committee_ids=frozenset(ids), label=", ".join(codes))


def _count(session: Session, scope: Scope) -> int:
    return count_cases(session=session, where=CaseFilter(scope=scope))


def test_a_place_scope_is_the_place_and_everything_under_it(
    session: Session, routed: Callable[..., Case]
) -> None:
    north = routed(place="cd-nk-walikale-mpama")
    routed(place="cd-sk-uvira-lemera")
    assert _count(session, EVERYTHING) == 2
    assert _count(session, _place(session, "cd-nk")) == 1
    assert _count(session, _place(session, "cd-nk-walikale")) == 1
    assert _count(session, _place(session, "cd")) == 2
    assert _count(session, _place(session, "rw")) == 0
    assert in_scope(session=session, scope=_place(session, "cd-nk"), number=north.number)
    assert not in_scope(session=session, scope=_place(session, "cd-sk"), number=north.number)


def test_a_copied_up_case_is_in_both_committees_scopes_a_reassigned_one_leaves(
    session: Session, routed: Callable[..., Case]
) -> None:
    critical = routed(place="cd-nk-walikale-mpama", category="violence", danger_now="yes")
    held = set(
        session.scalars(
            select(Committee.code)
            .join(CaseAssignment, CaseAssignment.committee_id == Committee.id)
            .where(CaseAssignment.case_id == critical.id, CaseAssignment.active.is_(True))
        )
    )
    assert {"walikale-local", "north-kivu-provincial"} <= held
    for code in held:
        assert _count(session, _committees(session, code)) == 1
    assert _count(session, _committees(session, "uvira-local")) == 0
    session.execute(
        update(CaseAssignment).where(CaseAssignment.case_id == critical.id).values(active=False)
    )
    assert _count(session, _committees(session, "walikale-local")) == 0


def test_deadlines_follow_the_stage(
    session: Session, routed: Callable[..., Case], now: datetime
) -> None:
    case = routed(place="cd-nk-walikale-mpama")
    [due] = deadlines(session=session, conditions=[Case.id == case.id]).values()
    assert due.stage == Stage.ACKNOWLEDGE
    assert due.at > now
    case.acknowledged_at = now + timedelta(hours=1)
    session.flush()
    [due] = deadlines(session=session, conditions=[Case.id == case.id]).values()
    assert due.stage == Stage.FIRST_ACTION
