"""Actions followed to their date: the day before an action is due its committee is reminded
by SMS; once its due date has ended undone it is marked missed and the case climbs to the
committee above, as an unacknowledged case does, with an alert saying which action was
missed.

Both run from the sweep, each action in its own transaction; the reminder is claimed and
the missed mark set by a conditional UPDATE, so several sweeps send each SMS once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from flows.i18n import Translator
from flows.sms import CASE, CASE_DIGITS, COMMITTEE, EXCERPT, N_, Sample, Template, longest
from storage import actions, cases, outbox
from storage.casenumber import display
from storage.db import utcnow
from storage.models import CaseAction, Committee, MessageKind, OutboxStatus, RecipientKind
from workers import context
from workers.context import WorkerContext
from workers.notify import enqueue_sends
from workers.texts import ALERT_SEGMENTS, SEVERITY, fill, label

log = logging.getLogger(__name__)

MISSED = "action_missed"
REMINDER = N_(
    "Sauti case {case}: action {n} is due tomorrow, {due}. {what}When it is done, send "
    "DONE {case} {n}."
)
MISSED_ALERT = N_(
    "Sauti case {case} ({severity}) passed up to you: action {n} of {committee}, due {due}, "
    "was not done. {what}Reply ACK {number} or HELP."
)
DUE_FORMAT = "%d/%m"


def _values(action: CaseAction, what: str) -> dict[str, str]:
    return {
        "case": display(action.case.number),
        "number": action.case.number,
        "n": str(action.n),
        "due": action.due_on.strftime(DUE_FORMAT),
        "what": what,
        "committee": action.committee.name,
        "severity": action.case.severity,
    }


def reminder_text(translator: Translator, action: CaseAction, what: str) -> str:
    """The committee's reminder of an action due tomorrow; what it is may be shortened."""
    values = _values(action, what)
    return fill(translator, REMINDER, values, shrink="what", frame='"{}" ')


def missed_text(translator: Translator, action: CaseAction, what: str) -> str:
    """The alert of the committee above that an action was missed and the case passed up."""
    values = {
        **_values(action, what),
        "severity": label(translator, SEVERITY, action.case.severity),
    }
    return fill(
        translator, MISSED_ALERT, values, budget=ALERT_SEGMENTS, shrink="what", frame='"{}" '
    )


def _to_members(
    ctx: WorkerContext,
    session: Session,
    committee: Committee,
    key: str,
    kind: MessageKind,
    body: Callable[[Translator], str],
    now: datetime,
    case_id: int,
) -> list[int]:
    """One SMS to each active member of `committee`, keyed `{key}:{member}`."""
    queued: list[int] = []
    if not committee.active:
        return queued
    for member in (m for m in committee.members if m.active):
        message = outbox.queue_sms(
            session=session,
            crypto=ctx.crypto,
            dedupe_key=f"{key}:{member.id}",
            to_e164=member.phone,
            body=body(ctx.catalogs.translator(member.language)),
            language=member.language,
            kind=kind,
            recipient_kind=RecipientKind.MEMBER,
            member_id=member.id,
            case_id=case_id,
            now=now,
        )
        if message is not None and message.status == OutboxStatus.QUEUED:
            queued.append(message.id)
    return queued


def _remind_one(ctx: WorkerContext, action_id: int, now: datetime) -> bool:
    with ctx.sessions.begin() as session:
        action = actions.claim_reminder(session=session, action_id=action_id, now=now)
        if action is None:
            return False
        what = actions.what(crypto=ctx.crypto, action=action)
        queued = _to_members(
            ctx,
            session,
            action.committee,
            f"reminder:{action.id}",
            MessageKind.ALERT,
            lambda translator: reminder_text(translator, action, what),
            now,
            action.case_id,
        )
    enqueue_sends(queued, connection=ctx.redis)
    return True


def remind_due_actions(*, now: datetime | None = None) -> int:
    """Remind each committee of its actions due tomorrow (its own calendar); return how many
    actions were reminded."""
    ctx = context.current()
    at = now or utcnow()
    with ctx.sessions() as session:
        due = actions.actions_to_remind(session=session, now=at)
    return sum(_remind_one(ctx, action_id, at) for action_id in due)


def _miss_one(ctx: WorkerContext, action_id: int, now: datetime) -> bool:
    with ctx.sessions.begin() as session:
        action = actions.mark_missed(session=session, action_id=action_id, now=now)
        if action is None:
            return False
        target = cases.escalate(
            session=session, case=action.case, actor=cases.SYSTEM, now=now, reason=MISSED
        )
        queued: list[int] = []
        if target is not None:
            what = actions.what(crypto=ctx.crypto, action=action)
            queued = _to_members(
                ctx,
                session,
                target,
                f"missed:{action.id}",
                MessageKind.ESCALATION,
                lambda translator: missed_text(translator, action, what),
                now,
                action.case_id,
            )
    enqueue_sends(queued, connection=ctx.redis)
    log.info("action_id=%s missed, case passed to committee_id=%s", action_id, target and target.id)
    return True


def escalate_missed_actions(*, now: datetime | None = None) -> int:
    """Mark missed every planned action whose due date has ended and pass its case up;
    return how many actions were marked."""
    ctx = context.current()
    at = now or utcnow()
    with ctx.sessions() as session:
        missed = actions.actions_missed(session=session, now=at)
    return sum(_miss_one(ctx, action_id, at) for action_id in missed)


_SAMPLES: dict[str, Sample] = {
    "case": CASE,
    "number": CASE_DIGITS,
    "n": "99",
    "due": "31/12",
    "what": f'"{EXCERPT}" ',
    "committee": COMMITTEE,
    "severity": longest(SEVERITY),
}
# Checked by `sauti flows lint` in every language with the longest realistic values.
SMS_TEMPLATES = (
    Template(REMINDER, 2, _SAMPLES),
    Template(MISSED_ALERT, ALERT_SEGMENTS, _SAMPLES),
)
