"""Committee inboxes: which committees cover a place, which one is above another, and
putting a case in a committee's inbox exactly once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.models import (
    LEVEL_RANK,
    CaseAssignment,
    Committee,
    CommitteeLevel,
    Level,
    Location,
)


def ancestor_paths(path: str) -> list[str]:
    """Return the paths of a place and of every place above it, country first.

    "/cd/cd-nk/cd-nk-walikale/" -> ["/cd/", "/cd/cd-nk/", "/cd/cd-nk/cd-nk-walikale/"].
    """
    codes = path.strip("/").split("/")
    return ["/" + "/".join(codes[: depth + 1]) + "/" for depth in range(len(codes))]


def _depth(committee: Committee) -> int:
    return committee.location.path.count("/")


def height(committee: Committee) -> tuple[int, int]:
    """Order committees bottom to top: by level, then the higher place first."""
    return LEVEL_RANK[committee.level], -_depth(committee)


def covering_committees(*, session: Session, location: Location) -> list[Committee]:
    """Return the active committees covering `location`, nearest first.

    Nearest means the deepest place first and, on one place, the lowest level first, so
    walking the list climbs the place path: local, provincial, national.
    """
    query = (
        select(Committee)
        .join(Location, Committee.location_id == Location.id)
        .where(Location.path.in_(ancestor_paths(location.path)), Committee.active.is_(True))
    )
    committees = list(session.scalars(query))
    return sorted(committees, key=lambda c: (-_depth(c), LEVEL_RANK[c.level], c.id))


def is_above(upper: Committee, lower: Committee) -> bool:
    """Tell whether `upper` is above `lower`: a higher level over the same place or one above it."""
    return LEVEL_RANK[upper.level] > LEVEL_RANK[lower.level] and lower.location.path.startswith(
        upper.location.path
    )


def is_national_for(committee: Committee, location: Location) -> bool:
    """Tell whether `committee` is the national committee of the country `location` is in."""
    return (
        committee.level == CommitteeLevel.NATIONAL
        and committee.location.level == Level.COUNTRY
        and location.path.startswith(committee.location.path)
    )


def next_above(*, session: Session, committee: Committee, category: str) -> Committee | None:
    """Return the nearest active committee above `committee` that takes `category`.

    When none above takes it, the national committee of the country, which takes whatever
    nobody else does; None at the top.
    """
    above = [
        candidate
        for candidate in covering_committees(session=session, location=committee.location)
        if is_above(candidate, committee)
    ]
    taking = [candidate for candidate in above if candidate.takes(category)]
    national = [c for c in above if is_national_for(c, committee.location)]
    return next(iter(taking or national), None)


def find_assignment(*, session: Session, case_id: int, committee_id: int) -> CaseAssignment | None:
    """Return the (case, committee) assignment, active or not."""
    query = select(CaseAssignment).where(
        CaseAssignment.case_id == case_id, CaseAssignment.committee_id == committee_id
    )
    return session.scalar(query)


def active_assignments(*, session: Session, case_id: int) -> list[CaseAssignment]:
    """Return the case's active assignments, in the order they were made."""
    query = (
        select(CaseAssignment)
        .where(CaseAssignment.case_id == case_id, CaseAssignment.active.is_(True))
        .order_by(CaseAssignment.id)
    )
    return list(session.scalars(query))


def _reactivate(assignment: CaseAssignment, reason: str, now: datetime) -> bool:
    if assignment.active:
        return False
    assignment.active, assignment.reason, assignment.assigned_at = True, reason, now
    assignment.acknowledged_at = assignment.escalated_at = None
    return True


def assign(
    *, session: Session, case_id: int, committee_id: int, reason: str, now: datetime
) -> bool:
    """Put a case in a committee's inbox; return False when it was there already.

    The unique (case, committee) constraint settles a race between two workers: the
    loser's INSERT fails inside its own savepoint and it reports no change. An inactive
    assignment (the case was reassigned away) is made active again with a fresh clock.
    """
    existing = find_assignment(session=session, case_id=case_id, committee_id=committee_id)
    if existing is not None:
        return _reactivate(existing, reason, now)
    assignment = CaseAssignment(
        case_id=case_id, committee_id=committee_id, reason=reason, assigned_at=now, active=True
    )
    try:
        with session.begin_nested():
            session.add(assignment)
    except IntegrityError:
        return False
    return True
