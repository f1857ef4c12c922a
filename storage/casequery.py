"""Finding cases for the console, the API and exports: filters, search, ordering, pages,
and the viewer's scope.

`scope_clause` is the one SQL condition of a user's scope on cases: every list, count,
chart, export and case page of the console and the API adds it. A case is in a committee
scope when one of those committees holds it (an active assignment): a case copied up to
a provincial or national committee is in the scope of the committee it was copied up to
and in that of the committee it came from, since both hold it. A case reassigned away is
in the scope of the committee that holds it now only. A case is in a place scope when its
place is that place or under it (one prefix match on `Location.path`); a case without a
place is in no place scope.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Select, case, exists, false, func, or_, select
from sqlalchemy.orm import Session, aliased, selectinload

from storage import queues
from storage.models import (
    OPEN_ACTION,
    Case,
    CaseAction,
    CaseAssignment,
    Committee,
    CommitteeMember,
    Incident,
    IncidentCase,
    Level,
    Location,
    Signal,
    Status,
)
from storage.users import Scope

_SEPARATORS = re.compile(r"[\s.\-_/]+")
NUMBER_DIGITS = 10


class InvalidSearch(ValueError):
    """A search that cannot be part of a case number (letters, more than ten digits)."""


def number_prefix(typed: str) -> str | None:
    """Return the digits of a typed (part of a) case number; None for an empty search.

    Spaces, dashes, dots, slashes and underscores between digits are ignored, so
    "482-177-3506", "482 177 3506" and "4821773506" all find the same case, and "482-17"
    finds every case whose number starts with those digits.
    """
    digits = _SEPARATORS.sub("", typed)
    if not digits:
        return None
    if not digits.isascii() or not digits.isdigit() or len(digits) > NUMBER_DIGITS:
        raise InvalidSearch("a case number has ten digits, with or without dashes")
    return digits


@dataclass(frozen=True, slots=True)
class CaseFilter:
    """Every field left None matches all cases; dates are inclusive bounds on `created_at`.

    `number` is the start of a case number (all ten digits for one case).
    """

    status: str | None = None
    category: str | None = None
    severity: str | None = None
    province: str | None = None
    committee: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    number: str | None = None
    channel: str | None = None
    level: int | None = None  # the ITSCI level
    scope: Scope | None = None  # the viewer's: None or everything matches all
    held_by: frozenset[int] | None = None  # committee ids, one of which holds the case
    ids: frozenset[int] | None = None  # a set worked out beforehand (the overdue cases)
    waiting_on: date | None = None  # awaiting the committee's action, as of this day
    created_after: datetime | None = None  # exclusive: what came in since


def scope_clause(scope: Scope | None) -> ColumnElement[bool] | None:
    """The SQL condition of `scope` on cases; None when it covers everything."""
    if scope is None or scope.everything:
        return None
    if scope.place_path is not None:
        return Case.location_id.in_(_places_below(scope.place_path))
    return held_by_clause(scope.committee_ids)


def _places_below(path: str) -> Select[int]:
    """The ids of the place at `path` and every place under it (an alias of the places, as
    the outer query may join them itself)."""
    place = aliased(Location)
    return select(place.id).where(place.path.startswith(path, autoescape=True))


def held_by_clause(committee_ids: Iterable[int]) -> ColumnElement[bool]:
    """Cases one of these committees holds (an active assignment)."""
    ids = list(committee_ids)
    if not ids:
        return false()
    held = aliased(CaseAssignment)  # the outer query may join assignments itself
    return exists().where(
        held.case_id == Case.id, held.active.is_(True), held.committee_id.in_(ids)
    )


def signal_scope_clause(scope: Scope | None) -> ColumnElement[bool] | None:
    """A signal is in a place scope when its territory is that place or under it, and in a
    committee scope when it was raised to one of those committees; None: every signal."""
    if scope is None or scope.everything:
        return None
    if scope.place_path is not None:
        return Signal.territory_id.in_(_places_below(scope.place_path))
    return Signal.committee_id.in_(list(scope.committee_ids))


def incident_scope_clause(scope: Scope | None) -> ColumnElement[bool] | None:
    """An incident is in scope when one of its cases is; None: every incident."""
    condition = scope_clause(scope)
    if condition is None:
        return None
    return (
        exists()
        .where(IncidentCase.incident_id == Incident.id, IncidentCase.case_id == Case.id, condition)
        .correlate(Incident)
    )


def committees_under(*, session: Session, path: str) -> frozenset[int]:
    """The ids of the committees whose place is the place at `path` or under it."""
    query = (
        select(Committee.id)
        .join(Location, Committee.location_id == Location.id)
        .where(Location.path.startswith(path, autoescape=True))
    )
    return frozenset(session.scalars(query))


def in_scope(*, session: Session, scope: Scope | None, number: str) -> bool:
    """Tell whether the case with this number exists and is in `scope`."""
    condition = scope_clause(scope)
    query = select(Case.id).where(Case.number == number)
    if condition is not None:
        query = query.where(condition)
    return session.scalar(query) is not None


def waiting_clause(today: date) -> ColumnElement[bool]:
    """Cases that wait for their committee: open and not acknowledged (an appealed case:
    not since the appeal), or with an action not done whose due day is `today` or past."""
    due = exists().where(
        CaseAction.case_id == Case.id,
        CaseAction.status.in_(OPEN_ACTION),
        CaseAction.due_on <= today,
    )
    awaiting = or_(Case.acknowledged_at.is_(None), Case.status == Status.APPEALED)
    return (Case.status != Status.CLOSED) & or_(awaiting, due)


def _province_clause(session: Session, code: str) -> ColumnElement[bool] | None:
    path = session.scalar(
        select(Location.path).where(Location.code == code, Location.level == Level.PROVINCE)
    )
    if path is None:
        return None
    below = select(Location.id).where(Location.path.startswith(path, autoescape=True))
    return Case.location_id.in_(below)


def _committee_clause(code: str) -> ColumnElement[bool]:
    return exists().where(
        CaseAssignment.case_id == Case.id,
        CaseAssignment.active.is_(True),
        CaseAssignment.committee_id == Committee.id,
        Committee.code == code,
    )


def _number_clause(digits: str) -> ColumnElement[bool]:
    if len(digits) == NUMBER_DIGITS:
        return Case.number == digits
    return Case.number.startswith(digits, autoescape=True)


def clauses(session: Session, where: CaseFilter) -> list[ColumnElement[bool]] | None:
    """The WHERE clauses of `where`, or None when it names a province that does not exist."""
    found: list[ColumnElement[bool]] = []
    for column, value in (
        (Case.status, where.status),
        (Case.category, where.category),
        (Case.severity, where.severity),
        (Case.channel, where.channel),
        (Case.itsci_level, where.level),
    ):
        if value is not None:
            found.append(column == value)
    if where.province is not None:
        province = _province_clause(session, where.province)
        if province is None:
            return None
        found.append(province)
    if where.committee is not None:
        found.append(_committee_clause(where.committee))
    if where.created_from is not None:
        found.append(Case.created_at >= where.created_from)
    if where.created_to is not None:
        found.append(Case.created_at <= where.created_to)
    if where.number is not None:
        found.append(_number_clause(where.number))
    return found + _queue_clauses(where)


def _queue_clauses(where: CaseFilter) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    scope = scope_clause(where.scope)
    if scope is not None:
        found.append(scope)
    if where.held_by is not None:
        found.append(held_by_clause(where.held_by))
    if where.ids is not None:
        found.append(Case.id.in_(list(where.ids)) if where.ids else false())
    if where.waiting_on is not None:
        found.append(waiting_clause(where.waiting_on))
    if where.created_after is not None:
        found.append(Case.created_at > where.created_after)
    return found


def count_cases(*, session: Session, where: CaseFilter) -> int:
    """Return how many cases match `where`."""
    found = clauses(session, where)
    if found is None:
        return 0
    return session.scalar(select(func.count()).select_from(Case).where(*found)) or 0


class SortKey(StrEnum):
    """The columns the case list sorts by (every column of the console's list)."""

    NUMBER = "number"
    CATEGORY = "category"
    SEVERITY = "severity"
    STATUS = "status"
    CHANNEL = "channel"
    PLACE = "place"
    COMMITTEE = "committee"
    DEADLINE = "deadline"
    CREATED = "created"
    AGE = "age"


@dataclass(frozen=True, slots=True)
class Sort:
    """One column and a direction. Ascending: numbers, codes and names A to Z, the gravest
    severity first, statuses in lifecycle order, the soonest deadline first (cases without
    one last), the oldest case first; age ascending is the newest first. Ties are broken by
    the case's id in the same direction, so pages never overlap."""

    key: SortKey = SortKey.CREATED
    descending: bool = True


NEWEST_FIRST = Sort()
_SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}
_STATUS_RANK = {
    Status.RECEIVED: 0,
    Status.ROUTED: 1,
    Status.APPEALED: 2,
    Status.ACKNOWLEDGED: 3,
    Status.IN_PROGRESS: 4,
    Status.CLOSED: 5,
}


def _sort_column(key: SortKey) -> ColumnElement[Any]:
    if key == SortKey.SEVERITY:
        return case(_SEVERITY_RANK, value=Case.severity, else_=9)
    if key == SortKey.STATUS:
        return case({str(k): v for k, v in _STATUS_RANK.items()}, value=Case.status, else_=9)
    if key == SortKey.PLACE:
        name = select(Location.name).where(Location.id == Case.location_id)
        return func.coalesce(name.scalar_subquery(), "")
    if key == SortKey.COMMITTEE:
        held = select(func.min(Committee.name)).where(
            CaseAssignment.case_id == Case.id,
            CaseAssignment.active.is_(True),
            CaseAssignment.committee_id == Committee.id,
        )
        return func.coalesce(held.scalar_subquery(), "")
    columns: dict[SortKey, ColumnElement[Any]] = {
        SortKey.NUMBER: Case.number.expression,
        SortKey.CATEGORY: Case.category.expression,
        SortKey.CHANNEL: Case.channel.expression,
    }
    return columns.get(key, Case.created_at.expression)


def _order(sort: Sort) -> list[ColumnElement[Any]]:
    column = _sort_column(sort.key)
    descending = sort.descending != (sort.key == SortKey.AGE)
    if descending:
        return [column.desc(), Case.id.desc()]
    return [column.asc(), Case.id.asc()]


def _page_by_deadline(
    session: Session, found: list[ColumnElement[bool]], sort: Sort, offset: int, limit: int
) -> list[Case]:
    ids = list(session.scalars(select(Case.id).where(*found)))
    order = queues.by_deadline(
        ids, queues.deadlines(session=session, conditions=found), sort.descending
    )
    page = order[offset : offset + limit]
    loaded = {
        c.id: c
        for c in session.scalars(
            select(Case).where(Case.id.in_(page)).options(selectinload(Case.location))
        )
    }
    return [loaded[i] for i in page]


def list_cases(
    *, session: Session, where: CaseFilter, offset: int, limit: int, sort: Sort = NEWEST_FIRST
) -> tuple[Sequence[Case], int]:
    """Return one page of matching cases in the order of `sort` (newest first unless told),
    and how many match in all."""
    found = clauses(session, where)
    if found is None:
        return [], 0
    total = session.scalar(select(func.count()).select_from(Case).where(*found)) or 0
    if sort.key == SortKey.DEADLINE:
        return _page_by_deadline(session, found, sort, offset, limit), total
    query = (
        select(Case)
        .where(*found)
        .options(selectinload(Case.location))
        .order_by(*_order(sort))
        .offset(offset)
        .limit(limit)
    )
    return session.scalars(query).all(), total


def case_by_number(*, session: Session, number: str) -> Case | None:
    """Return the case with this canonical number (ten digits)."""
    return session.scalar(select(Case).where(Case.number == number))


def case_with_events(*, session: Session, number: str) -> Case | None:
    """Return the case with this canonical number, its place and events loaded."""
    query = (
        select(Case)
        .where(Case.number == number)
        .options(selectinload(Case.location), selectinload(Case.events))
    )
    return session.scalar(query)


def committees_of(*, session: Session, case_ids: Iterable[int]) -> dict[int, list[str]]:
    """Return the codes of the committees holding each case (active assignments), by case id."""
    ids = list(case_ids)
    held: dict[int, list[str]] = defaultdict(list)
    if not ids:
        return held
    query = (
        select(CaseAssignment.case_id, Committee.code)
        .join(Committee, CaseAssignment.committee_id == Committee.id)
        .where(CaseAssignment.case_id.in_(ids), CaseAssignment.active.is_(True))
        .order_by(CaseAssignment.id)
    )
    for case_id, code in session.execute(query):
        held[case_id].append(code)
    return held


def assignments_of(*, session: Session, case_id: int) -> list[CaseAssignment]:
    """Return every assignment a case had, active or not, with its committee, oldest first."""
    query = (
        select(CaseAssignment)
        .where(CaseAssignment.case_id == case_id)
        .options(selectinload(CaseAssignment.committee))
        .order_by(CaseAssignment.id)
    )
    return list(session.scalars(query))


def member_names(*, session: Session, member_ids: Iterable[int]) -> dict[int, str]:
    """Return "name (committee code)" of each focal point, by member id (never a number)."""
    ids = list(set(member_ids))
    if not ids:
        return {}
    query = (
        select(CommitteeMember.id, CommitteeMember.name, Committee.code)
        .join(Committee, CommitteeMember.committee_id == Committee.id)
        .where(CommitteeMember.id.in_(ids))
    )
    return {member_id: f"{name} ({code})" for member_id, name, code in session.execute(query)}


def provinces(*, session: Session) -> list[tuple[str, str]]:
    """Return (code, name) of every province, for the province filter."""
    query = (
        select(Location.code, Location.name)
        .where(Location.level == Level.PROVINCE)
        .order_by(Location.name)
    )
    return [(code, name) for code, name in session.execute(query)]
