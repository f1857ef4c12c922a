"""The case lifecycle: one function per action.

Functions add and flush but never commit: the caller owns the transaction, so a report
is committed before anything is enqueued for it.
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import CursorResult, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage import casenumber, recordings
from storage.assignments import (
    active_assignments,
    assign,
    find_assignment,
    height,
    is_above,
    next_above,
)
from storage.committees import members_for_pseudonym
from storage.db import expire_loaded, utcnow
from storage.levels import derive_level
from storage.models import (
    AssignmentReason,
    Case,
    CaseAssignment,
    CaseDuplicate,
    CaseEvent,
    Category,
    Channel,
    Committee,
    CommitteeMember,
    EventKind,
    Location,
    Occurred,
    Outcome,
    Status,
)
from storage.privacy import Crypto, DecryptionFailed, is_e164, is_pseudonym
from storage.severity import derive_severity

log = logging.getLogger(__name__)

NUMBER_ATTEMPTS = 8
YES, NO = "yes", "no"
REPORTER = "reporter"
SYSTEM = "system"
_CODE = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
_LANGUAGE = re.compile(r"[a-z]{2,3}(?:[_-][A-Za-z0-9]{2,4})?")
# Where reporters' "today" is read when the caller gives no zone (SAUTI_TIMEZONE's
# default): eastern DRC, Rwanda and Burundi all keep UTC+2 without daylight saving.
REPORTERS_ZONE = ZoneInfo("Africa/Lubumbashi")
# The days before the day of submission each answer to "when did it happen?" reaches back
# (first, last); None: no bound. "Earlier" is before "this month": 30 days and more ago.
_OCCURRED_DAYS: dict[str, tuple[int | None, int]] = {
    Occurred.TODAY: (0, 0),
    Occurred.WEEK: (6, 0),
    Occurred.MONTH: (29, 0),
    Occurred.EARLIER: (None, 30),
}


class NoFreeNumber(RuntimeError):
    """Every number drawn was taken; with a sound random source this does not happen."""


class InvalidReport(ValueError):
    """An answer is missing or outside its fixed vocabulary."""

    def __init__(self, field: str, value: object) -> None:
        super().__init__(f"invalid report field {field!r}: {value!r}")
        self.field = field


@dataclass(frozen=True, slots=True)
class StatusView:
    """What a reporter may learn about their case.

    `status` is the status as the reporter is told it: the case's status, and for a closed
    case its outcome too (`closed.resolved`; the flows label each, and flows without that
    label show the one of `closed`). `outcome` is the outcome alone.
    """

    number: str
    status: str
    outcome: str | None
    message: str | None


@dataclass(frozen=True, slots=True)
class _Answers:
    category: str
    hazard: str | None
    place_code: str | None
    place_text: str | None
    occurred: str
    danger_now: bool
    description: str | None
    sms_updates: bool


def _text(answers: Mapping[str, str], key: str) -> str | None:
    value = answers.get(key, "").strip()
    return value or None


def _one_of(answers: Mapping[str, str], key: str, allowed: type[Category | Occurred]) -> str:
    value = answers.get(key, "")
    if value not in set(allowed):
        raise InvalidReport(key, value)
    return value


def _yes_no(answers: Mapping[str, str], key: str) -> bool:
    value = answers.get(key, NO)
    if value not in (YES, NO):
        raise InvalidReport(key, value)
    return value == YES


def _code(answers: Mapping[str, str], key: str) -> str | None:
    value = _text(answers, key)
    if value is not None and not _CODE.fullmatch(value):
        raise InvalidReport(key, value)
    return value


def _read_answers(answers: Mapping[str, str]) -> _Answers:
    return _Answers(
        category=_one_of(answers, "category", Category),
        hazard=_code(answers, "hazard"),
        place_code=_text(answers, "place_code"),
        place_text=_text(answers, "place_text"),
        occurred=_one_of(answers, "when", Occurred),
        danger_now=_yes_no(answers, "danger_now"),
        description=_text(answers, "description"),
        sms_updates=_yes_no(answers, "sms_updates"),
    )


def _check_origin(*, pseudonym: str, channel: str, language: str, contact_e164: str | None) -> None:
    if not is_pseudonym(pseudonym):
        raise InvalidReport("pseudonym", "<not a pseudonym>")
    if channel not in set(Channel):
        raise InvalidReport("channel", channel)
    if not _LANGUAGE.fullmatch(language):
        raise InvalidReport("language", language)
    if contact_e164 is not None and not is_e164(contact_e164):
        raise InvalidReport("contact", "<not E.164>")


def _location_id(session: Session, code: str | None) -> int | None:
    if code is None:
        return None
    query = select(Location.id).where(Location.code == code, Location.active.is_(True))
    return session.scalar(query)


def _encrypt(crypto: Crypto, text: str | None) -> bytes | None:
    return None if text is None else crypto.encrypt(text)


def _submitted(session: Session, key: str | None) -> Case | None:
    if key is None:
        return None
    return session.scalars(select(Case).where(Case.submission_key == key)).first()


def _insert_with_new_number(
    session: Session, fields: dict[str, Any], rng: random.Random
) -> tuple[Case, bool]:
    """Insert a case under a fresh number, drawing again while the number is taken; return
    it and True, or the case its submission key already filed and False.

    One `INSERT ... ON CONFLICT DO NOTHING RETURNING` a draw: a number or submission key
    already taken (by a committed report, or by one committing at the same time, which
    PostgreSQL waits for) inserts nothing and fails nothing, so the transaction goes on
    without a savepoint around each attempt.
    """
    statement = _NEW_CASE[session.get_bind().dialect.name == "postgresql"]
    key = fields.get("submission_key")
    for _ in range(NUMBER_ATTEMPTS):
        row = {"number": casenumber.new_number(rng), **fields}
        case = session.scalars(statement, [row]).first()
        if case is not None:
            return case, True
        earlier = _submitted(session, key)
        if earlier is not None:
            return earlier, False
    raise NoFreeNumber(f"no free case number after {NUMBER_ATTEMPTS} draws")


# The statements of a new report, built once (PostgreSQL's INSERT, then SQLite's): given
# their rows as parameters, they skip building and coercing a statement for each report.
_NEW_CASE = {
    dialect: insert_(Case).on_conflict_do_nothing().returning(Case)
    for dialect, insert_ in ((True, postgresql_insert), (False, sqlite_insert))
}
_NEW_EVENT = insert(CaseEvent)


def occurred_dates(occurred: str, at: datetime, zone: tzinfo) -> tuple[date | None, date]:
    """The first and last day (inclusive) "when it happened" covers, for an answer given
    at `at`, read as a calendar day in `zone`; the first is None for "earlier"."""
    first, last = _OCCURRED_DAYS[Occurred(occurred)]
    day = at.astimezone(zone).date()
    return (None if first is None else day - timedelta(days=first)), day - timedelta(days=last)


def _event(
    case_id: int,
    kind: EventKind,
    *,
    at: datetime,
    actor: str,
    body_enc: bytes | None = None,
    data: dict[str, Any] | None = None,
) -> CaseEvent:
    return CaseEvent(
        case_id=case_id, at=at, kind=kind, actor=actor, body_enc=body_enc, data=data or {}
    )


def create_report(
    *,
    session: Session,
    crypto: Crypto,
    pseudonym: str,
    channel: str,
    language: str,
    answers: Mapping[str, str],
    contact_e164: str | None,
    flow_version: str,
    rng: random.Random,
    now: datetime,
    is_test: bool = False,
    submission_key: str | None = None,
    zone: tzinfo = REPORTERS_ZONE,
) -> Case:
    """Record a new report with a fresh case number and its `received` event.

    The place is linked when `place_code` names an active location; otherwise only the
    typed place text is kept. The contact number is kept, encrypted, only when the
    reporter asked for SMS updates. A `submission_key` seen before returns the case it
    filed, unchanged: a repeated or concurrent submission files one report. "When it
    happened" is kept as days too, counted from the day of `now` in `zone`.
    """
    earlier = _submitted(session, submission_key)
    if earlier is not None:
        return earlier
    _check_origin(
        pseudonym=pseudonym, channel=channel, language=language, contact_e164=contact_e164
    )
    report = _read_answers(answers)
    location_id = _location_id(session, report.place_code)
    keep_contact = report.sms_updates and contact_e164 is not None
    first, last = occurred_dates(report.occurred, now, zone)
    fields: dict[str, Any] = {
        "category": report.category,
        "hazard": report.hazard,
        "severity": derive_severity(
            category=report.category, hazard=report.hazard, danger_now=report.danger_now
        ),
        "itsci_level": derive_level(category=report.category, danger_now=report.danger_now),
        "location_id": location_id,
        "place_text_enc": _encrypt(crypto, report.place_text),
        "occurred": report.occurred,
        "occurred_from": first,
        "occurred_to": last,
        "danger_now": report.danger_now,
        "description_enc": _encrypt(crypto, report.description),
        "channel": channel,
        "language": language,
        "pseudonym": pseudonym,
        "consent_updates": keep_contact,
        "contact_enc": _encrypt(crypto, contact_e164 if keep_contact else None),
        "is_test": is_test,
        "flow_version": flow_version,
        "created_at": now,
        "updated_at": now,
        "submission_key": submission_key,
    }
    case, created = _insert_with_new_number(session, fields, rng)
    if not created:
        return case
    data: dict[str, Any] = {
        "channel": channel,
        "severity": case.severity,
        "itsci_level": case.itsci_level,
    }
    if report.place_code is not None and location_id is None:
        data["unknown_place_code"] = report.place_code
    # No object is needed for the event: one plain INSERT, without the unit of work.
    received = {"case_id": case.id, "at": now, "kind": EventKind.RECEIVED, "actor": REPORTER}
    session.execute(_NEW_EVENT, [{**received, "body_enc": None, "data": data}])
    recordings.link(
        session=session,
        case_id=case.id,
        text=report.description,
        owner=pseudonym,
        channel=channel,
    )
    session.flush()
    return case


def find_case(*, session: Session, number: str) -> Case | None:
    """Return the case a person typed the number of, with or without separators."""
    canonical = casenumber.parse(number)
    if canonical is None:
        return None
    return session.scalar(select(Case).where(Case.number == canonical))


def status_view(*, session: Session, crypto: Crypto, case: Case) -> StatusView:
    """Return the status of `case` and the latest message the committee left for the reporter.

    A case closed as a duplicate of another shows that other case's status and message
    (under its own number, the one its reporter knows): its news is the original's.
    """
    source = original_of(session=session, case=case) or case
    query = (
        select(CaseEvent.body_enc)
        .where(CaseEvent.case_id == source.id, CaseEvent.kind == EventKind.MESSAGE)
        .order_by(CaseEvent.at.desc(), CaseEvent.id.desc())
        .limit(1)
    )
    body = session.scalar(query)
    return StatusView(
        number=case.number,
        status=reporter_status(source),
        outcome=source.outcome,
        message=None if body is None else _readable(crypto, body, source),
    )


def original_of(*, session: Session, case: Case) -> Case | None:
    """Return the case `case` was closed as a duplicate of, or None."""
    pointer = session.get(CaseDuplicate, case.id)
    return None if pointer is None else pointer.original


def duplicates_of(*, session: Session, case_id: int) -> list[Case]:
    """Return the cases closed as duplicates of case `case_id`, oldest first."""
    query = (
        select(Case)
        .join(CaseDuplicate, CaseDuplicate.case_id == Case.id)
        .where(CaseDuplicate.original_id == case_id)
        .order_by(Case.created_at, Case.id)
    )
    return list(session.scalars(query))


def _mark_duplicate(
    session: Session, case: Case, original: Case, actor: str, now: datetime
) -> Case:
    """Point `case` at the case it duplicates (that case's own original when it is itself a
    duplicate, so news never goes through a chain); return the case pointed at. A case
    appealed and closed again as a duplicate points at the latest original named."""
    original = original_of(session=session, case=original) or original
    if original.id == case.id:
        raise InvalidAction("duplicate_of", "a case cannot duplicate itself")
    pointer = session.get(CaseDuplicate, case.id) or CaseDuplicate(case_id=case.id)
    pointer.original_id, pointer.marked_by, pointer.marked_at = original.id, actor, now
    session.add(pointer)
    return original


def reporter_status(case: Case) -> str:
    """The status a reporter is told: `closed.<outcome>` for a closed case, else the status."""
    if case.status == Status.CLOSED and case.outcome:
        return f"{Status.CLOSED}.{case.outcome}"
    return case.status


def _readable(crypto: Crypto, body: bytes, case: Case) -> str | None:
    """Decrypt a message for the reporter; a key removed too early must not break the
    status check, so it logs an error and the reporter gets the status alone."""
    try:
        return crypto.decrypt(body)
    except DecryptionFailed:
        log.error("case %s: a message matches no configured encryption key", case.id)
        return None


def add_information(
    *,
    session: Session,
    crypto: Crypto,
    case: Case,
    text: str,
    channel: str,
    actor: str = REPORTER,
    now: datetime | None = None,
    submission_key: str | None = None,
    pseudonym: str | None = None,
) -> CaseEvent:
    """Append information to `case`, stored encrypted, as an `info_added` event.

    A `submission_key` already recorded on the case returns its event instead: the same
    hop sent again adds the information once. With the sender's `pseudonym`, the event
    records whether it is the phone that made the report (`same_phone`), and only that:
    the pseudonym itself is not kept. The committees are told by the sweep
    (`unnotified_information`).
    """
    text = text.strip()
    if not text:
        raise InvalidReport("text", text)
    if pseudonym is not None and not is_pseudonym(pseudonym):
        raise InvalidReport("pseudonym", "<not a pseudonym>")
    earlier = _info_added_by(session, submission_key)
    if earlier is not None:
        return earlier
    at = now or utcnow()
    data: dict[str, Any] = {"channel": channel}
    if pseudonym is not None:
        data["same_phone"] = pseudonym == case.pseudonym
    event = _event(
        case.id,
        EventKind.INFO_ADDED,
        at=at,
        actor=actor,
        body_enc=crypto.encrypt(text),
        data=data,
    )
    event.submission_key = submission_key
    try:
        # A savepoint: when the same hop, in another process, inserted its event between
        # the look-up above and here, the unique key refuses this one and theirs stands.
        with session.begin_nested():
            session.add(event)
    except IntegrityError:
        earlier = _info_added_by(session, submission_key)
        if earlier is None:
            raise
        return earlier
    case.updated_at = at
    # The sender's own recordings: a spoken answer is linked only by whoever made it.
    owner = case.pseudonym if pseudonym is None else pseudonym
    recordings.link(session=session, case_id=case.id, text=text, owner=owner, channel=channel)
    session.flush()
    return event


def unnotified_information(*, session: Session, limit: int) -> list[int]:
    """Return ids of added information the committees have not been told of, oldest first."""
    query = (
        select(CaseEvent.id)
        .where(CaseEvent.kind == EventKind.INFO_ADDED, CaseEvent.notified_at.is_(None))
        .order_by(CaseEvent.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def claim_information_notice(*, session: Session, event_id: int, now: datetime) -> CaseEvent | None:
    """Record that the committees are told of added information now; return the event, or
    None when it is no added information or was claimed already (by another run).

    A conditional UPDATE, so two runs racing on the same event tell the committees once.
    """
    claim = (
        update(CaseEvent)
        .where(
            CaseEvent.id == event_id,
            CaseEvent.kind == EventKind.INFO_ADDED,
            CaseEvent.notified_at.is_(None),
        )
        .values(notified_at=now)
        .execution_options(synchronize_session=False)
    )
    if cast(CursorResult[Any], session.execute(claim)).rowcount != 1:
        return None
    expire_loaded(session, CaseEvent)
    return session.get(CaseEvent, event_id)


def _info_added_by(session: Session, key: str | None) -> CaseEvent | None:
    if key is None:
        return None
    return session.scalar(select(CaseEvent).where(CaseEvent.submission_key == key))


def request_routing(*, session: Session, case_id: int, now: datetime) -> bool:
    """Mark `case_id` as handed to routing; return False if that was already done.

    A conditional UPDATE, so two callers racing on the same case record it once.
    """
    statement = (
        update(Case)
        .where(Case.id == case_id, Case.routing_requested_at.is_(None))
        .values(routing_requested_at=now, updated_at=now)
        .execution_options(synchronize_session="fetch")
    )
    result = cast(CursorResult[Any], session.execute(statement))
    if result.rowcount != 1:
        return False
    session.add(_event(case_id, EventKind.ROUTING_REQUESTED, at=now, actor=SYSTEM))
    session.flush()
    return True


def unrouted_cases(*, session: Session, older_than: datetime, limit: int) -> list[int]:
    """Return ids of received, unrouted cases created before `older_than`, oldest first."""
    query = (
        select(Case.id)
        .where(
            Case.status == Status.RECEIVED,
            Case.routed_at.is_(None),
            Case.created_at < older_than,
        )
        .order_by(Case.created_at, Case.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def add_event(
    *,
    session: Session,
    case_id: int,
    kind: EventKind,
    at: datetime,
    actor: str,
    body_enc: bytes | None = None,
    data: dict[str, Any] | None = None,
) -> CaseEvent:
    """Append one event to a case's history."""
    event = _event(case_id, kind, at=at, actor=actor, body_enc=body_enc, data=data)
    session.add(event)
    return event


# Committee actions. Each takes the acting person as `actor` ("member:<id>", "user:<name>",
# "system"), writes a case event, flushes, and leaves the commit to the caller.


class InvalidAction(ValueError):
    """An action was given a value outside what it accepts (empty text, unknown outcome)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def member_actor(member: CommitteeMember) -> str:
    """Return how case events name a committee member."""
    return f"member:{member.id}"


def _required_text(text: str) -> str:
    text = text.strip()
    if not text:
        raise InvalidAction("text", "empty")
    return text


def _committee_code(session: Session, committee_id: int | None) -> str | None:
    if committee_id is None:
        return None
    committee = session.get(Committee, committee_id)
    return None if committee is None else committee.code


def _acknowledge_assignment(
    session: Session, case: Case, committee_id: int | None, now: datetime
) -> bool:
    if committee_id is None:
        return False
    assignment = find_assignment(session=session, case_id=case.id, committee_id=committee_id)
    if assignment is None or assignment.acknowledged_at is not None:
        return False
    assignment.acknowledged_at = now
    return True


def acknowledge(
    *, session: Session, case: Case, actor: str, committee_id: int | None, now: datetime
) -> bool:
    """Acknowledge a case, for a committee when `committee_id` is given.

    The case becomes ACKNOWLEDGED when it was RECEIVED or ROUTED; its first acknowledgement
    stops the deadline sweep. Return False, with no event, when nothing changed (already
    acknowledged by that committee, or closed).
    """
    if case.status == Status.CLOSED:
        return False
    changed = _acknowledge_assignment(session, case, committee_id, now)
    if case.acknowledged_at is None:
        case.acknowledged_at, changed = now, True
    if case.status in (Status.RECEIVED, Status.ROUTED, Status.APPEALED):
        case.status, changed = Status.ACKNOWLEDGED, True
    if changed:
        data = {"committee": _committee_code(session, committee_id)}
        add_event(
            session=session,
            case_id=case.id,
            kind=EventKind.ACKNOWLEDGED,
            at=now,
            actor=actor,
            data=data,
        )
        case.updated_at = now
        session.flush()
    return changed


def set_in_progress(*, session: Session, case: Case, actor: str, now: datetime) -> bool:
    """Mark a case IN_PROGRESS (acknowledging it if nobody had); False if closed or already so."""
    if case.status in (Status.CLOSED, Status.IN_PROGRESS):
        return False
    data = {"from": case.status}
    case.status, case.updated_at = Status.IN_PROGRESS, now
    case.acknowledged_at = case.acknowledged_at or now
    add_event(
        session=session, case_id=case.id, kind=EventKind.IN_PROGRESS, at=now, actor=actor, data=data
    )
    session.flush()
    return True


def _text_event(
    session: Session,
    crypto: Crypto,
    case: Case,
    kind: EventKind,
    actor: str,
    text: str,
    now: datetime,
) -> CaseEvent:
    body = crypto.encrypt(_required_text(text))
    event = add_event(
        session=session, case_id=case.id, kind=kind, at=now, actor=actor, body_enc=body
    )
    case.updated_at = now
    session.flush()
    return event


def add_note(
    *, session: Session, crypto: Crypto, case: Case, actor: str, text: str, now: datetime
) -> CaseEvent:
    """Add an internal note (encrypted) to a case; the reporter never sees notes."""
    return _text_event(session, crypto, case, EventKind.NOTE, actor, text, now)


def message_reporter(
    *, session: Session, crypto: Crypto, case: Case, actor: str, text: str, now: datetime
) -> CaseEvent:
    """Leave a message (encrypted) for the reporter; the status check shows the latest one.

    Sending it by SMS, when the reporter consented, is the caller's: see `reporter_contact`.
    """
    return _text_event(session, crypto, case, EventKind.MESSAGE, actor, text, now)


def reporter_contact(*, crypto: Crypto, case: Case) -> str | None:
    """Return the number a consenting reporter gave for SMS updates, while it is kept."""
    if not case.consent_updates or case.contact_enc is None:
        return None
    return crypto.decrypt(case.contact_enc)


def close_case(
    *,
    session: Session,
    crypto: Crypto,
    case: Case,
    actor: str,
    outcome: str,
    note: str | None,
    now: datetime,
    duplicate_of: Case | None = None,
) -> bool:
    """Close a case with an outcome and an optional note (encrypted); False if already closed.

    The reporter's contact is kept until the closing SMS is queued: call `erase_contact`
    right after queueing it (the outbox row holds its own encrypted copy). A duplicate
    closing may name the case it duplicates (`duplicate_of`, which must be another case):
    a CaseDuplicate points at it, the closing event says its number, and the reporter
    gets that case's news from then on (so the caller keeps the contact).
    """
    if outcome not in set(Outcome):
        raise InvalidAction("outcome", "one of " + ", ".join(Outcome))
    if duplicate_of is not None and outcome != Outcome.DUPLICATE:
        raise InvalidAction("duplicate_of", "only a duplicate closing names an original")
    if case.status == Status.CLOSED:
        return False
    original = None
    if duplicate_of is not None:
        original = _mark_duplicate(session, case, duplicate_of, actor, now)
    note = (note or "").strip()
    # The committee that closes it: the highest holding it (whose closing the reporter
    # then judges; the figures credit it with the answer).
    top = _top_assignment(session, case)
    case.status, case.outcome, case.closed_at, case.updated_at = Status.CLOSED, outcome, now, now
    data: dict[str, object] = {"outcome": outcome}
    if top is not None:
        data["committee_id"] = top.committee_id
    if original is not None:
        data["duplicate_of"] = original.number
    add_event(
        session=session,
        case_id=case.id,
        kind=EventKind.CLOSED,
        at=now,
        actor=actor,
        body_enc=crypto.encrypt(note) if note else None,
        data=data,
    )
    session.flush()
    return True


def erase_contact(*, session: Session, case: Case, now: datetime) -> bool:
    """Drop the reporter's encrypted number; False when there was none."""
    if case.contact_enc is None:
        return False
    case.contact_enc, case.updated_at = None, now
    add_event(session=session, case_id=case.id, kind=EventKind.CONTACT_ERASED, at=now, actor=SYSTEM)
    session.flush()
    return True


def _top_assignment(session: Session, case: Case) -> CaseAssignment | None:
    assignments = active_assignments(session=session, case_id=case.id)
    return max(assignments, key=lambda assignment: height(assignment.committee), default=None)


def _claim_escalation(session: Session, case: Case, top: CaseAssignment, now: datetime) -> bool:
    claim = (
        update(CaseAssignment)
        .where(CaseAssignment.id == top.id, CaseAssignment.escalated_at.is_(None))
        .values(escalated_at=now)
        .execution_options(synchronize_session=False)
    )
    if cast(CursorResult[Any], session.execute(claim)).rowcount != 1:
        return False
    passed_up = (
        update(CaseAssignment)
        .where(
            CaseAssignment.case_id == case.id,
            CaseAssignment.active.is_(True),
            CaseAssignment.escalated_at.is_(None),
        )
        .values(escalated_at=now)
        .execution_options(synchronize_session=False)
    )
    session.execute(passed_up)
    expire_loaded(session, CaseAssignment)
    return True


def escalate(
    *, session: Session, case: Case, actor: str, now: datetime, reason: str
) -> Committee | None:
    """Pass a case up from its highest committee to the nearest one above that takes it.

    Every assignment it had is marked escalated (the deadline sweep leaves them alone); the
    new one starts its own deadline. `reason` is a short code stored as is ("overdue",
    "requested"), never personal text. Return the new committee, or None when there is none
    above (the attempt is still recorded once), the case is closed or in triage, or a
    concurrent escalation got there first.
    """
    top = None if case.status == Status.CLOSED else _top_assignment(session, case)
    if top is None or not _claim_escalation(session, case, top, now):
        return None
    target = next_above(session=session, committee=top.committee, category=case.category)
    if target is not None:
        assign(
            session=session,
            case_id=case.id,
            committee_id=target.id,
            reason=AssignmentReason.ESCALATED,
            now=now,
        )
    data = {
        "reason": reason,
        "from": top.committee.code,
        "to": None if target is None else target.code,
    }
    add_event(
        session=session, case_id=case.id, kind=EventKind.ESCALATED, at=now, actor=actor, data=data
    )
    case.updated_at = now
    session.flush()
    return target


def reassign(
    *, session: Session, case: Case, actor: str, committee_id: int, now: datetime
) -> Committee:
    """Move a case to one committee's inbox (out of triage, or away from others).

    Other active assignments are deactivated; the case leaves triage and is ROUTED if it
    was RECEIVED.
    """
    committee = session.get(Committee, committee_id)
    if committee is None or not committee.active:
        raise InvalidAction("committee", "no such active committee")
    others = [
        a
        for a in active_assignments(session=session, case_id=case.id)
        if a.committee_id != committee_id
    ]
    for assignment in others:
        assignment.active = False
    added = assign(
        session=session,
        case_id=case.id,
        committee_id=committee_id,
        reason=AssignmentReason.REASSIGNED,
        now=now,
    )
    if not (others or added or case.triaged_at):
        return committee
    case.triaged_at, case.updated_at = None, now
    case.routed_at = case.routed_at or now
    if case.status == Status.RECEIVED:
        case.status = Status.ROUTED
    data = {"from": [a.committee.code for a in others], "to": committee.code}
    add_event(
        session=session, case_id=case.id, kind=EventKind.REASSIGNED, at=now, actor=actor, data=data
    )
    session.flush()
    return committee


def member_may_act(*, session: Session, member: CommitteeMember, case: Case) -> bool:
    """Tell whether a focal point may act on a case.

    Only an active member of an active committee that has the case in its inbox (an active
    assignment), or of a committee above one that has (a higher level over the same place
    or one above it). Cases in triage are for admins only.
    """
    committee = member.committee
    if not (member.active and committee.active):
        return False
    return any(
        assignment.committee_id == committee.id or is_above(committee, assignment.committee)
        for assignment in active_assignments(session=session, case_id=case.id)
    )


def acting_member(*, session: Session, pseudonym: str, case: Case) -> CommitteeMember | None:
    """Return the membership through which the number with `pseudonym` may act on `case`.

    A member of the assigned committee is preferred over a member of one above it.
    """
    members = members_for_pseudonym(session=session, pseudonym=pseudonym)
    assigned = {a.committee_id for a in active_assignments(session=session, case_id=case.id)}
    members.sort(key=lambda member: member.committee_id not in assigned)
    return next((m for m in members if member_may_act(session=session, member=m, case=case)), None)
