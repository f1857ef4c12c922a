"""Daily digests at local time, once a day, and the committee inbox lists."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.cases import acknowledge, close_case
from storage.committees import committee_by_code, import_committees_yaml
from storage.inbox import (
    CaseLine,
    committees_due_for_digest,
    digest_items,
    digest_local_date,
    last_digest_at,
    mark_digest_sent,
    open_cases_for_member,
)
from storage.models import Case, Committee, CommitteeMember
from storage.privacy import Crypto
from storage.routing import route_case

MakeCase = Callable[..., Case]


def committee(code: str, timezone: str, digest_at: str, phone: int) -> str:
    return f"""\
- code: {code}
  name: {code}
  level: local
  location: cd-nk-walikale
  language: sw
  timezone: {timezone}
  ack_deadlines: {{medium: 1h, high: 30m}}
  digest_at: "{digest_at}"
  members:
    - {{name: Focal point, phone: "+243 81 000 {phone:04d}"}}
"""


COMMITTEES = (
    committee("lubumbashi-time", "Africa/Lubumbashi", "18:00", 1)  # UTC+2
    + committee("kinshasa-time", "Africa/Kinshasa", "18:00", 2)  # UTC+1
    + committee("kiritimati-time", "Pacific/Kiritimati", "08:00", 3)  # UTC+14
)


@pytest.fixture
def committees(session: Session, crypto: Crypto, demo_places: None, now: datetime) -> None:
    import_committees_yaml(session=session, crypto=crypto, source=io.StringIO(COMMITTEES), now=now)


def _ids(session: Session, *codes: str) -> list[int]:
    found = [committee_by_code(session=session, code=code) for code in codes]
    return sorted(committee.id for committee in found if committee is not None)


def _utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


pytestmark = pytest.mark.usefixtures("committees")


@pytest.mark.parametrize(
    ("at", "due"),
    [
        (_utc(26, 15, 59), []),
        (_utc(26, 16, 0), ["lubumbashi-time"]),  # 18:00 in Lubumbashi, 17:00 in Kinshasa
        (_utc(26, 17, 0), ["lubumbashi-time", "kinshasa-time"]),
        (_utc(26, 18, 0), ["lubumbashi-time", "kinshasa-time", "kiritimati-time"]),  # 08:00 +1d
        (_utc(26, 21, 59), ["lubumbashi-time", "kinshasa-time", "kiritimati-time"]),
        (_utc(26, 22, 30), ["kinshasa-time", "kiritimati-time"]),  # 00:30 on the 27th in Lubumbashi
        (_utc(26, 23, 0), ["kiritimati-time"]),  # a new local day in Kinshasa too
    ],
)
def test_digests_fall_due_at_local_time(session: Session, at: datetime, due: list[str]) -> None:
    assert committees_due_for_digest(session=session, now=at) == _ids(session, *due)


def test_a_digest_goes_out_once_per_local_day(session: Session) -> None:
    lubumbashi = committee_by_code(session=session, code="lubumbashi-time")
    kiritimati = committee_by_code(session=session, code="kiritimati-time")
    assert lubumbashi is not None
    assert kiritimati is not None
    at = _utc(26, 18)
    assert digest_local_date(committee=lubumbashi, now=at) == date(2026, 11, 26)
    assert digest_local_date(committee=kiritimati, now=at) == date(2026, 11, 27)
    assert last_digest_at(session=session, committee_id=lubumbashi.id) is None
    assert mark_digest_sent(
        session=session, committee_id=lubumbashi.id, local_date=date(2026, 11, 26), now=at
    )
    assert not mark_digest_sent(
        session=session, committee_id=lubumbashi.id, local_date=date(2026, 11, 26), now=at
    )
    assert mark_digest_sent(
        session=session, committee_id=kiritimati.id, local_date=date(2026, 11, 27), now=at
    )
    assert committees_due_for_digest(session=session, now=at) == _ids(session, "kinshasa-time")
    assert last_digest_at(session=session, committee_id=lubumbashi.id) == at
    # The next local day, at digest time, it is due again.
    assert lubumbashi.id in committees_due_for_digest(session=session, now=_utc(27, 16))


def test_two_schedulers_record_one_digest(engine_sessions: tuple[Session, Session]) -> None:
    first, second = engine_sessions
    committee_id = first.scalars(select(Committee.id)).first()
    assert committee_id is not None
    day, at = date(2026, 11, 26), _utc(26, 18)
    assert mark_digest_sent(session=first, committee_id=committee_id, local_date=day, now=at)
    first.commit()
    assert not mark_digest_sent(session=second, committee_id=committee_id, local_date=day, now=at)


@pytest.fixture
def engine_sessions(
    engine_sessions: tuple[Session, Session], session: Session
) -> tuple[Session, Session]:
    """The two sessions, once the committees imported through `session` are committed."""
    session.commit()
    return engine_sessions


def _case(
    session: Session,
    make_case: MakeCase,
    at: datetime,
    *,
    place: str = "cd-nk-walikale-bisie",
    **answers: str,
) -> Case:
    case = make_case(place=place, at=at, **answers)
    route_case(session=session, case_id=case.id, now=at)
    return case


def test_digest_lists_overdue_new_and_open_cases(
    session: Session, crypto: Crypto, make_case: MakeCase, now: datetime
) -> None:
    for code in ("kinshasa-time", "kiritimati-time"):
        other = committee_by_code(session=session, code=code)
        assert other is not None
        other.active = False
    since = now - timedelta(hours=2)
    overdue = _case(session, make_case, now - timedelta(hours=3))  # medium, 1 h deadline
    acknowledged = _case(session, make_case, now - timedelta(hours=3), place="cd-nk-walikale-omate")
    acknowledge(session=session, case=acknowledged, actor="x", committee_id=None, now=now)
    new_low = _case(session, make_case, now - timedelta(minutes=10), category="other")
    new_high = _case(session, make_case, now - timedelta(minutes=5), category="accident")
    closed = _case(session, make_case, now - timedelta(minutes=1))
    close_case(
        session=session,
        crypto=crypto,
        case=closed,
        actor="x",
        outcome="duplicate",
        note=None,
        now=now,
    )
    committee = committee_by_code(session=session, code="lubumbashi-time")
    assert committee is not None
    items = digest_items(session=session, committee_id=committee.id, since=since, now=now)
    assert [line.number for line in items.overdue] == [overdue.number]
    assert [line.number for line in items.new] == [new_high.number, new_low.number]
    assert items.open == [
        CaseLine(acknowledged.number, "illegal_tax", "medium", "Omate", acknowledged.created_at)
    ]
    member = session.scalar(
        select(CommitteeMember).where(CommitteeMember.committee_id == committee.id)
    )
    assert member is not None
    listed = open_cases_for_member(session=session, member=member, limit=10)
    assert [line.number for line in listed] == [
        new_high.number,
        overdue.number,
        acknowledged.number,
        new_low.number,
    ]
    assert len(open_cases_for_member(session=session, member=member, limit=2)) == 2
