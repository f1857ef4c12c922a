"""Alerts: a case in a committee's inbox is told at once to each of its active focal
points, in the focal point's own language, as one outbox row each."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.orm import Session

from flows.i18n import Catalogs
from flows.render import clean_value, shorten
from storage import outbox
from storage.models import (
    Case,
    Committee,
    Level,
    MessageKind,
    OutboxStatus,
    RecipientKind,
)
from storage.privacy import Crypto
from workers.texts import PLACE_CHARS, AlertFacts, alert_text, excerpt


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
) -> list[int]:
    """Queue an alert about `case` to every active member of each committee.

    Keyed `alert:{case}:{member}:{committee}` (or `escalation:…`), so queueing again adds
    nothing. Return the ids of the new rows to send (a member who sent STOP gets a
    cancelled row, nothing to send).
    """
    facts = facts_of(case, crypto)
    kind, prefix = (
        (MessageKind.ESCALATION, "escalation") if escalated else (MessageKind.ALERT, "alert")
    )
    queued: list[int] = []
    for committee_id in dict.fromkeys(committee_ids):
        committee = session.get(Committee, committee_id)
        if committee is None or not committee.active:
            continue
        for member in (m for m in committee.members if m.active):
            translator = catalogs.translator(member.language)
            message = outbox.queue_sms(
                session=session,
                crypto=crypto,
                dedupe_key=f"{prefix}:{case.id}:{member.id}:{committee.id}",
                to_e164=member.phone,
                body=alert_text(
                    translator, facts, timezone=committee.timezone, escalated=escalated
                ),
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
