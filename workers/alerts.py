"""Alerts: a case in a committee's inbox is told at once to each of its active focal
points, in the focal point's own language, as one outbox row each; so is information added
to a case the committee has.

A case grouped in an incident (storage/incidents.py) whose committee already got a full
alert about an earlier case of that incident gets, instead of another full alert, one
short "another report (N) on incident X" SMS per member. A critical case, or one whose
reporter says someone is in danger now, still gets a full alert: a rising danger must not
be muted by the reports before it. Escalation and appeal alerts are always full.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from flows.i18n import Catalogs
from flows.render import clean_value, shorten
from storage import incidents, outbox
from storage.models import (
    Case,
    CaseEvent,
    Committee,
    CommitteeMember,
    Incident,
    IncidentCase,
    Level,
    MessageKind,
    OutboxMessage,
    OutboxStatus,
    RecipientKind,
    Severity,
)
from storage.privacy import Crypto
from workers.texts import (
    PLACE_CHARS,
    AlertFacts,
    alert_text,
    excerpt,
    incident_report_text,
    info_added_text,
)

FULL_ALERT_KINDS = (MessageKind.ALERT, MessageKind.ESCALATION)


def _place(case: Case, crypto: Crypto) -> str | None:
    """The site and its territory ("Bisie, Walikale"), or the place the reporter typed."""
    location = case.location
    if location is not None:
        parent = location.parent
        if location.level == Level.SITE and parent is not None:
            return f"{location.name}, {parent.name}"
        return location.name
    if case.place_text_enc is not None:
        return shorten(clean_value(crypto.decrypt(case.place_text_enc)), PLACE_CHARS)
    return None


def facts_of(case: Case, crypto: Crypto) -> AlertFacts:
    """What an alert says about `case` (the description decrypted, cut to its first words)."""
    description = None if case.description_enc is None else crypto.decrypt(case.description_enc)
    return AlertFacts(
        number=case.number,
        category=case.category,
        hazard=case.hazard,
        severity=case.severity,
        occurred=case.occurred,
        place=_place(case, crypto),
        excerpt=excerpt(description),
        created_at=case.created_at,
    )


def queue_alerts(
    *,
    session: Session,
    crypto: Crypto,
    catalogs: Catalogs,
    case: Case,
    committee_ids: Iterable[int],
    now: datetime,
    escalated: bool = False,
    appeal: int | None = None,
    incident: Incident | None = None,
) -> list[int]:
    """Queue an alert about `case` to every active member of each committee.

    Keyed `alert:{case}:{member}:{committee}` (or `escalation:…`, or `appeal:{event}:…` for
    the appeal event `appeal`), so queueing again adds nothing. With the `incident` the case
    was grouped in, committees already alerted about an earlier case of it get the short
    `queue_incident_reports` instead (see the module docstring). Return the ids of the new
    rows to send (a member who sent STOP gets a cancelled row, nothing to send).
    """
    committee_ids = list(dict.fromkeys(committee_ids))
    queued: list[int] = []
    if incident is not None and not (escalated or appeal is not None or must_alert_fully(case)):
        alerted = alerted_committees(session=session, incident=incident, case=case)
        short = [c for c in committee_ids if c in alerted]
        committee_ids = [c for c in committee_ids if c not in alerted]
        queued = queue_incident_reports(
            session=session,
            crypto=crypto,
            catalogs=catalogs,
            case=case,
            incident=incident,
            committee_ids=short,
            now=now,
        )
    facts = facts_of(case, crypto)
    kind, prefix = (
        (MessageKind.ESCALATION, "escalation") if escalated else (MessageKind.ALERT, "alert")
    )
    if appeal is not None:
        kind, prefix = MessageKind.ESCALATION, f"appeal:{appeal}"

    def body(member: CommitteeMember, committee: Committee) -> str:
        translator = catalogs.translator(member.language)
        return alert_text(
            translator,
            facts,
            timezone=committee.timezone,
            escalated=escalated,
            appealed=appeal is not None,
        )

    return queued + _queue_to_members(
        session=session,
        crypto=crypto,
        case=case,
        committee_ids=committee_ids,
        key=f"{prefix}:{case.id}",
        kind=kind,
        body=body,
        now=now,
    )


def must_alert_fully(case: Case) -> bool:
    """Tell whether a case gets a full alert even within an incident already alerted:
    critical, or someone in danger now."""
    return case.severity == Severity.CRITICAL or case.danger_now


def alerted_committees(*, session: Session, incident: Incident, case: Case) -> set[int]:
    """Return the committees whose members got a full alert (or an escalation alert)
    about another case of `incident`."""
    query = (
        select(CommitteeMember.committee_id)
        .join(OutboxMessage, OutboxMessage.member_id == CommitteeMember.id)
        .join(IncidentCase, IncidentCase.case_id == OutboxMessage.case_id)
        .where(
            IncidentCase.incident_id == incident.id,
            OutboxMessage.case_id != case.id,
            OutboxMessage.kind.in_(FULL_ALERT_KINDS),
        )
        .distinct()
    )
    return set(session.scalars(query))


def queue_incident_reports(
    *,
    session: Session,
    crypto: Crypto,
    catalogs: Catalogs,
    case: Case,
    incident: Incident,
    committee_ids: Iterable[int],
    now: datetime,
) -> list[int]:
    """Queue the short "another report (N) on incident X" SMS about `case` to every active
    member of each committee, N being how many cases the incident holds now. Keyed
    `incident:{case}:{member}:{committee}`; return the ids of the new rows to send."""
    facts = facts_of(case, crypto)
    count = incidents.size_of(session, incident.id)

    def body(member: CommitteeMember, committee: Committee) -> str:
        translator = catalogs.translator(member.language)
        return incident_report_text(translator, incident=incident.number, count=count, facts=facts)

    return _queue_to_members(
        session=session,
        crypto=crypto,
        case=case,
        committee_ids=committee_ids,
        key=f"incident:{case.id}",
        kind=MessageKind.INCIDENT_REPORT,
        body=body,
        now=now,
    )


def queue_information_alerts(
    *,
    session: Session,
    crypto: Crypto,
    catalogs: Catalogs,
    case: Case,
    event: CaseEvent,
    committee_ids: Iterable[int],
    now: datetime,
) -> list[int]:
    """Tell every active member of each committee that information was added to `case`.

    The alert says whether it came from the phone that made the report (the event's
    `same_phone`), never which phone. Keyed `info:{event}:{member}:{committee}`; return
    the ids of the new rows to send.
    """
    same_phone = event.data.get("same_phone")

    def body(member: CommitteeMember, committee: Committee) -> str:
        translator = catalogs.translator(member.language)
        return info_added_text(
            translator,
            case.number,
            case.category,
            same_phone=same_phone if isinstance(same_phone, bool) else None,
        )

    return _queue_to_members(
        session=session,
        crypto=crypto,
        case=case,
        committee_ids=committee_ids,
        key=f"info:{event.id}",
        kind=MessageKind.INFO_ALERT,
        body=body,
        now=now,
    )


def _queue_to_members(
    *,
    session: Session,
    crypto: Crypto,
    case: Case,
    committee_ids: Iterable[int],
    key: str,
    kind: MessageKind,
    body: Callable[[CommitteeMember, Committee], str],
    now: datetime,
) -> list[int]:
    """One outbox row per active member of each active committee, keyed
    `{key}:{member}:{committee}`; return the ids of the rows to send."""
    queued: list[int] = []
    for committee_id in dict.fromkeys(committee_ids):
        committee = session.get(Committee, committee_id)
        if committee is None or not committee.active:
            continue
        for member in (m for m in committee.members if m.active):
            message = outbox.queue_sms(
                session=session,
                crypto=crypto,
                dedupe_key=f"{key}:{member.id}:{committee.id}",
                to_e164=member.phone,
                body=body(member, committee),
                language=member.language,
                kind=kind,
                recipient_kind=RecipientKind.MEMBER,
                member_id=member.id,
                case_id=case.id,
                now=now,
            )
            if message is not None and message.status == OutboxStatus.QUEUED:
                queued.append(message.id)
    return queued
