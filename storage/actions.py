"""Actions on a case: recorded, marked done, verified by someone else, or missed.

Like `storage.cases`, each function adds and flushes but never commits, and writes a case
event naming who acted, so the case's history shows every change. An action is due on a
date of its committee's own calendar: `local_date` is that committee's today.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from storage.assignments import is_above
from storage.cases import InvalidAction, add_event
from storage.db import expire_loaded
from storage.models import (
    OPEN_ACTION,
    ActionStatus,
    Case,
    CaseAction,
    Committee,
    CommitteeMember,
    EventKind,
    Status,
)
from storage.privacy import Crypto

MIN_DAYS, MAX_DAYS = 1, 365
MAX_WHAT = 2000
# The day before an action is due, its committee is reminded from this local time on.
REMIND_AT = time(8, 0)
NUMBER_ATTEMPTS = 5
_MEMBER = re.compile(r"member:(\d+)")


class NotVerifiable(ValueError):
    """An action cannot be verified by this person now; `reason` says why.

    `not_done`: it is not marked done; `own`: the person owns it or marked it done;
    `below`: the person's committee is below the action's; `verified`: verified already.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class DueAction:
    """One action to tell a committee about: in a reminder or a digest."""

    action_id: int
    case_number: str
    n: int
    due_on: date
    status: str


def local_date(committee: Committee, now: datetime) -> date:
    """The committee's own date at `now`."""
    return now.astimezone(ZoneInfo(committee.timezone)).date()


def checked_days(days: int) -> int:
    """`days` if it is a due delay an action may have (1 to 365), else InvalidAction."""
    if not MIN_DAYS <= days <= MAX_DAYS:
        raise InvalidAction("days", f"from {MIN_DAYS} to {MAX_DAYS}")
    return days


def _checked_what(what: str) -> str:
    what = what.strip()
    if not what:
        raise InvalidAction("what", "write what will be done")
    if len(what) > MAX_WHAT:
        raise InvalidAction("what", f"at most {MAX_WHAT} characters")
    return what


def _next_n(session: Session, case_id: int) -> int:
    query = select(func.max(CaseAction.n)).where(CaseAction.case_id == case_id)
    return (session.scalar(query) or 0) + 1


def _insert(session: Session, fields: dict[str, Any]) -> CaseAction:
    """Insert under the case's next number; a concurrent action that took it moves this one
    to the number after (the unique (case, n) pair decides)."""
    for _ in range(NUMBER_ATTEMPTS):
        action = CaseAction(n=_next_n(session, fields["case_id"]), **fields)
        try:
            with session.begin_nested():
                session.add(action)
        except IntegrityError:
            continue
        return action
    raise RuntimeError("no free action number")


def add_action(
    *,
    session: Session,
    crypto: Crypto,
    case: Case,
    committee: Committee,
    owner: str,
    actor: str,
    what: str,
    days: int,
    now: datetime,
) -> CaseAction:
    """Record an action of `committee` on an open case, due `days` days from the
    committee's today, owned by `owner`; `what` is kept encrypted."""
    if case.status == Status.CLOSED:
        raise InvalidAction("case", "closed")
    due_on = local_date(committee, now) + timedelta(days=checked_days(days))
    fields: dict[str, Any] = {
        "case_id": case.id,
        "committee_id": committee.id,
        "what_enc": crypto.encrypt(_checked_what(what)),
        "owner": owner,
        "due_on": due_on,
        "status": ActionStatus.PLANNED,
        "created_by": actor,
        "created_at": now,
    }
    action = _insert(session, fields)
    _action_event(session, action, EventKind.ACTION_ADDED, actor, now, due=due_on.isoformat())
    return action


def _action_event(
    session: Session, action: CaseAction, kind: EventKind, actor: str, now: datetime, **data: Any
) -> None:
    details = {"action": action.n, "committee": action.committee.code, **data}
    add_event(session=session, case_id=action.case_id, kind=kind, at=now, actor=actor, data=details)
    action.case.updated_at = now
    session.flush()


def find_action(*, session: Session, case_id: int, n: int) -> CaseAction | None:
    """The case's action number `n`."""
    query = select(CaseAction).where(CaseAction.case_id == case_id, CaseAction.n == n)
    return session.scalar(query)


def actions_of(*, session: Session, case_id: int) -> list[CaseAction]:
    """The case's actions, in the order they were recorded."""
    query = (
        select(CaseAction)
        .options(joinedload(CaseAction.committee))
        .where(CaseAction.case_id == case_id)
        .order_by(CaseAction.n)
    )
    return list(session.scalars(query))


def open_actions(*, session: Session, case_id: int) -> list[CaseAction]:
    """The case's actions not done yet (planned, or missed)."""
    return [a for a in actions_of(session=session, case_id=case_id) if a.status in OPEN_ACTION]


def what(*, crypto: Crypto, action: CaseAction) -> str:
    """What the action is, decrypted."""
    return crypto.decrypt(action.what_enc)


def mark_done(*, session: Session, action: CaseAction, actor: str, now: datetime) -> bool:
    """Mark an action done (a missed one too, late); False when it was done already."""
    if action.status not in OPEN_ACTION:
        return False
    late = action.status == ActionStatus.MISSED
    action.status, action.done_by, action.done_at = ActionStatus.DONE, actor, now
    _action_event(session, action, EventKind.ACTION_DONE, actor, now, late=late or None)
    return True


def _person(session: Session, actor: str) -> str:
    """Who an actor string is: a member by phone (one official sits on several committees)."""
    found = _MEMBER.fullmatch(actor)
    if found is None:
        return actor
    member = session.get(CommitteeMember, int(found[1]))
    return actor if member is None else "phone:" + member.phone_pseudonym


def same_person(*, session: Session, first: str | None, second: str) -> bool:
    """Tell whether two actor strings name the same person."""
    return first is not None and _person(session, first) == _person(session, second)


def verify(
    *,
    session: Session,
    action: CaseAction,
    actor: str,
    now: datetime,
    committee: Committee | None = None,
) -> bool:
    """Verify a done action as `actor`, a member of `committee` (None: a console user).

    Only someone who neither owns it nor marked it done, of its committee or one above.
    Return False when it was verified already by someone else; NotVerifiable otherwise.
    """
    if action.status == ActionStatus.VERIFIED:
        return False
    if action.status != ActionStatus.DONE:
        raise NotVerifiable("not_done")
    if committee is not None and not (
        committee.id == action.committee_id or is_above(committee, action.committee)
    ):
        raise NotVerifiable("below")
    if any(same_person(session=session, first=who, second=actor) for who in _doers(action)):
        raise NotVerifiable("own")
    action.status, action.verified_by, action.verified_at = ActionStatus.VERIFIED, actor, now
    _action_event(session, action, EventKind.ACTION_VERIFIED, actor, now)
    return True


def _doers(action: CaseAction) -> tuple[str | None, ...]:
    return (action.owner, action.done_by)


def _claim(session: Session, action_id: int, values: dict[str, Any]) -> CaseAction | None:
    """Set `values` on a planned action whose `*_at` among them are unset; one run wins."""
    where = [CaseAction.id == action_id, CaseAction.status == ActionStatus.PLANNED]
    where += [getattr(CaseAction, name).is_(None) for name in values if name.endswith("_at")]
    claim = (
        update(CaseAction)
        .where(*where)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if cast(CursorResult[Any], session.execute(claim)).rowcount != 1:
        return None
    expire_loaded(session, CaseAction)
    return session.get(CaseAction, action_id)


def _open_with_committee(session: Session, statuses: set[str]) -> list[tuple[CaseAction, Case]]:
    query = (
        select(CaseAction, Case)
        .join(Case, CaseAction.case_id == Case.id)
        .options(joinedload(CaseAction.committee))
        .where(CaseAction.status.in_(statuses), Case.status != Status.CLOSED)
        .order_by(CaseAction.due_on, CaseAction.id)
    )
    return [(action, case) for action, case in session.execute(query)]


def _remind_now(action: CaseAction, now: datetime) -> bool:
    """The day before it is due, from REMIND_AT local time; an action recorded on that day
    or later is not reminded (whoever recorded it knows)."""
    zone = ZoneInfo(action.committee.timezone)
    eve = action.due_on - timedelta(days=1)
    local = now.astimezone(zone)
    recorded_on = action.created_at.astimezone(zone).date()
    return local.date() == eve and local.time() >= REMIND_AT and recorded_on < eve


def actions_to_remind(*, session: Session, now: datetime) -> list[int]:
    """Ids of planned actions whose committee is to be reminded now, not reminded yet."""
    found = _open_with_committee(session, {ActionStatus.PLANNED})
    return [a.id for a, _ in found if a.reminded_at is None and _remind_now(a, now)]


def claim_reminder(*, session: Session, action_id: int, now: datetime) -> CaseAction | None:
    """Record that the committee is reminded of an action now; None if another run did."""
    return _claim(session, action_id, {"reminded_at": now})


def actions_missed(*, session: Session, now: datetime) -> list[int]:
    """Ids of planned actions of open cases whose due date has ended in their committee's
    calendar."""
    found = _open_with_committee(session, {ActionStatus.PLANNED})
    return [a.id for a, _ in found if local_date(a.committee, now) > a.due_on]


def mark_missed(*, session: Session, action_id: int, now: datetime) -> CaseAction | None:
    """Mark an action missed, with its case event; None if it was done or marked already."""
    action = _claim(session, action_id, {"status": ActionStatus.MISSED, "missed_at": now})
    if action is not None:
        _action_event(session, action, EventKind.ACTION_MISSED, "system", now)
    return action


def due_for_committee(*, session: Session, committee: Committee, now: datetime) -> list[DueAction]:
    """A committee's actions not done, due by its tomorrow (missed ones too), soonest first."""
    tomorrow = local_date(committee, now) + timedelta(days=1)
    query = (
        select(CaseAction, Case.number)
        .join(Case, CaseAction.case_id == Case.id)
        .where(
            CaseAction.committee_id == committee.id,
            CaseAction.status.in_(OPEN_ACTION),
            CaseAction.due_on <= tomorrow,
            Case.status != Status.CLOSED,
        )
        .order_by(CaseAction.due_on, CaseAction.id)
    )
    return [
        DueAction(action.id, number, action.n, action.due_on, action.status)
        for action, number in session.execute(query)
    ]
