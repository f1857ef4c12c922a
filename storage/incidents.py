"""Incidents: the reports of one event, grouped, and the queries over them.

The grouping rule, run once for each new case (`group_case`, in routing's transaction):

- A case is grouped by its place: a site, or a territory when the reporter named no site.
  A case filed against a province or a country (too wide to say it is one event) or with
  no known place (typed text only) is never grouped. A territory-level case groups only
  with the other territory-level cases of that territory: a site's cases say where, and
  a "somewhere in Walikale" report cannot be told to be at one site or another.
- It joins the open (not closed) cases of its category at that place whose latest report
  is at most `window` older than its own `created_at`: for a case already in an incident
  the incident's latest report, for a case standing alone its own. Test cases group only
  with test cases, real ones only with real ones.
- When several qualify, the incident (or lone case) with the most recent report wins, the
  higher id breaking a tie, so the same data always give the same incident.
- Joining a lone case makes a new incident holding both, the older as first: the incident
  takes its number for good. A case a person unlinked is not pulled into a new incident by
  the system again (a person may still LINK it).
- System links are SUGGESTED; a person's are CONFIRMED. Nothing is merged: every case
  keeps its own number, status and reporter news.

A person's LINK of two cases (`link_cases`) ends with both in one incident, CONFIRMED:
the first's incident when it has one, else the second's, else a new one. When both are in
different incidents only the second case moves; whole incidents are never merged, as the
other cases of the second incident were never looked at. A person may link closed cases
(a closed duplicate still tells of the event) and cases of different categories (an
incident keeps its first case's category and place); never a test case with a real one.

Every link and unlink adds a case event, LINKED or UNLINKED, with data
{"incident": id, "state": "suggested"|"confirmed", "with": the incident's number}.
Functions add and flush; the caller owns the transaction. Two reports of one place routed
at the same moment by two workers cannot both open an incident: an incident's number and a
case's one link are unique, so the later transaction fails, and its routing job, run
again, finds the incident the other made.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from storage.cases import SYSTEM, add_event
from storage.models import (
    Case,
    CaseAssignment,
    CaseEvent,
    EventKind,
    Incident,
    IncidentCase,
    Level,
    LinkState,
    Status,
)

DEFAULT_WINDOW = timedelta(hours=72)
# The place levels whose cases are grouped (see the module docstring).
GROUPED_LEVELS = frozenset({Level.SITE, Level.TERRITORY})


class LinkRefused(ValueError):
    """A person's link or unlink cannot be done; `reason` is a short code the SMS command
    and the console turn into their own words."""

    SAME_CASE = "same_case"
    TEST_AND_REAL = "test_and_real"
    NOT_LINKED = "not_linked"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Grouped:
    """The incident a case was put in, and how many cases it holds now."""

    incident: Incident
    size: int
    created: bool


@dataclass(frozen=True, slots=True)
class Linked:
    """What a person's LINK did: the incident both cases are in and how many it holds;
    `moved` is True when the second case left another incident for it."""

    incident: Incident
    size: int
    moved: bool


# Queries.


def incident_of(session: Session, case_id: int) -> Incident | None:
    """Return the incident a case is grouped in, or None."""
    query = (
        select(Incident)
        .join(IncidentCase, IncidentCase.incident_id == Incident.id)
        .where(IncidentCase.case_id == case_id)
    )
    return session.scalar(query)


def link_of(session: Session, case_id: int) -> IncidentCase | None:
    """Return how a case belongs to its incident (state, by whom, when), or None."""
    return session.get(IncidentCase, case_id)


def links_of(session: Session, incident_id: int) -> list[IncidentCase]:
    """Return the links of an incident's cases, the oldest case first."""
    query = (
        select(IncidentCase)
        .join(Case, Case.id == IncidentCase.case_id)
        .where(IncidentCase.incident_id == incident_id)
        .order_by(Case.created_at, Case.id)
    )
    return list(session.scalars(query))


def cases_of(session: Session, incident_id: int) -> list[Case]:
    """Return the cases of an incident, the oldest first."""
    query = (
        select(Case)
        .join(IncidentCase, IncidentCase.case_id == Case.id)
        .where(IncidentCase.incident_id == incident_id)
        .order_by(Case.created_at, Case.id)
    )
    return list(session.scalars(query))


def size_of(session: Session, incident_id: int) -> int:
    """Return how many cases an incident holds."""
    query = select(func.count()).where(IncidentCase.incident_id == incident_id)
    return session.scalar(query) or 0


def incidents_of_cases(session: Session, case_ids: list[int]) -> dict[int, Incident]:
    """Return the incident of each of `case_ids` that is in one, by case id."""
    if not case_ids:
        return {}
    query = (
        select(IncidentCase.case_id, Incident)
        .join(Incident, Incident.id == IncidentCase.incident_id)
        .where(IncidentCase.case_id.in_(case_ids))
    )
    return {row[0]: row[1] for row in session.execute(query)}


def open_incidents(*, session: Session, committee_id: int) -> list[tuple[Incident, list[Case]]]:
    """Return the incidents holding open cases in a committee's inbox, each with those
    cases (oldest first); the incident with the latest report first."""
    query = (
        select(Incident, Case)
        .join(IncidentCase, IncidentCase.incident_id == Incident.id)
        .join(Case, Case.id == IncidentCase.case_id)
        .join(CaseAssignment, CaseAssignment.case_id == Case.id)
        .where(
            CaseAssignment.committee_id == committee_id,
            CaseAssignment.active.is_(True),
            Case.status != Status.CLOSED,
        )
        .order_by(Incident.last_report_at.desc(), Incident.id.desc(), Case.created_at, Case.id)
    )
    grouped: dict[int, tuple[Incident, list[Case]]] = {}
    for incident, case in session.execute(query):
        grouped.setdefault(incident.id, (incident, []))[1].append(case)
    return list(grouped.values())


# The grouping rule.


def grouping_place(case: Case) -> int | None:
    """Return the place a case is grouped by (its site or territory), or None."""
    location = case.location
    if location is None or location.level not in GROUPED_LEVELS:
        return None
    return location.id


def _candidates(session: Session, case: Case, place_id: int, window: timedelta) -> list[Case]:
    """The other open cases of the case's category, place and kind (test or not) that may
    share its event: received within `window` before it, or in an incident (whose own
    latest report is checked by the caller)."""
    since = case.created_at - window
    in_incident = exists().where(IncidentCase.case_id == Case.id)
    query = (
        select(Case)
        .where(
            Case.id != case.id,
            Case.category == case.category,
            Case.location_id == place_id,
            Case.is_test == case.is_test,
            Case.status != Status.CLOSED,
            Case.created_at <= case.created_at,
            (Case.created_at >= since) | in_incident,
        )
        .order_by(Case.created_at.desc(), Case.id.desc())
    )
    return list(session.scalars(query))


def _unlinked_by_a_person(session: Session, case_id: int) -> bool:
    query = select(CaseEvent.id).where(
        CaseEvent.case_id == case_id, CaseEvent.kind == EventKind.UNLINKED
    )
    return session.scalar(query.limit(1)) is not None


def _best(
    session: Session, case: Case, candidates: list[Case], window: timedelta
) -> tuple[Incident | None, Case | None]:
    """The incident, or else the lone case, with the most recent report within the window."""
    since = case.created_at - window
    incidents = incidents_of_cases(session, [c.id for c in candidates])
    options: list[tuple[datetime, int, Incident | None, Case | None]] = []
    for candidate in candidates:
        incident = incidents.get(candidate.id)
        if incident is not None:
            if incident.last_report_at >= since:
                options.append((incident.last_report_at, incident.id, incident, None))
        elif not _unlinked_by_a_person(session, candidate.id):
            options.append((candidate.created_at, candidate.id, None, candidate))
    if not options:
        return None, None
    _, _, incident, lone = max(options, key=lambda option: (option[0], option[1]))
    return incident, lone


def group_case(
    *, session: Session, case: Case, now: datetime, window: timedelta = DEFAULT_WINDOW
) -> Grouped | None:
    """Link a new case to the incident of its event, by the grouping rule (module
    docstring); None when it stands alone. A case already in an incident is left where it
    is (a rerun of routing groups nothing twice) and that incident is returned."""
    present = incident_of(session, case.id)
    if present is not None:
        return Grouped(present, size_of(session, present.id), created=False)
    place_id = grouping_place(case)
    if place_id is None:
        return None
    candidates = _candidates(session, case, place_id, window)
    incident, lone = _best(session, case, candidates, window)
    created = incident is None and lone is not None
    if incident is None:
        if lone is None:
            return None
        incident = _new_incident(session, first=lone, second=case, actor=SYSTEM, now=now)
        _add(session, incident, lone, LinkState.SUGGESTED, SYSTEM, now)
    _add(session, incident, case, LinkState.SUGGESTED, SYSTEM, now)
    session.flush()
    return Grouped(incident, size_of(session, incident.id), created=created)


def _number_taken(session: Session, number: str) -> bool:
    return session.scalar(select(Incident.id).where(Incident.number == number)) is not None


def _new_incident(
    session: Session, *, first: Case, second: Case, actor: str, now: datetime
) -> Incident:
    """A new incident named after its first case. A case that was first of an incident
    and left it has given that incident its number for good: the second case's number
    names the new one then, and when both are taken the first's old incident is reused."""
    number = next((c.number for c in (first, second) if not _number_taken(session, c.number)), None)
    if number is None:
        return session.scalars(select(Incident).where(Incident.number == first.number)).one()
    place = first.location
    incident = Incident(
        category=first.category,
        location_id=None if place is None else place.id,
        number=number,
        created_by=actor,
        created_at=now,
        last_report_at=max(first.created_at, second.created_at),
    )
    session.add(incident)
    session.flush()
    return incident


def _event(
    session: Session,
    kind: EventKind,
    case: Case,
    incident: Incident,
    state: str,
    actor: str,
    now: datetime,
) -> None:
    data = {"incident": incident.id, "state": state, "with": incident.number}
    add_event(session=session, case_id=case.id, kind=kind, at=now, actor=actor, data=data)


def _add(
    session: Session, incident: Incident, case: Case, state: str, actor: str, now: datetime
) -> None:
    session.add(
        IncidentCase(
            case_id=case.id, incident_id=incident.id, state=state, linked_by=actor, linked_at=now
        )
    )
    incident.last_report_at = max(incident.last_report_at, case.created_at)
    _event(session, EventKind.LINKED, case, incident, state, actor, now)


# A person's actions.


def _confirm(session: Session, link: IncidentCase, actor: str, now: datetime) -> bool:
    if link.state == LinkState.CONFIRMED:
        return False
    link.state, link.linked_by, link.linked_at = LinkState.CONFIRMED, actor, now
    _event(session, EventKind.LINKED, link.case, link.incident, link.state, actor, now)
    return True


def confirm_link(*, session: Session, case: Case, actor: str, now: datetime) -> bool:
    """Confirm a suggested link; False when it was confirmed already. Raise LinkRefused
    (NOT_LINKED) for a case in no incident."""
    link = link_of(session, case.id)
    if link is None:
        raise LinkRefused(LinkRefused.NOT_LINKED)
    changed = _confirm(session, link, actor, now)
    session.flush()
    return changed


def _unlink(session: Session, link: IncidentCase, actor: str, now: datetime) -> Incident:
    incident = link.incident
    _event(session, EventKind.UNLINKED, link.case, incident, link.state, actor, now)
    session.delete(link)
    session.flush()
    return incident


def unlink_case(*, session: Session, case: Case, actor: str, now: datetime) -> Incident:
    """Take a case out of its incident and return that incident; raise LinkRefused
    (NOT_LINKED) for a case in no incident. The incident keeps its number and its other
    cases, even none."""
    link = link_of(session, case.id)
    if link is None:
        raise LinkRefused(LinkRefused.NOT_LINKED)
    return _unlink(session, link, actor, now)


def _join(
    session: Session, incident: Incident, case: Case, actor: str, now: datetime
) -> tuple[bool, bool]:
    """Put `case` in `incident`, confirmed; return (changed, moved from another)."""
    link = link_of(session, case.id)
    if link is not None and link.incident_id == incident.id:
        return _confirm(session, link, actor, now), False
    if link is not None:
        _unlink(session, link, actor, now)
    _add(session, incident, case, LinkState.CONFIRMED, actor, now)
    return True, link is not None


def link_cases(*, session: Session, first: Case, second: Case, actor: str, now: datetime) -> Linked:
    """Put two cases in one incident, both CONFIRMED (see the module docstring for which
    incident). Raise LinkRefused for one case twice, or a test case with a real one."""
    if first.id == second.id:
        raise LinkRefused(LinkRefused.SAME_CASE)
    if first.is_test != second.is_test:
        raise LinkRefused(LinkRefused.TEST_AND_REAL)
    incident = incident_of(session, first.id) or incident_of(session, second.id)
    if incident is None:
        older, newer = sorted((first, second), key=lambda c: (c.created_at, c.id))
        incident = _new_incident(session, first=older, second=newer, actor=actor, now=now)
    _join(session, incident, first, actor, now)
    _, moved = _join(session, incident, second, actor, now)
    session.flush()
    return Linked(incident, size_of(session, incident.id), moved=moved)
