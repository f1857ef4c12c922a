"""What can be done to a case, by whoever does it: a focal point's SMS command, the console
or the API.

`CaseWork` holds one action's context (the transaction, the case, who acts, when) and has
one method per action. Each writes its case event through `storage.cases`, queues what
must go out by SMS (alerts to a committee, a message or closing notice to a consenting
reporter) in the same transaction, and returns a `Done` with the outbox ids to send once
the transaction is committed. `perform` wraps one action by a console or API user: it
finds the case, refuses a closed one (but for linking: a closed case still tells of its
incident), audits the action and enqueues the sends.

A case closed as a duplicate of another (`close(..., duplicate_of=...)`) keeps its
reporter's contact: the committee's messages and the closing of the case it duplicates
go to that reporter too, under their own case number, once per reporter (the same phone
reporting twice hears once); the original's closing is their last news, and their contact
is erased with it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from flows.i18n import Catalogs, Translator
from storage import actions, cases, incidents
from storage.assignments import active_assignments, height
from storage.casenumber import parse
from storage.casequery import case_by_number
from storage.cases import InvalidAction
from storage.committees import committee_by_code
from storage.db import utcnow
from storage.models import Case, CaseAction, Committee, MessageKind, Outcome, Status
from storage.privacy import Crypto
from storage.users import audit
from workers.alerts import queue_alerts
from workers.context import live_catalogs
from workers.escalation import REQUESTED, escalate_and_alert
from workers.notify import enqueue_sends
from workers.reporters import queue_to_reporter
from workers.texts import reporter_closed_text, reporter_message_text

if TYPE_CHECKING:
    from gateway.runtime import Runtime

# Longer than any SMS command can carry, short enough to read on one screen.
MAX_TEXT = 2000


class Action(StrEnum):
    NOTE = "note"
    ACKNOWLEDGE = "acknowledge"
    MESSAGE = "message"
    REASSIGN = "reassign"
    ESCALATE = "escalate"
    CLOSE = "close"
    ADD_ACTION = "action_add"
    ACTION_DONE = "action_done"
    VERIFY_ACTION = "action_verify"
    LINK = "link"
    CONFIRM_LINK = "link_confirm"
    UNLINK = "unlink"


# Actions a closed case still takes: which incident it belongs to.
ON_CLOSED_CASES = frozenset({Action.LINK, Action.CONFIRM_LINK, Action.UNLINK})


class CaseNotFound(LookupError):
    """No case has this number."""


class CaseClosed(RuntimeError):
    """The case is closed: it can be read, not acted on."""


@dataclass
class Done:
    """What an action changed, and the outbox rows to send once the transaction commits.

    `committee` is the committee the case reached (escalate, reassign); `by_sms` tells
    whether a message to the reporter goes out by SMS or waits for their status check.
    """

    changed: bool = True
    to_send: list[int] = field(default_factory=list)
    committee: str | None = None
    committee_name: str | None = None
    by_sms: bool = False
    action: CaseAction | None = None
    incident: str | None = None
    incident_size: int = 0
    duplicate_of: str | None = None


def user_actor(username: str) -> str:
    """Return how case events name a console or API user."""
    return f"user:{username}"


def will_text_reporter(case: Case) -> bool:
    """Tell whether a message to the reporter would go out by SMS (they asked, number kept)."""
    return case.consent_updates and case.contact_enc is not None


def _checked_text(text: str) -> str:
    text = text.strip()
    if not text:
        raise InvalidAction("text", "write some text")
    if len(text) > MAX_TEXT:
        raise InvalidAction("text", f"at most {MAX_TEXT} characters")
    return text


@dataclass(frozen=True)
class CaseWork:
    """One action on one open case, inside the caller's transaction.

    `committee_id` is the committee the actor answers for (a focal point's); None for a
    console or API user, who acts for the case as a whole.
    """

    session: Session
    crypto: Crypto
    catalogs: Catalogs
    case: Case
    actor: str
    now: datetime
    committee_id: int | None = None

    def acknowledge(self) -> Done:
        """Acknowledge the case; `changed` is False when it was acknowledged already."""
        changed = cases.acknowledge(
            session=self.session,
            case=self.case,
            actor=self.actor,
            committee_id=self.committee_id,
            now=self.now,
        )
        return Done(changed=changed)

    def note(self, text: str) -> Done:
        """Add an internal note; the reporter never sees it."""
        cases.add_note(
            session=self.session,
            crypto=self.crypto,
            case=self.case,
            actor=self.actor,
            text=_checked_text(text),
            now=self.now,
        )
        return Done()

    def message(self, text: str) -> Done:
        """Leave a message for the reporter, sent by SMS when they asked for updates."""
        text = _checked_text(text)
        event = cases.message_reporter(
            session=self.session,
            crypto=self.crypto,
            case=self.case,
            actor=self.actor,
            text=text,
            now=self.now,
        )

        def body(translator: Translator, number: str) -> str:
            return reporter_message_text(translator, number, text)

        to_send = self._to_reporters(f"message:{event.id}", body, MessageKind.REPORTER_MESSAGE)
        # No consent, or the reporter sent STOP: the status check is where they will read it.
        return Done(to_send=to_send, by_sms=bool(to_send))

    def close(self, outcome: str, note: str | None, duplicate_of: Case | None = None) -> Done:
        """Close the case with an outcome, tell a consenting reporter, drop their number.

        Resolved with an action not done yet needs a note saying why (InvalidAction "reason").
        A duplicate closing naming the case it duplicates keeps the reporter's number for
        that case's news (module docstring).
        """
        if outcome not in set(Outcome):
            raise InvalidAction("outcome", "one of " + ", ".join(Outcome))
        note = (note or "").strip()
        if len(note) > MAX_TEXT:
            raise InvalidAction("note", f"at most {MAX_TEXT} characters")
        if outcome == Outcome.RESOLVED and not note and self.open_actions():
            raise InvalidAction("reason", "say why it is resolved with actions not done")
        duplicates = cases.duplicates_of(session=self.session, case_id=self.case.id)
        changed = cases.close_case(
            session=self.session,
            crypto=self.crypto,
            case=self.case,
            actor=self.actor,
            outcome=outcome,
            note=note or None,
            now=self.now,
            duplicate_of=duplicate_of,
        )

        def body(translator: Translator, number: str) -> str:
            # A duplicate's own reporter is asked "solved?" at the original's closing.
            asked = duplicate_of is None or number != self.case.number
            return reporter_closed_text(translator, number, outcome, choice=asked)

        to_send = self._to_reporters(f"closing:{self.case.id}", body, MessageKind.CLOSING)
        # The outbox rows hold their own encrypted copies until sent; the cases' go now,
        # but for a duplicate's, kept for the news of the case it duplicates.
        for closed in duplicates if changed else []:
            cases.erase_contact(session=self.session, case=closed, now=self.now)
        original = cases.original_of(session=self.session, case=self.case)
        if original is None or not changed:
            cases.erase_contact(session=self.session, case=self.case, now=self.now)
        return Done(
            changed=changed,
            to_send=to_send,
            by_sms=bool(to_send),
            duplicate_of=None if original is None else original.number,
        )

    def link(self, other: Case) -> Done:
        """Put this case and `other` in one incident, confirmed (LinkRefused otherwise)."""
        linked = incidents.link_cases(
            session=self.session, first=self.case, second=other, actor=self.actor, now=self.now
        )
        return Done(incident=linked.incident.number, incident_size=linked.size)

    def confirm_link(self) -> Done:
        """Confirm the suggested link of this case to its incident; `changed` False if it
        was confirmed already."""
        changed = incidents.confirm_link(
            session=self.session, case=self.case, actor=self.actor, now=self.now
        )
        incident = incidents.incident_of(self.session, self.case.id)
        return Done(changed=changed, incident=None if incident is None else incident.number)

    def unlink(self) -> Done:
        """Take this case out of its incident (LinkRefused NOT_LINKED when in none)."""
        incident = incidents.unlink_case(
            session=self.session, case=self.case, actor=self.actor, now=self.now
        )
        size = incidents.size_of(self.session, incident.id)
        return Done(incident=incident.number, incident_size=size)

    def escalate(self) -> Done:
        """Pass the case up and alert the committee it reached; `changed` False at the top."""
        target, to_send = escalate_and_alert(
            session=self.session,
            crypto=self.crypto,
            catalogs=self.catalogs,
            case=self.case,
            actor=self.actor,
            reason=REQUESTED,
            now=self.now,
        )
        if target is None:
            return Done(changed=False)
        return Done(to_send=to_send, committee=target.code, committee_name=target.name)

    def reassign(self, code: str) -> Done:
        """Move the case to the active committee `code` and alert it as routing would."""
        target = committee_by_code(session=self.session, code=code)
        if target is None or not target.active:
            raise InvalidAction("committee", "no active committee has this code")
        assignments = active_assignments(session=self.session, case_id=self.case.id)
        held = {assignment.committee_id for assignment in assignments}
        was_in_triage = self.case.triaged_at is not None
        cases.reassign(
            session=self.session,
            case=self.case,
            actor=self.actor,
            committee_id=target.id,
            now=self.now,
        )
        changed = was_in_triage or held != {target.id}
        to_send: list[int] = []
        if target.id not in held:
            to_send = queue_alerts(
                session=self.session,
                crypto=self.crypto,
                catalogs=self.catalogs,
                case=self.case,
                committee_ids=[target.id],
                now=self.now,
            )
        return Done(changed=changed, to_send=to_send, committee=code, committee_name=target.name)

    def open_actions(self) -> list[CaseAction]:
        """The case's actions not done yet."""
        return actions.open_actions(session=self.session, case_id=self.case.id)

    def add_action(
        self, what: str, days: int, *, committee: str = "", owner: str | None = None
    ) -> Done:
        """Record what will be done, due in `days` days, owned by `owner` (the actor)."""
        action = actions.add_action(
            session=self.session,
            crypto=self.crypto,
            case=self.case,
            committee=self._action_committee(committee),
            owner=owner or self.actor,
            actor=self.actor,
            what=_checked_text(what),
            days=days,
            now=self.now,
        )
        return Done(action=action, committee=action.committee.code)

    def action_done(self, n: int) -> Done:
        """Mark action `n` done; `changed` is False when it was done already."""
        action = self._action(n)
        changed = actions.mark_done(
            session=self.session, action=action, actor=self.actor, now=self.now
        )
        return Done(changed=changed, action=action)

    def verify_action(self, n: int) -> Done:
        """Verify done action `n` as someone who neither owns nor did it (NotVerifiable)."""
        action = self._action(n)
        member_committee = None
        if self.committee_id is not None:
            member_committee = self.session.get(Committee, self.committee_id)
        changed = actions.verify(
            session=self.session,
            action=action,
            actor=self.actor,
            now=self.now,
            committee=member_committee,
        )
        return Done(changed=changed, action=action)

    def other(self, typed: str) -> Case:
        """The other case a link or a duplicate closing names, typed with or without
        separators (InvalidAction "other" when no case has that number)."""
        found = cases.find_case(session=self.session, number=typed)
        if found is None:
            raise InvalidAction("other", "no case has this number")
        return found

    def _action(self, n: int) -> CaseAction:
        action = actions.find_action(session=self.session, case_id=self.case.id, n=n)
        if action is None:
            raise InvalidAction("n", "the case has no such action")
        return action

    def _action_committee(self, code: str) -> Committee:
        """The actor's own committee, or `code` among the case's, or the lowest holding it."""
        if self.committee_id is not None:
            own = self.session.get(Committee, self.committee_id)
            if own is not None:
                return own
        held = [a.committee for a in active_assignments(session=self.session, case_id=self.case.id)]
        if code:
            held = [c for c in held if c.code == code]
        if not held:
            raise InvalidAction("committee", "the case is with no such committee")
        return min(held, key=height)

    def _to_reporters(
        self, key: str, body: Callable[[Translator, str], str], kind: MessageKind
    ) -> list[int]:
        """Queue an SMS to the reporter when they asked for updates, and to the reporter of
        each case closed as a duplicate of this one (keyed `{key}:dup:{case}`), each in
        their language under their own case number, one per phone; ids of rows to send."""
        to_send: list[int] = []
        heard: set[str] = set()
        duplicates = cases.duplicates_of(session=self.session, case_id=self.case.id)
        for case in [self.case, *duplicates]:
            if case.pseudonym in heard:
                continue
            text = body(self.catalogs.translator(case.language), case.number)
            queued = queue_to_reporter(
                session=self.session,
                crypto=self.crypto,
                case=case,
                key=key if case is self.case else f"{key}:dup:{case.id}",
                body=text,
                kind=kind,
                now=self.now,
            )
            if cases.reporter_contact(crypto=self.crypto, case=case) is not None:
                heard.add(case.pseudonym)
            to_send += queued
        return to_send


@dataclass(frozen=True)
class ActionRequest:
    """One action asked for by a console or API user."""

    action: Action
    text: str = ""
    committee: str = ""
    outcome: str = ""
    days: int = 0
    n: int = 0
    # The other case's number: LINK's second case, or the case a duplicate closing names.
    other: str = ""


def _incident_action(work: CaseWork, request: ActionRequest) -> Done:
    if request.action is Action.LINK:
        return work.link(work.other(request.other))
    if request.action is Action.CONFIRM_LINK:
        return work.confirm_link()
    return work.unlink()


def _dispatch(work: CaseWork, request: ActionRequest) -> Done:
    if request.action in ON_CLOSED_CASES:
        return _incident_action(work, request)
    match request.action:
        case Action.NOTE:
            return work.note(request.text)
        case Action.ACKNOWLEDGE:
            return work.acknowledge()
        case Action.MESSAGE:
            return work.message(request.text)
        case Action.REASSIGN:
            return work.reassign(request.committee)
        case Action.ESCALATE:
            return work.escalate()
        case Action.CLOSE:
            original = work.other(request.other) if request.other.strip() else None
            return work.close(request.outcome, request.text, original)
        case Action.ADD_ACTION:
            return work.add_action(request.text, request.days, committee=request.committee)
        case Action.ACTION_DONE:
            return work.action_done(request.n)
        case Action.VERIFY_ACTION:
            return work.verify_action(request.n)
    raise InvalidAction("action", "unknown")


def _audit_data(request: ActionRequest, done: Done) -> dict[str, Any]:
    """What the audit log keeps of an action: codes and flags, never the text."""
    data: dict[str, Any] = {"changed": done.changed}
    if request.action in (Action.REASSIGN, Action.ESCALATE):
        data["committee"] = done.committee
    if request.action is Action.CLOSE:
        data["outcome"] = request.outcome
    if request.action in (Action.MESSAGE, Action.CLOSE):
        data["by_sms"] = done.by_sms
    if done.duplicate_of is not None:
        data["duplicate_of"] = done.duplicate_of
    if request.action in ON_CLOSED_CASES:
        data["incident"] = done.incident
    if request.action is Action.LINK:
        data["with"] = parse(request.other)
    if done.action is not None:
        data.update(action=done.action.n, committee=done.action.committee.code)
        data["due"] = done.action.due_on.isoformat()
    return data


def _perform(
    runtime: Runtime, number: str, username: str, ip_hash: str | None, request: ActionRequest
) -> Done:
    now = utcnow()
    catalogs = live_catalogs(runtime.sessions, runtime.settings)
    with runtime.sessions.begin() as session:
        case = case_by_number(session=session, number=number)
        if case is None:
            raise CaseNotFound(number)
        if case.status == Status.CLOSED and request.action not in ON_CLOSED_CASES:
            raise CaseClosed(number)
        work = CaseWork(session, runtime.crypto, catalogs, case, user_actor(username), now)
        done = _dispatch(work, request)
        audit(
            session=session,
            actor=username,
            action=f"case.{request.action}",
            target=case.number,
            data=_audit_data(request, done),
            ip_hash=ip_hash,
            now=now,
        )
    enqueue_sends(done.to_send, connection=runtime.redis)
    return done


async def perform(
    runtime: Runtime,
    *,
    number: str,
    username: str,
    request: ActionRequest,
    ip_hash: str | None = None,
) -> Done:
    """Do `request` on the case with canonical `number` as a console or API user.

    Raise CaseNotFound, CaseClosed, InvalidAction or LinkRefused (nothing changed in each
    case).
    """
    return await runtime.db(_perform, runtime, number, username, ip_hash, request)
