"""Finding cases for the console and the API: filters, ordering, pagination."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, exists, func, select
from sqlalchemy.orm import Session, selectinload

from storage.models import Case, CaseAssignment, Committee, Level, Location


@dataclass(frozen=True, slots=True)
class CaseFilter:
    """Every field left None matches all cases; dates are inclusive bounds on `created_at`."""

    status: str | None = None
    category: str | None = None
    severity: str | None = None
    province: str | None = None
    committee: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


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


def _clauses(session: Session, where: CaseFilter) -> list[ColumnElement[bool]] | None:
    """The WHERE clauses of `where`, or None when it names a province that does not exist."""
    clauses: list[ColumnElement[bool]] = []
    for column, value in (
        (Case.status, where.status),
        (Case.category, where.category),
        (Case.severity, where.severity),
    ):
        if value is not None:
            clauses.append(column == value)
    if where.province is not None:
        province = _province_clause(session, where.province)
        if province is None:
            return None
        clauses.append(province)
    if where.committee is not None:
        clauses.append(_committee_clause(where.committee))
    if where.created_from is not None:
        clauses.append(Case.created_at >= where.created_from)
    if where.created_to is not None:
        clauses.append(Case.created_at <= where.created_to)
    return clauses


def list_cases(
    *, session: Session, where: CaseFilter, offset: int, limit: int
) -> tuple[Sequence[Case], int]:
    """Return one page of matching cases, newest first, and how many match in all."""
    clauses = _clauses(session, where)
    if clauses is None:
        return [], 0
    total = session.scalar(select(func.count()).select_from(Case).where(*clauses)) or 0
    query = (
        select(Case)
        .where(*clauses)
        .options(selectinload(Case.location))
        .order_by(Case.created_at.desc(), Case.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return session.scalars(query).all(), total


def case_with_events(*, session: Session, number: str) -> Case | None:
    """Return the case with this canonical number, its place and events loaded."""
    query = (
        select(Case)
        .where(Case.number == number)
        .options(selectinload(Case.location), selectinload(Case.events))
    )
    return session.scalar(query)
