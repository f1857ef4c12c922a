"""SMS to the person who reported a case, sent only when they asked for SMS news and
their number is still kept; each ends with how to follow the case by SMS.

The first is the case number itself, queued when the routing job handles the new report:
a USSD screen vanishes on a basic phone, an SMS stays. A report made by WhatsApp hears
back by WhatsApp (the outbox channel "whatsapp"; the sender falls back to SMS, saying so,
when WhatsApp cannot take the message).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from flows.i18n import Catalogs
from storage import cases, outbox, timelines
from storage.models import Case, Channel, MessageChannel, MessageKind, OutboxStatus, RecipientKind
from storage.privacy import Crypto
from workers.texts import confirmation_text


def queue_to_reporter(
    *,
    session: Session,
    crypto: Crypto,
    case: Case,
    key: str,
    body: str,
    kind: MessageKind,
    now: datetime,
) -> list[int]:
    """Queue an SMS to the reporter of `case` when they asked for updates, keyed `key`
    (queueing it again adds nothing), by WhatsApp for a report made by WhatsApp; return
    the ids of the rows to send."""
    contact = cases.reporter_contact(crypto=crypto, case=case)
    if contact is None:
        return []
    message = outbox.queue_sms(
        session=session,
        crypto=crypto,
        dedupe_key=key,
        to_e164=contact,
        body=body,
        language=case.language,
        kind=kind,
        recipient_kind=RecipientKind.REPORTER,
        case_id=case.id,
        now=now,
        channel=reporter_channel(case),
    )
    if message is None or message.status != OutboxStatus.QUEUED:
        return []
    return [message.id]


def reporter_channel(case: Case) -> str:
    """How news of a case goes to its reporter: by WhatsApp when they reported by it."""
    if case.channel == Channel.WHATSAPP:
        return MessageChannel.WHATSAPP.value
    return MessageChannel.SMS.value


def queue_confirmation(
    *, session: Session, crypto: Crypto, catalogs: Catalogs, case: Case, now: datetime
) -> list[int]:
    """Queue the SMS that gives the reporter their case number, in their language, once
    per case (keyed `confirmation:{case}`); nothing when they did not ask for SMS news."""
    if cases.reporter_contact(crypto=crypto, case=case) is None:
        return []
    within = timelines.within_values(timelines.answer_within(session=session, case=case))
    body = confirmation_text(catalogs.translator(case.language), case.number, within)
    return queue_to_reporter(
        session=session,
        crypto=crypto,
        case=case,
        key=f"confirmation:{case.id}",
        body=body,
        kind=MessageKind.CONFIRMATION,
        now=now,
    )
