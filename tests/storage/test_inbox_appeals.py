"""An appealed case waits for the committee the appeal went to as a routed case waits for
its first: overdue by that committee's acknowledgement deadline counted from the appeal,
passed up when it misses it, listed overdue in its digest, and told to the reporter as a
due date; an acknowledgement after the appeal stops the clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from storage import timelines
from storage.appeals import answer_closing
from storage.cases import acknowledge, close_case, escalate
from storage.committees import committee_by_code
from storage.inbox import awaits_acknowledgement, digest_items, overdue_assignments
from storage.models import Case, Committee
from storage.privacy import Crypto
from storage.routing import route_case
from storage.seed import load_demo_if_empty

MakeCase = Callable[..., Case]
# Deadlines for a medium case (an illegal tax at Mpama, with Walikale's committee).
DEADLINES = {"walikale-local": 60, "north-kivu-provincial": 120, "cd-national": 300}
HOUR = timedelta(hours=1)


@pytest.fixture
def demo(session: Session, crypto: Crypto) -> None:
    assert load_demo_if_empty(session=session, crypto=crypto)
    for code, seconds in DEADLINES.items():
        committee = _committee(session, code)
        committee.ack_deadlines = {**committee.ack_deadlines, "medium": seconds}
    session.flush()


pytestmark = pytest.mark.usefixtures("demo")


def _committee(session: Session, code: str) -> Committee:
    committee = committee_by_code(session=session, code=code)
    assert committee is not None
    return committee


def _closed(session: Session, crypto: Crypto, case: Case, at: datetime) -> None:
    assert close_case(
        session=session,
        crypto=crypto,
        case=case,
        actor="x",
        outcome="resolved",
        note=None,
        now=at,
    )


def _appealed(
    session: Session, crypto: Crypto, make_case: MakeCase, now: datetime
) -> tuple[Case, datetime]:
    """A case routed at `now`, acknowledged by Walikale's committee, closed, and appealed by
    its reporter an hour later (to North Kivu's committee); return it and the appeal's time."""
    case = make_case()
    route_case(session=session, case_id=case.id, now=now)
    local = _committee(session, "walikale-local")
    acknowledge(session=session, case=case, actor="x", committee_id=local.id, now=now)
    _closed(session, crypto, case, now + HOUR)
    appeal = now + 2 * HOUR
    answered = answer_closing(
        session=session,
        case=case,
        pseudonym=case.pseudonym,
        answer="not_solved",
        channel="sms",
        now=appeal,
    )
    assert answered is not None
    assert answered.committee is not None
    assert answered.committee.code == "north-kivu-provincial"
    return case, appeal


def _seconds(seconds: int) -> timedelta:
    return timedelta(seconds=seconds)


@pytest.mark.parametrize("late", [0, 1, 3600])
def test_an_appeal_nobody_acknowledges_is_overdue_from_the_appeal(
    session: Session, crypto: Crypto, make_case: MakeCase, now: datetime, late: int
) -> None:
    case, appeal = _appealed(session, crypto, make_case, now)
    assert case.status == "appealed"
    assert case.acknowledged_at == now  # the first acknowledgement is kept
    assert awaits_acknowledgement(case)
    due_at = appeal + _seconds(DEADLINES["north-kivu-provincial"])
    assert overdue_assignments(session=session, now=due_at - _seconds(1)) == []
    [overdue] = overdue_assignments(session=session, now=due_at + _seconds(late))
    province = _committee(session, "north-kivu-provincial")
    assert (overdue.case_id, overdue.committee_id, overdue.due_at) == (case.id, province.id, due_at)


def test_a_missed_appeal_climbs_on_with_its_own_deadlines(
    session: Session, crypto: Crypto, make_case: MakeCase, now: datetime
) -> None:
    case, appeal = _appealed(session, crypto, make_case, now)
    at = appeal + _seconds(DEADLINES["north-kivu-provincial"])
    target = escalate(session=session, case=case, actor="system", now=at, reason="overdue")
    assert target is not None
    assert target.code == "cd-national"
    assert overdue_assignments(session=session, now=at) == []
    national_due = at + _seconds(DEADLINES["cd-national"])
    assert overdue_assignments(session=session, now=national_due - _seconds(1)) == []
    [overdue] = overdue_assignments(session=session, now=national_due)
    assert (overdue.committee_id, overdue.due_at) == (target.id, national_due)
    assert timelines.status_timeline(session=session, case=case) == {"passed_up": target.name}


def test_an_acknowledgement_after_the_appeal_stops_the_clock(
    session: Session, crypto: Crypto, make_case: MakeCase, now: datetime
) -> None:
    case, appeal = _appealed(session, crypto, make_case, now)
    province = _committee(session, "north-kivu-provincial")
    acknowledged = acknowledge(
        session=session, case=case, actor="x", committee_id=province.id, now=appeal + _seconds(5)
    )
    assert acknowledged
    assert case.status == "acknowledged"
    assert not awaits_acknowledgement(case)
    assert overdue_assignments(session=session, now=appeal + timedelta(days=30)) == []
    assert timelines.status_timeline(session=session, case=case) == {}


def test_the_reporter_is_told_the_due_date_of_the_appeal(
    session: Session, crypto: Crypto, make_case: MakeCase, now: datetime
) -> None:
    case, appeal = _appealed(session, crypto, make_case, now)
    province = _committee(session, "north-kivu-provincial")
    due_at = appeal + _seconds(DEADLINES["north-kivu-provincial"])
    local = due_at.astimezone(ZoneInfo(province.timezone))
    assert timelines.status_timeline(session=session, case=case) == {
        "due": local.strftime("%d/%m %H:%M")
    }


def test_the_digest_lists_a_late_appeal_as_overdue(
    session: Session, crypto: Crypto, make_case: MakeCase, now: datetime
) -> None:
    case, appeal = _appealed(session, crypto, make_case, now)
    province = _committee(session, "north-kivu-provincial")
    due_at = appeal + _seconds(DEADLINES["north-kivu-provincial"])

    def groups(at: datetime) -> tuple[list[str], list[str]]:
        items = digest_items(session=session, committee_id=province.id, since=appeal, now=at)
        return [line.number for line in items.new], [line.number for line in items.overdue]

    assert groups(due_at - _seconds(1)) == ([case.number], [])
    assert groups(due_at) == ([], [case.number])


def test_a_second_appeal_is_due_by_the_national_committee_s_deadline(
    session: Session, crypto: Crypto, make_case: MakeCase, now: datetime
) -> None:
    case, appeal = _appealed(session, crypto, make_case, now)
    province = _committee(session, "north-kivu-provincial")
    acknowledge(session=session, case=case, actor="x", committee_id=province.id, now=appeal)
    _closed(session, crypto, case, appeal + HOUR)
    second = appeal + 2 * HOUR
    answered = answer_closing(
        session=session,
        case=case,
        pseudonym=case.pseudonym,
        answer="not_solved",
        channel="ussd",
        now=second,
    )
    assert answered is not None
    assert answered.committee is not None
    national = answered.committee
    assert national.code == "cd-national"
    due_at = second + _seconds(DEADLINES["cd-national"])
    assert overdue_assignments(session=session, now=due_at - _seconds(1)) == []
    [overdue] = overdue_assignments(session=session, now=due_at)
    assert (overdue.committee_id, overdue.due_at) == (national.id, due_at)
