"""The reporter's answer to a closing, with what must go out for it: an appeal is alerted
at once to the committee it reached, in the same transaction (see storage/appeals.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from flows.i18n import Catalogs
from storage import appeals
from storage.models import Case, CaseEvent, EventKind, Satisfaction
from storage.privacy import Crypto
from workers.alerts import queue_alerts
from workers.texts import ANSWER_APPEALED, ANSWER_REOPENED, ANSWER_SOLVED, answer_text


@dataclass
class AnswerTaken:
    """An answer taken, the reply to give the reporter, and the alerts to send once the
    transaction is committed."""

    answered: appeals.Answered
    reply: str
    to_send: list[int] = field(default_factory=list)


def _appeal_event(session: Session, case_id: int) -> int | None:
    query = (
        select(CaseEvent.id)
        .where(CaseEvent.case_id == case_id, CaseEvent.kind == EventKind.APPEALED)
        .order_by(CaseEvent.id.desc())
        .limit(1)
    )
    return session.scalar(query)


def take_answer(
    *,
    session: Session,
    crypto: Crypto,
    catalogs: Catalogs,
    case: Case,
    pseudonym: str,
    answer: str,
    channel: str,
    now: datetime,
) -> AnswerTaken | None:
    """Take the answer of the number with `pseudonym` to the closing of `case`; None when
    it is not theirs to give now (see `storage.appeals.answer_closing`)."""
    answered = appeals.answer_closing(
        session=session, case=case, pseudonym=pseudonym, answer=answer, channel=channel, now=now
    )
    if answered is None:
        return None
    translator = catalogs.translator(case.language)
    if answered.satisfaction == Satisfaction.SOLVED:
        return AnswerTaken(answered, answer_text(translator, ANSWER_SOLVED, case.number))
    target = answered.committee
    if target is None:
        return AnswerTaken(answered, answer_text(translator, ANSWER_REOPENED, case.number))
    alerts = queue_alerts(
        session=session,
        crypto=crypto,
        catalogs=catalogs,
        case=case,
        committee_ids=[target.id],
        now=now,
        appeal=_appeal_event(session, case.id),
    )
    reply = answer_text(translator, ANSWER_APPEALED, case.number, target.name)
    return AnswerTaken(answered, reply, alerts)
