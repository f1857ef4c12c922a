"""What focal points and admins do to a case: permissions, acknowledge, notes, messages,
close, escalate, reassign, erase the reporter's contact."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from storage.assignments import active_assignments
from storage.cases import (
    InvalidAction,
    acknowledge,
    acting_member,
    add_note,
    close_case,
    erase_contact,
    escalate,
    member_actor,
    member_may_act,
    message_reporter,
    reassign,
    reporter_contact,
    set_in_progress,
    status_view,
)
from storage.committees import committee_by_code
from storage.inbox import overdue_assignments
from storage.models import Case, CaseEvent, Committee, CommitteeMember
from storage.privacy import Crypto
from storage.routing import route_case, triage_cases
from storage.seed import load_demo_if_empty

MakeCase = Callable[..., Case]
REPORTER = "+243990000042"
# Demo committee members (storage/seed/committees.yaml).
WALIKALE = "+243810000001"
NORTH_KIVU = "+243810000101"
DRC_NATIONAL = "+243810000201"
UVIRA = "+243810000004"
SOUTH_KIVU = "+243810000102"
RWANDA = "+250780000201"


@pytest.fixture
def demo(session: Session, crypto: Crypto) -> None:
    assert load_demo_if_empty(session=session, crypto=crypto)
    session.flush()


def _member(session: Session, phone: str) -> CommitteeMember:
    member = session.scalar(select(CommitteeMember).where(CommitteeMember.phone == phone))
    assert member is not None
    return member


def _committee(session: Session, code: str) -> Committee:
    committee = committee_by_code(session=session, code=code)
    assert committee is not None
    return committee


def _routed(session: Session, make_case: MakeCase, now: datetime, **answers: str) -> Case:
    case = make_case(**answers)
    route_case(session=session, case_id=case.id, now=now)
    return case


def _kinds(session: Session, case: Case) -> list[str]:
    query = select(CaseEvent.kind).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)
    return list(session.scalars(query))


pytestmark = pytest.mark.usefixtures("demo")


@pytest.mark.parametrize(
    ("phone", "allowed"),
    [
        (WALIKALE, True),  # member of the assigned committee
        (NORTH_KIVU, True),  # provincial committee above it
        (DRC_NATIONAL, True),  # national committee above it
        (UVIRA, False),  # another local committee
        (SOUTH_KIVU, False),  # a provincial committee over another province
        (RWANDA, False),  # another country
    ],
)
def test_only_assigned_or_higher_committees_may_act(
    session: Session, make_case: MakeCase, now: datetime, phone: str, allowed: bool
) -> None:
    case = _routed(session, make_case, now, place="cd-nk-walikale-mpama")
    assert member_may_act(session=session, member=_member(session, phone), case=case) is allowed


def test_a_stranger_or_an_inactive_member_may_not_act(
    session: Session, crypto: Crypto, make_case: MakeCase, now: datetime
) -> None:
    case = _routed(session, make_case, now, place="cd-nk-walikale-mpama")
    stranger = crypto.pseudonym("+243970009999")
    assert acting_member(session=session, pseudonym=stranger, case=case) is None
    member = _member(session, WALIKALE)
    assert acting_member(session=session, pseudonym=member.phone_pseudonym, case=case) == member
    member.active = False
    assert not member_may_act(session=session, member=member, case=case)
    assert acting_member(session=session, pseudonym=member.phone_pseudonym, case=case) is None


def test_a_triaged_case_is_for_admins_only(
    session: Session, make_case: MakeCase, now: datetime
) -> None:
    case = _routed(session, make_case, now, place="", place_text="Somewhere")
    for phone in (WALIKALE, DRC_NATIONAL):
        assert not member_may_act(session=session, member=_member(session, phone), case=case)


def test_acknowledge_once(session: Session, make_case: MakeCase, now: datetime) -> None:
    case = _routed(session, make_case, now)
    member = _member(session, WALIKALE)
    later = now + timedelta(minutes=5)
    assert acknowledge(
        session=session,
        case=case,
        actor=member_actor(member),
        committee_id=member.committee_id,
        now=later,
    )
    assert (case.status, case.acknowledged_at) == ("acknowledged", later)
    [assignment] = active_assignments(session=session, case_id=case.id)
    assert assignment.acknowledged_at == later
    assert not acknowledge(
        session=session, case=case, actor="user:ana", committee_id=None, now=later
    )
    event = session.scalar(select(CaseEvent).where(CaseEvent.kind == "acknowledged"))
    assert event is not None
    assert (event.actor, event.data) == (f"member:{member.id}", {"committee": "walikale-local"})


def test_notes_and_messages_are_encrypted_and_the_reporter_sees_the_message(
    session: Session, crypto: Crypto, make_case: MakeCase, now: datetime
) -> None:
    case = _routed(session, make_case, now)
    add_note(
        session=session, crypto=crypto, case=case, actor="member:1", text="Soldiers seen", now=now
    )
    message_reporter(
        session=session,
        crypto=crypto,
        case=case,
        actor="member:1",
        text="We visit the site tomorrow",
        now=now + timedelta(minutes=1),
    )
    session.commit()
    bodies = session.execute(text("SELECT body_enc FROM case_events WHERE body_enc IS NOT NULL"))
    assert all(b"Soldiers" not in bytes(row[0]) for row in bodies)
    view = status_view(session=session, crypto=crypto, case=case)
    assert view.message == "We visit the site tomorrow"
    with pytest.raises(InvalidAction):
        add_note(session=session, crypto=crypto, case=case, actor="member:1", text="  ", now=now)


def test_close_then_erase_the_contact(
    session: Session, crypto: Crypto, make_case: MakeCase, now: datetime
) -> None:
    case = _routed(session, make_case, now, contact=REPORTER)
    assert reporter_contact(crypto=crypto, case=case) == REPORTER
    with pytest.raises(InvalidAction):
        close_case(
            session=session,
            crypto=crypto,
            case=case,
            actor="member:1",
            outcome="solved",
            note=None,
            now=now,
        )
    assert close_case(
        session=session,
        crypto=crypto,
        case=case,
        actor="member:1",
        outcome="resolved",
        note="Barrier removed",
        now=now,
    )
    assert (case.status, case.outcome, case.closed_at) == ("closed", "resolved", now)
    assert not close_case(
        session=session,
        crypto=crypto,
        case=case,
        actor="member:1",
        outcome="duplicate",
        note=None,
        now=now,
    )
    assert erase_contact(session=session, case=case, now=now)
    assert not erase_contact(session=session, case=case, now=now)
    assert reporter_contact(crypto=crypto, case=case) is None
    assert _kinds(session, case)[-2:] == ["closed", "contact_erased"]
    assert not acknowledge(session=session, case=case, actor="x", committee_id=None, now=now)
    assert not set_in_progress(session=session, case=case, actor="x", now=now)


def test_in_progress_acknowledges_too(session: Session, make_case: MakeCase, now: datetime) -> None:
    case = _routed(session, make_case, now)
    assert set_in_progress(session=session, case=case, actor="user:ana", now=now)
    assert (case.status, case.acknowledged_at) == ("in_progress", now)
    assert not set_in_progress(session=session, case=case, actor="user:ana", now=now)


def test_unacknowledged_cases_escalate_level_by_level(
    session: Session, make_case: MakeCase, now: datetime
) -> None:
    """Short deadlines: local 60 s, provincial 120 s, national 300 s for a medium case."""
    for code, seconds in (
        ("walikale-local", 60),
        ("north-kivu-provincial", 120),
        ("cd-national", 300),
    ):
        committee = _committee(session, code)
        committee.ack_deadlines = {**committee.ack_deadlines, "medium": seconds}
    case = _routed(session, make_case, now)  # illegal tax at Mpama: medium
    session.flush()
    assert overdue_assignments(session=session, now=now + timedelta(seconds=59)) == []
    at = now + timedelta(seconds=61)
    path = []
    # After each escalation the new committee's own deadline runs from then.
    for next_deadline in (120, 300, None):
        [overdue] = overdue_assignments(session=session, now=at)
        assert overdue.case_id == case.id
        target = escalate(session=session, case=case, actor="system", now=at, reason="overdue")
        path.append(target and target.code)
        assert overdue_assignments(session=session, now=at) == []
        if next_deadline is not None:
            assert (
                overdue_assignments(session=session, now=at + timedelta(seconds=next_deadline - 1))
                == []
            )
            at += timedelta(seconds=next_deadline)
    assert overdue_assignments(session=session, now=at + timedelta(days=30)) == []
    assert path == ["north-kivu-provincial", "cd-national", None]
    data = session.scalars(select(CaseEvent.data).where(CaseEvent.kind == "escalated")).all()
    assert [d["to"] for d in data] == ["north-kivu-provincial", "cd-national", None]
    assert [d["from"] for d in data] == ["walikale-local", "north-kivu-provincial", "cd-national"]
    assert (
        escalate(session=session, case=case, actor="member:1", now=at, reason="requested") is None
    )


def test_acknowledged_and_closed_cases_are_not_overdue(
    session: Session, crypto: Crypto, make_case: MakeCase, now: datetime
) -> None:
    acknowledged = _routed(session, make_case, now)
    closed = _routed(session, make_case, now)
    acknowledge(session=session, case=acknowledged, actor="x", committee_id=None, now=now)
    close_case(
        session=session,
        crypto=crypto,
        case=closed,
        actor="x",
        outcome="unfounded",
        note=None,
        now=now,
    )
    assert overdue_assignments(session=session, now=now + timedelta(days=30)) == []


def test_a_copied_case_escalates_on_its_highest_committee_deadline(
    session: Session, make_case: MakeCase, now: datetime
) -> None:
    case = _routed(session, make_case, now, category="accident")  # high: copied to provincial
    # The local committee's 24 h have passed, the provincial one's 48 h have not.
    assert overdue_assignments(session=session, now=now + timedelta(hours=25)) == []
    [overdue] = overdue_assignments(session=session, now=now + timedelta(days=3))
    assert overdue.committee_id == _committee(session, "north-kivu-provincial").id
    target = escalate(session=session, case=case, actor="system", now=now, reason="overdue")
    assert target is not None
    assert target.code == "cd-national"
    assert [a.escalated_at for a in active_assignments(session=session, case_id=case.id)] == [
        now,
        now,
        None,
    ]


def test_reassign_takes_a_case_out_of_triage(
    session: Session, make_case: MakeCase, now: datetime
) -> None:
    case = _routed(session, make_case, now, place="", place_text="Somewhere")
    assert triage_cases(session=session) == [case]
    national = _committee(session, "cd-national")
    assert (
        reassign(session=session, case=case, actor="user:ana", committee_id=national.id, now=now)
        == national
    )
    assert triage_cases(session=session) == []
    assert member_may_act(session=session, member=_member(session, DRC_NATIONAL), case=case)
    walikale = _committee(session, "walikale-local")
    reassign(session=session, case=case, actor="user:ana", committee_id=walikale.id, now=now)
    assert [a.committee_id for a in active_assignments(session=session, case_id=case.id)] == [
        walikale.id
    ]
    assert _kinds(session, case)[-2:] == ["reassigned", "reassigned"]
    with pytest.raises(InvalidAction):
        reassign(session=session, case=case, actor="user:ana", committee_id=999, now=now)
