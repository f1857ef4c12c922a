"""The daily digest: at its `digest_at` local time, each committee's focal points get one
SMS listing the committee's open cases, overdue first, then new since the last digest,
then those with information added since the last digest, then the rest; the committee's
actions not done, missed or due by tomorrow, come right after the overdue cases.

Checked every minute; `mark_digest_sent` records the (committee, local date) pair in the
transaction that queues the SMS, so with several schedulers or after a restart a
committee still gets one digest a day. A committee with no open case gets no SMS.

The open cases of one incident (storage/incidents.py) that the committee holds are one
line ("Incident 482-177-3501: 5 reports, Accident, Bisie"), counted once, in the most
urgent group any of them is in; a case standing alone is listed as before. So the
header's counts are the lines of each group, and they add up.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from storage import incidents, outbox
from storage.actions import DueAction, due_for_committee
from storage.db import utcnow
from storage.inbox import (
    CaseLine,
    DigestItems,
    committees_due_for_digest,
    digest_items,
    digest_local_date,
    last_digest_at,
    mark_digest_sent,
)
from storage.models import Committee, MessageKind, OutboxStatus, RecipientKind
from workers import context
from workers.context import WorkerContext
from workers.notify import enqueue_sends
from workers.texts import DigestFacts, IncidentLine, digest_text

log = logging.getLogger(__name__)

FIRST_DIGEST_COVERS = timedelta(days=1)


def _queue_digest(
    ctx: WorkerContext,
    session: Session,
    committee: Committee,
    facts: DigestFacts,
    key: str,
    now: datetime,
) -> list[int]:
    queued: list[int] = []
    for member in (m for m in committee.members if m.active):
        message = outbox.queue_sms(
            session=session,
            crypto=ctx.crypto,
            dedupe_key=f"{key}:{member.id}",
            to_e164=member.phone,
            body=digest_text(ctx.catalogs.translator(member.language), facts),
            language=member.language,
            kind=MessageKind.DIGEST,
            recipient_kind=RecipientKind.MEMBER,
            member_id=member.id,
            now=now,
        )
        if message is not None and message.status == OutboxStatus.QUEUED:
            queued.append(message.id)
    return queued


Line = CaseLine | IncidentLine


def incident_lines(session: Session, committee_id: int) -> dict[str, IncidentLine]:
    """The digest line of each incident of which the committee holds at least two open
    cases, by the number of each of those cases (one such case alone is a case line)."""
    lines: dict[str, IncidentLine] = {}
    for incident, held in incidents.open_incidents(session=session, committee_id=committee_id):
        if len(held) < 2:
            continue
        place = None if incident.location is None else incident.location.name
        line = IncidentLine(incident.number, len(held), incident.category, place)
        lines.update(dict.fromkeys((case.number for case in held), line))
    return lines


def fold_incidents(
    groups: Sequence[Sequence[CaseLine]], by_case: dict[str, IncidentLine]
) -> list[list[Line]]:
    """The groups (most urgent first) with each incident's cases replaced by one line, in
    the first group that holds one of them."""
    placed: set[str] = set()
    folded: list[list[Line]] = []
    for group in groups:
        lines: list[Line] = []
        for line in group:
            incident = by_case.get(line.number)
            if incident is None:
                lines.append(line)
            elif incident.number not in placed:
                placed.add(incident.number)
                lines.append(incident)
        folded.append(lines)
    return folded


def _facts(
    session: Session,
    committee: Committee,
    items: DigestItems,
    due: list[DueAction],
    now: datetime,
) -> DigestFacts:
    by_case = incident_lines(session, committee.id)
    overdue, new, open_ = fold_incidents((items.overdue, items.new, items.open), by_case)
    return DigestFacts(
        local_date=digest_local_date(committee=committee, now=now).strftime("%d/%m"),
        committee=committee.name,
        overdue=overdue,
        new=new,
        open=open_,
        informed=items.informed,
        actions=due,
    )


def _digest_one(ctx: WorkerContext, committee_id: int, now: datetime) -> bool:
    """Record and queue one committee's digest for today; False if another run did."""
    with ctx.sessions.begin() as session:
        committee = session.get(Committee, committee_id)
        if committee is None:
            return False
        local_date = digest_local_date(committee=committee, now=now)
        since = last_digest_at(session=session, committee_id=committee_id)
        if not mark_digest_sent(
            session=session, committee_id=committee_id, local_date=local_date, now=now
        ):
            return False
        items = digest_items(
            session=session,
            committee_id=committee_id,
            since=since or now - FIRST_DIGEST_COVERS,
            now=now,
        )
        due = due_for_committee(session=session, committee=committee, now=now)
        queued: list[int] = []
        if items.overdue or items.new or items.open or due:
            key = f"digest:{committee_id}:{local_date.isoformat()}"
            facts = _facts(session, committee, items, due, now)
            queued = _queue_digest(ctx, session, committee, facts, key, now)
    enqueue_sends(queued, connection=ctx.redis)
    log.info("digest committee_id=%s messages=%d", committee_id, len(queued))
    return True


def send_digests(*, now: datetime | None = None) -> int:
    """Send the digest of every committee whose local digest time has come today;
    return how many committees this run handled."""
    ctx = context.current()
    at = now or utcnow()
    with ctx.sessions() as session:
        due = committees_due_for_digest(session=session, now=at)
    return sum(_digest_one(ctx, committee_id, at) for committee_id in due)
