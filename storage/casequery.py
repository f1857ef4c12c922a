"""Finding cases for the console, the API and exports: filters, search, ordering, pages."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, exists, func, select
from sqlalchemy.orm import Session, selectinload

from storage.models import (
    Case,
    CaseAssignment,
    Committee,
    CommitteeMember,
    Level,
    Location,
)

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
    return found


def count_cases(*, session: Session, where: CaseFilter) -> int:
    """Return how many cases match `where`."""
    found = clauses(session, where)
    if found is None:
        return 0
    return session.scalar(select(func.count()).select_from(Case).where(*found)) or 0


def list_cases(
    *, session: Session, where: CaseFilter, offset: int, limit: int
) -> tuple[Sequence[Case], int]:
    """Return one page of matching cases, newest first, and how many match in all."""
    found = clauses(session, where)
    if found is None:
        return [], 0
    total = session.scalar(select(func.count()).select_from(Case).where(*found)) or 0
    query = (
        select(Case)
        .where(*found)
        .options(selectinload(Case.location))
        .order_by(Case.created_at.desc(), Case.id.desc())
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
