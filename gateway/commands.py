"""Focal-point SMS commands: ACK, NOTE, MSG, CLOSE, ESC, ACT, DONE, VERIFY, LINK, UNLINK,
LIST and HELP.

A command is an SMS whose first word is a command word (English, French or Swahili,
matched without regard to case or accents), sent from the number of an active member of
an active committee. A command on a case needs the case number next (with or without
dashes) and a member of a committee that holds the case, or of one above it. Each
command runs the case action of `gateway.casework` that the console and the API run too,
and is confirmed by the SMS reply. ACT, DONE, VERIFY, LINK and UNLINK also take
Kinyarwanda, Ikirundi and Lingala words (drafts for a native speaker to check, like the
keywords').

LINK <case> <case> puts two cases in one incident (storage/incidents.py), confirmed; the
member must be able to act on both. UNLINK <case> takes a case out of its incident. Both
take closed cases too: a closed case still tells of its event. CLOSE <case> duplicate
<other case> [note] names the case it duplicates, whose news its reporter then gets; a
duplicate closing without a number closes as before, and the reply says how to name it.

Anyone else's message that has the shape of a command on a case (a command word and a
case number), or is a bare LIST, is refused with a short reply and changes nothing;
any other message starting with a command word is left to the conversation, so a
reporter's free text that happens to begin with "Note" or "Message" is not taken.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from flows.i18n import Catalogs, Translator
from flows.sms import CASE, COMMITTEE, N_, Template, longest
from gateway.casework import CaseWork
from gateway.keywords import fold
from storage import actions, cases, prefs
from storage.actions import NotVerifiable
from storage.casenumber import display, parse
from storage.cases import InvalidAction
from storage.committees import members_for_pseudonym
from storage.inbox import CaseLine, open_cases_for_member
from storage.incidents import LinkRefused
from storage.models import Case, CommitteeMember, Severity, Status
from storage.privacy import Crypto
from workers.context import live_catalogs, live_for
from workers.notify import enqueue_sends
from workers.texts import fill, list_text

if TYPE_CHECKING:
    from gateway.runtime import Runtime


class Command(StrEnum):
    ACK = "ack"
    NOTE = "note"
    MSG = "msg"
    CLOSE = "close"
    ESC = "esc"
    LIST = "list"
    HELP = "help"
    ACT = "act"
    DONE = "done"
    VERIFY = "verify"
    LINK = "link"
    UNLINK = "unlink"


WORDS: dict[Command, tuple[str, ...]] = {
    Command.ACK: ("ACK", "VU", "ACCUSE", "POKEA"),
    Command.NOTE: ("NOTE", "MAELEZO"),
    Command.MSG: ("MSG", "MESSAGE", "UJUMBE"),
    Command.CLOSE: ("CLOSE", "FERMER", "CLORE", "FUNGA"),
    Command.ESC: ("ESC", "ESCALATE", "ESCALADER", "PANDISHA"),
    Command.LIST: ("LIST", "LISTE", "ORODHA"),
    Command.HELP: ("HELP", "AIDE", "MSAADA"),
    # en, fr, sw, rw and rn, ln
    Command.ACT: ("ACT", "ACTION", "HATUA", "IGIKORWA", "MOSALA"),
    Command.DONE: ("DONE", "FAIT", "IMEFANYIKA", "BYAKOZWE", "VYAKOZWE", "ESALEMI"),
    Command.VERIFY: ("VERIFY", "VERIFIER", "THIBITISHA", "EMEZA", "NDIMA"),
    # en, fr, sw, rw and rn (drafts: "huza", join; "tandukanya", separate), ln (drafts:
    # "sangisa", put together; "kabola", divide).
    Command.LINK: ("LINK", "LIER", "UNGANISHA", "HUZA", "SANGISA"),
    Command.UNLINK: ("UNLINK", "DELIER", "TENGANISHA", "TANDUKANYA", "KABOLA"),
}
OUTCOME_WORDS: dict[str, tuple[str, ...]] = {
    "resolved": ("RESOLVED", "RESOLU", "IMETATULIWA"),
    "persistent": ("PERSISTENT", "PERSISTANT", "INAENDELEA"),
    "unfounded": ("UNFOUNDED", "INFONDE", "BATILI"),
    "duplicate": ("DUPLICATE", "DOUBLON", "NAKALA"),
}
ON_A_CASE = frozenset(
    {
        Command.ACK,
        Command.NOTE,
        Command.MSG,
        Command.CLOSE,
        Command.ESC,
        Command.ACT,
        Command.DONE,
        Command.VERIFY,
        Command.LINK,
        Command.UNLINK,
    }
)
# Commands a closed case still takes.
ON_CLOSED_CASES = frozenset({Command.LINK, Command.UNLINK})
LIST_LIMIT = 100

_COMMANDS = {word: command for command, words in WORDS.items() for word in words}
_OUTCOMES = {word: outcome for outcome, words in OUTCOME_WORDS.items() for word in words}
# Ten digits, with spaces, dots or dashes between them, then the end, a space or a mark.
_CASE_NUMBER = re.compile(r"((?:\d[ .\-]*){9}\d)(?=[\s.,;:!]|$)[.,;:!]?(.*)", re.DOTALL)
_DAYS_AND_TEXT = re.compile(r"(\d{1,4})\s+(\S.*)", re.DOTALL)
_ACTION_NUMBER = re.compile(r"(?:N[O°]?\.?\s*|#)?(\d{1,4})[.!]?", re.IGNORECASE)
_SEVERITY_RANK: dict[str, int] = {severity: rank for rank, severity in enumerate(Severity)}

HELP = N_(
    "Sauti commands: ACK <case>, NOTE <case> <text>, MSG <case> <text for the reporter>, "
    "CLOSE <case> resolved|persistent|unfounded|duplicate <note>, ESC <case>, LIST."
)
# The second sentence of the HELP reply.
HELP_ACTIONS = N_("Actions: ACT <case> <days> <what>, DONE <case> <n>, VERIFY <case> <n>.")
# The third sentence of the HELP reply, which takes up to three segments in every language.
HELP_INCIDENTS = N_("Incidents: LINK <case> <case>, UNLINK <case>.")
HELP_SEGMENTS = 3
USAGE = {
    Command.ACK: N_("Write ACK and the case number, e.g. ACK 482-177-3501."),
    Command.NOTE: N_("Write NOTE, the case number, then your note."),
    Command.MSG: N_("Write MSG, the case number, then your message to the reporter."),
    Command.CLOSE: N_(
        "Write CLOSE, the case number, then resolved, persistent, unfounded or duplicate, "
        "then a note."
    ),
    Command.ESC: N_("Write ESC and the case number, e.g. ESC 482-177-3501."),
    Command.ACT: N_(
        "Write ACT, the case number, the days until it is due (1 to 365), then what will be "
        "done, e.g. ACT 482-177-3501 7 Visit the pit."
    ),
    Command.DONE: N_(
        "Write DONE, the case number and the action number, e.g. DONE 482-177-3501 1."
    ),
    Command.VERIFY: N_(
        "Write VERIFY, the case number and the action number, e.g. VERIFY 482-177-3501 1."
    ),
    Command.LINK: N_(
        "Write LINK and the numbers of two cases of one incident, e.g. "
        "LINK 482-177-3501 482-177-3519."
    ),
    Command.UNLINK: N_("Write UNLINK and the case number, e.g. UNLINK 482-177-3501."),
}
NOT_A_MEMBER = N_("Only committee focal points can use this command. To report, send REPORT.")
BAD_NUMBER = N_("{number} is not a valid case number. Check the 10 digits.")
NO_CASE = N_("There is no case {case}.")
NOT_YOURS = N_("Case {case} is not with your committee.")
IS_CLOSED = N_("Case {case} is closed.")
ACKNOWLEDGED = N_("Case {case} acknowledged. The reporter sees it in the status.")
ALREADY_ACKNOWLEDGED = N_("Case {case} was already acknowledged.")
NOTED = N_("Note added to case {case}.")
MESSAGE_SENT = N_("Message saved on case {case} and sent to the reporter by SMS.")
MESSAGE_SAVED = N_("Message saved on case {case}. The reporter sees it when checking the status.")
CLOSED = N_("Case {case} closed: {outcome}.")
ESCALATED = N_("Case {case} passed up to {committee}.")
NOT_ESCALATED = N_("Case {case} cannot go higher: no committee above takes it.")
ACTION_ADDED = N_("Action {n} on case {case} recorded, due {due}. When done, send DONE {case} {n}.")
ACTION_DONE = N_(
    "Action {n} on case {case} marked done. Another member or the committee above confirms "
    "it: VERIFY {case} {n}."
)
ACTION_ALREADY_DONE = N_("Action {n} on case {case} was already marked done.")
ACTION_VERIFIED = N_("Action {n} on case {case} verified.")
ACTION_ALREADY_VERIFIED = N_("Action {n} on case {case} was already verified.")
NO_ACTION = N_("Case {case} has no action {n}.")
NOT_VERIFIABLE = {
    "not_done": N_("Action {n} on case {case} is not marked done yet, so it cannot be verified."),
    "own": N_(
        "Action {n} on case {case} is yours: another member or the committee above verifies it."
    ),
    "below": N_("Action {n} on case {case} is verified by its own committee or the one above."),
}
CLOSE_NEEDS_REASON = N_(
    "Case {case} has actions not done. To close it as resolved, say why: "
    "CLOSE {case} resolved <why>."
)
LINKED = N_("Cases {case} and {other} are in incident {incident}, which has {count} reports.")
UNLINKED = N_("Case {case} taken out of incident {incident}.")
NOT_LINKED = N_("Case {case} is in no incident.")
SAME_CASE = N_("Write two different case numbers.")
TEST_AND_REAL = N_("Case {case} is a test case and {other} is not: they cannot be linked.")
CLOSED_AS_DUPLICATE = N_(
    "Case {case} closed as a duplicate of case {other}. Its reporter gets that case's news."
)
# After CLOSED, for a duplicate closing that named no case.
NAME_THE_ORIGINAL = N_(
    "To name the case it repeats, write CLOSE <case> duplicate <that case> <note>."
)
DUPLICATE_OF_ITSELF = N_("Case {case} cannot duplicate itself: name the case it repeats.")
OUTCOME = {
    "resolved": N_("resolved"),
    "persistent": N_("persistent"),
    "unfounded": N_("unfounded"),
    "duplicate": N_("duplicate"),
}

# Checked by `sauti flows lint` in every language with the longest realistic values.
SMS_TEMPLATES = (
    Template(HELP, HELP_SEGMENTS, tail=(HELP_ACTIONS, HELP_INCIDENTS)),
    *(Template(message, 1) for message in USAGE.values()),
    Template(NOT_A_MEMBER, 1),
    Template(BAD_NUMBER, 1, {"number": "482-177-35067"}),
    *(
        Template(message, 1, {"case": CASE})
        for message in (
            NO_CASE,
            NOT_YOURS,
            IS_CLOSED,
            ACKNOWLEDGED,
            ALREADY_ACKNOWLEDGED,
            NOTED,
            MESSAGE_SENT,
            MESSAGE_SAVED,
            NOT_ESCALATED,
        )
    ),
    Template(CLOSED, 1, {"case": CASE, "outcome": longest(OUTCOME)}),
    Template(ESCALATED, 1, {"case": CASE, "committee": COMMITTEE}),
    Template(ACTION_ADDED, 1, {"case": CASE, "n": "99", "due": "31/12"}),
    *(
        Template(message, 1, {"case": CASE, "n": "99"})
        for message in (
            ACTION_DONE,
            ACTION_ALREADY_DONE,
            ACTION_VERIFIED,
            ACTION_ALREADY_VERIFIED,
            NO_ACTION,
            *NOT_VERIFIABLE.values(),
        )
    ),
    Template(CLOSE_NEEDS_REASON, 1, {"case": CASE}),
    Template(LINKED, 1, {"case": CASE, "other": CASE, "incident": CASE, "count": "99"}),
    Template(UNLINKED, 1, {"case": CASE, "incident": CASE}),
    Template(NOT_LINKED, 1, {"case": CASE}),
    Template(SAME_CASE, 1),
    Template(TEST_AND_REAL, 1, {"case": CASE, "other": CASE}),
    Template(CLOSED_AS_DUPLICATE, 1, {"case": CASE, "other": CASE}),
    Template(CLOSED, 1, {"case": CASE, "outcome": longest(OUTCOME)}, tail=(NAME_THE_ORIGINAL,)),
    Template(DUPLICATE_OF_ITSELF, 1, {"case": CASE}),
)


@dataclass(frozen=True, slots=True)
class Parsed:
    """A message that starts with a command word; `typed` is the case number as typed."""

    command: Command
    typed: str | None
    text: str


def parse_command(body: str) -> Parsed | None:
    """Split a message into command, case number and text; None when it is no command."""
    parts = body.strip().split(None, 1)
    command = _COMMANDS.get(fold(parts[0]).strip(".!:")) if parts else None
    if command is None:
        return None
    rest = parts[1].strip() if len(parts) > 1 else ""
    found = _CASE_NUMBER.match(rest) if command in ON_A_CASE else None
    if found is None:
        return Parsed(command, None, rest)
    return Parsed(command, found[1], found[2].strip())


@dataclass
class Reply:
    """The SMS reply, and the outbox rows to send once the transaction is committed."""

    text: str
    to_send: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Act:
    """One command on one case by one member, inside the request's transaction."""

    session: Session
    crypto: Crypto
    catalogs: Catalogs
    member: CommitteeMember
    case: Case
    now: datetime

    @property
    def translator(self) -> Translator:
        return self.catalogs.translator(self.member.language)

    @property
    def work(self) -> CaseWork:
        """The same case actions the console and the API use, as this member."""
        return CaseWork(
            session=self.session,
            crypto=self.crypto,
            catalogs=self.catalogs,
            case=self.case,
            actor=cases.member_actor(self.member),
            now=self.now,
            committee_id=self.member.committee_id,
        )

    def reply(self, msgid: str, **values: str) -> Reply:
        """The confirmation in the member's language; a committee's long name may be cut."""
        values = {"case": display(self.case.number), **values}
        return Reply(fill(self.translator, msgid, values, shrink="committee"))


def _ack(act: Act, parsed: Parsed) -> Reply:
    done = act.work.acknowledge()
    return act.reply(ACKNOWLEDGED if done.changed else ALREADY_ACKNOWLEDGED)


def _note(act: Act, parsed: Parsed) -> Reply:
    act.work.note(parsed.text)
    return act.reply(NOTED)


def _msg(act: Act, parsed: Parsed) -> Reply:
    done = act.work.message(parsed.text)
    reply = act.reply(MESSAGE_SENT if done.by_sms else MESSAGE_SAVED)
    reply.to_send = done.to_send
    return reply


def _close(act: Act, parsed: Parsed) -> Reply | None:
    words = parsed.text.split(None, 1)
    outcome = _OUTCOMES.get(fold(words[0]).strip(".,:")) if words else None
    if outcome is None:
        return None
    note = words[1] if len(words) > 1 else None
    if outcome == "duplicate" and note is not None and _CASE_NUMBER.match(note):
        return _close_as_duplicate(act, note)
    if outcome == "resolved" and note is None and act.work.open_actions():
        return act.reply(CLOSE_NEEDS_REASON)
    done = act.work.close(outcome, note)
    shown = act.translator.gettext(OUTCOME[outcome])
    reply = act.reply(CLOSED, outcome=shown)
    if outcome == "duplicate":
        values = {"case": display(act.case.number), "outcome": shown}
        reply = Reply(fill(act.translator, CLOSED, values, tail=(NAME_THE_ORIGINAL,)))
    reply.to_send = done.to_send
    return reply


def _other_case(act: Act, typed: str) -> Case | Reply:
    """The second case a command names, if the member may act on it; else the refusal."""
    number = parse(typed)
    if number is None:
        return act.reply(BAD_NUMBER, number=typed)
    other = cases.find_case(session=act.session, number=number)
    if other is None:
        return act.reply(NO_CASE, case=display(number))
    pseudonym = act.member.phone_pseudonym
    if cases.acting_member(session=act.session, pseudonym=pseudonym, case=other) is None:
        return act.reply(NOT_YOURS, case=display(number))
    return other


def _close_as_duplicate(act: Act, text: str) -> Reply | None:
    found = _CASE_NUMBER.match(text)
    if found is None:
        return None
    other = _other_case(act, found[1])
    if isinstance(other, Reply):
        return other
    if other.id == act.case.id:
        return act.reply(DUPLICATE_OF_ITSELF)
    try:
        done = act.work.close("duplicate", found[2].strip() or None, other)
    except InvalidAction as refused:
        if refused.field != "duplicate_of":
            raise
        return act.reply(DUPLICATE_OF_ITSELF)
    reply = act.reply(CLOSED_AS_DUPLICATE, other=display(done.duplicate_of or other.number))
    reply.to_send = done.to_send
    return reply


def _link(act: Act, parsed: Parsed) -> Reply | None:
    found = _CASE_NUMBER.match(parsed.text)
    if found is None:
        return None
    other = _other_case(act, found[1])
    if isinstance(other, Reply):
        return other
    values = {"other": display(other.number)}
    if other.is_test != act.case.is_test:
        return act.reply(TEST_AND_REAL, **values)
    done = act.work.link(other)
    incident = display(done.incident or "")
    return act.reply(LINKED, incident=incident, count=str(done.incident_size), **values)


def _unlink(act: Act, parsed: Parsed) -> Reply | None:
    done = act.work.unlink()
    return act.reply(UNLINKED, incident=display(done.incident or ""))


def _esc(act: Act, parsed: Parsed) -> Reply:
    done = act.work.escalate()
    if done.committee_name is None:
        return act.reply(NOT_ESCALATED)
    reply = act.reply(ESCALATED, committee=done.committee_name)
    reply.to_send = done.to_send
    return reply


def _action_number(text: str) -> int | None:
    found = _ACTION_NUMBER.fullmatch(text.strip())
    return None if found is None else int(found[1])


def _act(act: Act, parsed: Parsed) -> Reply | None:
    found = _DAYS_AND_TEXT.fullmatch(parsed.text)
    if found is None or not actions.MIN_DAYS <= int(found[1]) <= actions.MAX_DAYS:
        return None
    action = act.work.add_action(found[2], int(found[1])).action
    if action is None:
        return None
    return act.reply(ACTION_ADDED, n=str(action.n), due=action.due_on.strftime("%d/%m"))


def _done(act: Act, parsed: Parsed) -> Reply | None:
    n = _action_number(parsed.text)
    if n is None:
        return None
    try:
        done = act.work.action_done(n)
    except InvalidAction:
        return act.reply(NO_ACTION, n=str(n))
    return act.reply(ACTION_DONE if done.changed else ACTION_ALREADY_DONE, n=str(n))


def _verify(act: Act, parsed: Parsed) -> Reply | None:
    n = _action_number(parsed.text)
    if n is None:
        return None
    try:
        done = act.work.verify_action(n)
    except InvalidAction:
        return act.reply(NO_ACTION, n=str(n))
    except NotVerifiable as refused:
        return act.reply(NOT_VERIFIABLE[refused.reason], n=str(n))
    return act.reply(ACTION_VERIFIED if done.changed else ACTION_ALREADY_VERIFIED, n=str(n))


# Each returns None when the text after the case number is not what the command needs.
_ON_A_CASE: dict[Command, Callable[[Act, Parsed], Reply | None]] = {
    Command.ACK: _ack,
    Command.NOTE: _note,
    Command.MSG: _msg,
    Command.CLOSE: _close,
    Command.ESC: _esc,
    Command.ACT: _act,
    Command.DONE: _done,
    Command.VERIFY: _verify,
    Command.LINK: _link,
    Command.UNLINK: _unlink,
}
_NEEDS_TEXT = frozenset(
    {
        Command.NOTE,
        Command.MSG,
        Command.CLOSE,
        Command.ACT,
        Command.DONE,
        Command.VERIFY,
        Command.LINK,
    }
)


@dataclass(frozen=True)
class Commands:
    """Answers the commands of one inbound SMS with the service's database, keys and Redis."""

    runtime: Runtime
    now: datetime

    @property
    def catalogs(self) -> Catalogs:
        return live_for(self.runtime.settings).current

    def answer(self, *, pseudonym: str, body: str) -> str | None:
        """The reply to a command, or None when the message is for the conversation."""
        parsed = parse_command(body)
        if parsed is None:
            return None
        live_catalogs(self.runtime.sessions, self.runtime.settings)  # before the transaction
        with self.runtime.sessions.begin() as session:
            members = members_for_pseudonym(session=session, pseudonym=pseudonym)
            if members:
                reply = self._member(session, members, parsed)
            else:
                reply = self._stranger(session, pseudonym, parsed)
        if reply is None:
            return None
        enqueue_sends(reply.to_send, connection=self.runtime.redis)
        return reply.text

    def _text(self, language: str, msgid: str, **values: str) -> Reply:
        return Reply(fill(self.catalogs.translator(language), msgid, values))

    def _stranger(self, session: Session, pseudonym: str, parsed: Parsed) -> Reply | None:
        looks_like_command = parsed.typed is not None or (
            parsed.command is Command.LIST and not parsed.text
        )
        if not looks_like_command:
            return None
        found = prefs.get_prefs(session=session, pseudonym=pseudonym)
        language = (found.language if found else None) or (
            self.runtime.settings.sauti_default_language
        )
        return self._text(language, NOT_A_MEMBER)

    def _member(
        self, session: Session, members: list[CommitteeMember], parsed: Parsed
    ) -> Reply | None:
        language = members[0].language
        if parsed.command is Command.HELP:
            translator = self.catalogs.translator(language)
            return Reply(
                fill(
                    translator, HELP, {}, tail=(HELP_ACTIONS, HELP_INCIDENTS), budget=HELP_SEGMENTS
                )
            )
        if parsed.command is Command.LIST:
            lines = _open_cases(session, members)
            return Reply(list_text(self.catalogs.translator(language), lines))
        if parsed.typed is None or (parsed.command in _NEEDS_TEXT and not parsed.text):
            return self._text(language, USAGE[parsed.command])
        return self._on_case(session, members, parsed)

    def _on_case(
        self, session: Session, members: list[CommitteeMember], parsed: Parsed
    ) -> Reply | None:
        language = members[0].language
        number = parse(parsed.typed or "")
        if number is None:
            return self._text(language, BAD_NUMBER, number=parsed.typed or "")
        case = cases.find_case(session=session, number=number)
        if case is None:
            return self._text(language, NO_CASE, case=display(number))
        pseudonym = members[0].phone_pseudonym
        member = cases.acting_member(session=session, pseudonym=pseudonym, case=case)
        if member is None:
            return self._text(language, NOT_YOURS, case=display(number))
        if case.status == Status.CLOSED and parsed.command not in ON_CLOSED_CASES:
            return self._text(member.language, IS_CLOSED, case=display(number))
        act = Act(session, self.runtime.crypto, self.catalogs, member, case, self.now)
        try:
            reply = _ON_A_CASE[parsed.command](act, parsed)
        except InvalidAction:
            # Checked before anything is written: a text too long to keep changes nothing.
            reply = None
        except LinkRefused as refused:
            reply = act.reply(NOT_LINKED if refused.reason == LinkRefused.NOT_LINKED else SAME_CASE)
        return reply or self._text(member.language, USAGE[parsed.command])


def _open_cases(session: Session, members: list[CommitteeMember]) -> list[CaseLine]:
    """The open cases of every committee the member sits on, most urgent and oldest first."""
    found: dict[str, CaseLine] = {}
    for member in members:
        for line in open_cases_for_member(session=session, member=member, limit=LIST_LIMIT):
            found.setdefault(line.number, line)
    return sorted(
        found.values(), key=lambda line: (_SEVERITY_RANK.get(line.severity, 99), line.created_at)
    )
