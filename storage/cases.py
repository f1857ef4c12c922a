"""The case lifecycle: one function per action.

Functions add and flush but never commit: the caller owns the transaction, so a report
is committed before anything is enqueued for it.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage import casenumber
from storage.db import utcnow
from storage.models import (
    Case,
    CaseEvent,
    Category,
    Channel,
    EventKind,
    Location,
    Occurred,
    Status,
)
from storage.privacy import Crypto, is_e164, is_pseudonym
from storage.severity import derive_severity

NUMBER_ATTEMPTS = 8
YES, NO = "yes", "no"
REPORTER = "reporter"
SYSTEM = "system"
_CODE = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
_LANGUAGE = re.compile(r"[a-z]{2,3}(?:[_-][A-Za-z0-9]{2,4})?")


class NoFreeNumber(RuntimeError):
    """Every number drawn was taken; with a sound random source this does not happen."""


class InvalidReport(ValueError):
    """An answer is missing or outside its fixed vocabulary."""

    def __init__(self, field: str, value: object) -> None:
        super().__init__(f"invalid report field {field!r}: {value!r}")
        self.field = field


@dataclass(frozen=True, slots=True)
class StatusView:
    """What a reporter may learn about their case."""

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


def _number_taken(session: Session, number: str) -> bool:
    return bool(session.scalar(select(exists().where(Case.number == number))))


def _insert_with_new_number(session: Session, fields: dict[str, Any], rng: random.Random) -> Case:
    """Insert a case under a fresh number, drawing again while the number is taken.

    Each attempt builds a new object: one whose INSERT failed is not reusable.
    """
    for _ in range(NUMBER_ATTEMPTS):
        case = Case(number=casenumber.new_number(rng), **fields)
        try:
            with session.begin_nested():
                session.add(case)
        except IntegrityError:
            if not _number_taken(session, case.number):
                raise
            continue
        return case
    raise NoFreeNumber(f"no free case number after {NUMBER_ATTEMPTS} draws")


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
) -> Case:
    """Record a new report with a fresh case number and its `received` event.

    The place is linked when `place_code` names an active location; otherwise only the
    typed place text is kept. The contact number is kept, encrypted, only when the
    reporter asked for SMS updates.
    """
    _check_origin(
        pseudonym=pseudonym, channel=channel, language=language, contact_e164=contact_e164
    )
    report = _read_answers(answers)
    location_id = _location_id(session, report.place_code)
    keep_contact = report.sms_updates and contact_e164 is not None
    fields: dict[str, Any] = {
        "category": report.category,
        "hazard": report.hazard,
        "severity": derive_severity(
            category=report.category, hazard=report.hazard, danger_now=report.danger_now
        ),
        "location_id": location_id,
        "place_text_enc": _encrypt(crypto, report.place_text),
        "occurred": report.occurred,
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
    }
    case = _insert_with_new_number(session, fields, rng)
    data: dict[str, Any] = {"channel": channel, "severity": case.severity}
    if report.place_code is not None and location_id is None:
        data["unknown_place_code"] = report.place_code
    session.add(_event(case.id, EventKind.RECEIVED, at=now, actor=REPORTER, data=data))
    session.flush()
    return case


def find_case(*, session: Session, number: str) -> Case | None:
    """Return the case a person typed the number of, with or without separators."""
    canonical = casenumber.parse(number)
    if canonical is None:
        return None
    return session.scalar(select(Case).where(Case.number == canonical))


def status_view(*, session: Session, crypto: Crypto, case: Case) -> StatusView:
    """Return the status of `case` and the latest message the committee left for the reporter."""
    query = (
        select(CaseEvent.body_enc)
        .where(CaseEvent.case_id == case.id, CaseEvent.kind == EventKind.MESSAGE)
        .order_by(CaseEvent.at.desc(), CaseEvent.id.desc())
        .limit(1)
    )
    body = session.scalar(query)
    return StatusView(
        number=case.number,
        status=case.status,
        outcome=case.outcome,
        message=None if body is None else crypto.decrypt(body),
    )


def add_information(
    *,
    session: Session,
    crypto: Crypto,
    case: Case,
    text: str,
    channel: str,
    actor: str = REPORTER,
    now: datetime | None = None,
) -> CaseEvent:
    """Append information to `case`, stored encrypted, as an `info_added` event."""
    text = text.strip()
    if not text:
        raise InvalidReport("text", text)
    at = now or utcnow()
    event = _event(
        case.id,
        EventKind.INFO_ADDED,
        at=at,
        actor=actor,
        body_enc=crypto.encrypt(text),
        data={"channel": channel},
    )
    session.add(event)
    case.updated_at = at
    session.flush()
    return event


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
