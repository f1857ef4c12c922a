"""Signals raised and told: each routed report is checked for the absolute rule and for its
territory's threshold rule (storage/signals.py), so a burst raises its signal as soon as
the day's count crosses the threshold, once; a periodic sweep checks the last day's reports
again, in case a check never ran. Each new signal is told by SMS to every active member of
its committee, in the member's language, in the same transaction that raised it."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from flows.i18n import Catalogs
from storage import outbox
from storage.db import utcnow
from storage.models import MessageKind, OutboxStatus, RecipientKind, Signal, SignalRule
from storage.privacy import Crypto
from storage.signals import SpikeRule, check_case, check_since, get_signal, usual_range
from workers import context
from workers.notify import enqueue_sends
from workers.texts import SignalFacts, signal_text

log = logging.getLogger(__name__)

# The sweep looks back a day and a half: every committee's "today" is in it, whatever its
# timezone, and so is yesterday's evening.
SWEEP_LOOKBACK = timedelta(hours=36)


def facts_of(signal: Signal) -> SignalFacts:
    """What a signal's SMS says about it (its cases' numbers, oldest first)."""
    usual = (0, 0)
    if signal.baseline_mean is not None and signal.baseline_sd is not None:
        usual = usual_range(signal.baseline_mean, signal.baseline_sd)
    place = None
    if signal.territory is not None:
        place = signal.territory.name
    return SignalFacts(
        threshold=signal.rule == SignalRule.THRESHOLD,
        category=signal.category,
        place=place,
        day=signal.day.strftime("%d/%m"),
        count=signal.count,
        usual=usual,
        numbers=[link.case.number for link in signal.cases],
    )


def queue_signal_alerts(
    *, session: Session, crypto: Crypto, catalogs: Catalogs, signal_id: int, now: datetime
) -> list[int]:
    """Queue the SMS about a signal to each active member of its committee, keyed
    `signal:{signal}:{member}` so queueing again adds nothing; return the rows to send.

    A signal with no committee (none covers its place) is on the console only.
    """
    signal = get_signal(session=session, signal_id=signal_id)
    if signal is None or signal.committee is None or not signal.committee.active:
        return []
    facts = facts_of(signal)
    first_case = signal.cases[0].case_id if signal.cases else None
    queued: list[int] = []
    for member in (m for m in signal.committee.members if m.active):
        message = outbox.queue_sms(
            session=session,
            crypto=crypto,
            dedupe_key=f"signal:{signal.id}:{member.id}",
            to_e164=member.phone,
            body=signal_text(catalogs.translator(member.language), facts),
            language=member.language,
            kind=MessageKind.SIGNAL,
            recipient_kind=RecipientKind.MEMBER,
            member_id=member.id,
            case_id=first_case,
            now=now,
        )
        if message is not None and message.status == OutboxStatus.QUEUED:
            queued.append(message.id)
    return queued


def _tell(
    session: Session, ctx: context.WorkerContext, signals: list[Signal], now: datetime
) -> list[int]:
    to_send: list[int] = []
    for signal in signals:
        to_send += queue_signal_alerts(
            session=session, crypto=ctx.crypto, catalogs=ctx.catalogs, signal_id=signal.id, now=now
        )
    return to_send


def check_report(report_id: int, *, now: datetime | None = None) -> int:
    """Check one report for the signals it raises, queue their SMS in the same transaction
    and enqueue the sending; return how many signals this run raised (a rerun: none)."""
    ctx = context.current()
    at = now or utcnow()
    rule = SpikeRule.from_settings(ctx.settings)
    with ctx.sessions.begin() as session:
        raised = check_case(session=session, case_id=report_id, rule=rule, now=at)
        to_send = _tell(session, ctx, raised, at)
    enqueue_sends(to_send, connection=ctx.redis)
    if raised:
        log.info(
            "signals case_id=%s raised=%s sms=%d",
            report_id,
            ",".join(str(signal.id) for signal in raised),
            len(to_send),
        )
    return len(raised)


def sweep_signals(*, now: datetime | None = None) -> int:
    """Check again the reports of the last day and a half (a check that never ran, a Redis
    outage); return how many signals were raised."""
    ctx = context.current()
    at = now or utcnow()
    rule = SpikeRule.from_settings(ctx.settings)
    with ctx.sessions.begin() as session:
        raised = check_since(session=session, since=at - SWEEP_LOOKBACK, rule=rule, now=at)
        to_send = _tell(session, ctx, raised, at)
    enqueue_sends(to_send, connection=ctx.redis)
    if raised:
        log.info("signal sweep raised=%d sms=%d", len(raised), len(to_send))
    return len(raised)
