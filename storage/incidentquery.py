"""Reading incidents for the API and exports: which incident each case is in and how, the
case a duplicate points at, and incidents with their cases' numbers and counts by status.

Structured fields only (numbers, categories, place codes, statuses): every role may read
them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased, selectinload

from storage.casequery import incident_scope_clause, scope_clause
from storage.models import Case, CaseDuplicate, Incident, IncidentCase, Status
from storage.users import Scope

__all__ = [
    "CaseGrouping",
    "IncidentView",
    "groupings",
    "incident_by_number",
    "list_incidents",
    "open_incident_views",
]

# Ids per IN (…) query: well under every backend's limit on bound parameters.
CHUNK = 500


@dataclass(frozen=True, slots=True)
class CaseGrouping:
    """A case's incident (its number), how it is linked (`LinkState`), and the number of
    the case it duplicates; None where there is none."""

    incident: str | None = None
    incident_link: str | None = None
    duplicate_of: str | None = None


@dataclass(slots=True)
class IncidentView:
    """An incident with its cases' numbers (oldest first) and how many are in each status."""

    number: str
    category: str
    place_code: str | None
    place_name: str | None
    created_at: datetime
    last_report_at: datetime
    cases: list[str] = field(default_factory=list)
    by_status: dict[str, int] = field(default_factory=dict)


def _chunks(ids: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def groupings(*, session: Session, case_ids: Sequence[int]) -> dict[int, CaseGrouping]:
    """Return the grouping of each of `case_ids` that is in an incident or a duplicate."""
    links: dict[int, tuple[str, str]] = {}
    originals: dict[int, str] = {}
    original = aliased(Case)
    for chunk in _chunks(list(case_ids)):
        linked = (
            select(IncidentCase.case_id, Incident.number, IncidentCase.state)
            .join(Incident, Incident.id == IncidentCase.incident_id)
            .where(IncidentCase.case_id.in_(chunk))
        )
        links.update(
            {case_id: (number, state) for case_id, number, state in session.execute(linked)}
        )
        duplicates = (
            select(CaseDuplicate.case_id, original.number)
            .join(original, original.id == CaseDuplicate.original_id)
            .where(CaseDuplicate.case_id.in_(chunk))
        )
        originals.update(dict(session.execute(duplicates).all()))
    found: dict[int, CaseGrouping] = {}
    for case_id in links.keys() | originals.keys():
        number, state = links.get(case_id, (None, None))
        found[case_id] = CaseGrouping(number, state, originals.get(case_id))
    return found


def _views(
    session: Session, incidents: Sequence[Incident], scope: Scope | None = None
) -> list[IncidentView]:
    views = {
        incident.id: IncidentView(
            number=incident.number,
            category=incident.category,
            place_code=incident.location.code if incident.location else None,
            place_name=incident.location.name if incident.location else None,
            created_at=incident.created_at,
            last_report_at=incident.last_report_at,
        )
        for incident in incidents
    }
    statuses: dict[int, Counter[str]] = {incident_id: Counter() for incident_id in views}
    query = (
        select(IncidentCase.incident_id, Case.number, Case.status)
        .join(Case, Case.id == IncidentCase.case_id)
        .where(IncidentCase.incident_id.in_(list(views)))
        .order_by(Case.created_at, Case.id)
    )
    in_scope = scope_clause(scope)
    if in_scope is not None:  # a scoped viewer learns nothing of cases outside the scope
        query = query.where(in_scope)
    for incident_id, number, status in session.execute(query):
        views[incident_id].cases.append(number)
        statuses[incident_id][status] += 1
    for incident_id, counts in statuses.items():
        views[incident_id].by_status = dict(sorted(counts.items()))
    return [views[incident.id] for incident in incidents]


def list_incidents(
    *,
    session: Session,
    offset: int,
    limit: int,
    category: str | None = None,
    scope: Scope | None = None,
) -> tuple[list[IncidentView], int]:
    """Return one page of incidents (of `scope`: those with a case in it, counting those
    cases only), the latest report first, and how many there are."""
    where = [] if category is None else [Incident.category == category]
    in_scope = incident_scope_clause(scope)
    if in_scope is not None:
        where.append(in_scope)
    total = session.scalar(select(func.count()).select_from(Incident).where(*where)) or 0
    query = (
        select(Incident)
        .where(*where)
        .options(selectinload(Incident.location))
        .order_by(Incident.last_report_at.desc(), Incident.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return _views(session, session.scalars(query).all(), scope), total


def incident_by_number(
    *, session: Session, number: str, scope: Scope | None = None
) -> IncidentView | None:
    """Return the incident with this canonical number (its first case's), or None (also
    when none of its cases is in `scope`)."""
    query = (
        select(Incident).where(Incident.number == number).options(selectinload(Incident.location))
    )
    in_scope = incident_scope_clause(scope)
    if in_scope is not None:
        query = query.where(in_scope)
    incident = session.scalar(query)
    return None if incident is None else _views(session, [incident], scope)[0]


def open_incident_views(
    *, session: Session, limit: int = 20, scope: Scope | None = None
) -> list[IncidentView]:
    """Return the incidents holding at least one open case (of `scope`), the latest report
    first."""
    in_scope = scope_clause(scope)
    holding = (
        select(IncidentCase.incident_id)
        .join(Case, Case.id == IncidentCase.case_id)
        .where(
            Case.status != Status.CLOSED,
            Case.is_test.is_(False),
            *([] if in_scope is None else [in_scope]),
        )
    )
    query = (
        select(Incident)
        .where(Incident.id.in_(holding.scalar_subquery()))
        .options(selectinload(Incident.location))
        .order_by(Incident.last_report_at.desc(), Incident.id.desc())
        .limit(limit)
    )
    return _views(session, session.scalars(query).all(), scope)
