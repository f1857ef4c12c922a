"""The audit log in sentences: "Acknowledged case 482-177-3501", "Exported cases (CSV, 120
rows)", one per action code the code base writes.

A sentence is built from an entry's action, target and data only (which hold no personal
content), with committee and place names looked up so that codes are secondary text. The
thing acted on, when it has a page (a case, a committee, a place, a message, a signal),
is the sentence's link.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from storage.casenumber import display
from storage.models import AuditEntry


@dataclass(frozen=True, slots=True)
class Names:
    """Names to say instead of codes: committees' and places' by code."""

    committees: Mapping[str, str] = field(default_factory=dict)
    places: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Sentence:
    """`lead`, then the linked `label` (when `href` is set), then `tail`."""

    lead: str
    label: str = ""
    href: str | None = None
    tail: str = ""

    def __str__(self) -> str:
        return f"{self.lead}{self.label}{self.tail}"


@dataclass(frozen=True, slots=True)
class _Entry:
    target: str
    data: Mapping[str, Any]
    names: Names

    def number(self, key: str) -> int:
        value = self.data.get(key, 0)
        return value if isinstance(value, int) else 0

    def case(self, lead: str, tail: str = "") -> Sentence:
        return Sentence(lead + "case ", display(self.target), f"/admin/cases/{self.target}", tail)

    def committee(self, code: str | None) -> str:
        if not code:
            return "another committee"
        name = self.names.committees.get(code)
        return code if name is None else f"{name} ({code})"


def _rows(count: int, unit: str = "row") -> str:
    return f"{count} {unit}{'' if count == 1 else 's'}"


def _plain(text: str) -> Callable[[_Entry], Sentence]:
    return lambda _entry: Sentence(text)


def _refused(what: str) -> Callable[[_Entry], Sentence]:
    def sentence(entry: _Entry) -> Sentence:
        problems = _rows(entry.number("problems"), "problem")
        return Sentence(f"Tried to import {what}: the file was refused ({problems})")

    return sentence


def _counts(entry: _Entry) -> str:
    found = [f"{entry.number(key)} {key}" for key in ("created", "updated", "unchanged")]
    return ", ".join(found)


# -- cases ------------------------------------------------------------------------------------


def _acknowledge(entry: _Entry) -> Sentence:
    tail = "" if entry.data.get("changed", True) else " (it was already acknowledged)"
    return entry.case("Acknowledged ", tail)


def _message(entry: _Entry) -> Sentence:
    how = " by SMS" if entry.data.get("by_sms") else ", to read at their next status check"
    return entry.case("Left a message for the reporter of ", how)


def _reassign(entry: _Entry) -> Sentence:
    return entry.case("Reassigned ", f" to {entry.committee(entry.data.get('committee'))}")


def _escalate(entry: _Entry) -> Sentence:
    if not entry.data.get("changed", True):
        return entry.case("Tried to pass ", " up: no committee above takes it")
    return entry.case("Passed ", f" up to {entry.committee(entry.data.get('committee'))}")


def _close(entry: _Entry) -> Sentence:
    outcome = entry.data.get("outcome")
    original = entry.data.get("duplicate_of")
    tail = f" as {outcome}" if isinstance(outcome, str) and outcome else ""
    if isinstance(original, str) and original:
        tail = f" as a duplicate of case {display(original)}"
    if entry.data.get("by_sms"):
        tail += ", telling the reporter by SMS"
    return entry.case("Closed ", tail)


def _action_add(entry: _Entry) -> Sentence:
    committee = entry.committee(entry.data.get("committee"))
    due = entry.data.get("due") or "a later day"
    return Sentence(
        f"Recorded action {entry.number('action')} on case ",
        display(entry.target),
        f"/admin/cases/{entry.target}",
        f" for {committee}, due {due}",
    )


def _action_step(word: str) -> Callable[[_Entry], Sentence]:
    def sentence(entry: _Entry) -> Sentence:
        lead = f"{word} action {entry.number('action')} of "
        tail = "" if entry.data.get("changed", True) else " (no change: it already was)"
        return entry.case(lead, tail)

    return sentence


def _incident(entry: _Entry) -> str:
    incident = entry.data.get("incident")
    return f"incident {display(incident)}" if isinstance(incident, str) else "its incident"


def _link(entry: _Entry) -> Sentence:
    other = entry.data.get("with")
    tail = f" with case {display(other)}" if isinstance(other, str) else ""
    return entry.case("Linked ", f"{tail} ({_incident(entry)})")


def _level(entry: _Entry) -> Sentence:
    before, after = entry.data.get("from"), entry.data.get("to")
    if after is None:
        return entry.case("Changed the ITSCI level of ")
    start = "no level" if before is None else f"level {before}"
    return entry.case("Changed the ITSCI level of ", f" from {start} to level {after}")


def _export_cases(entry: _Entry) -> Sentence:
    text = ", with free text" if entry.data.get("include_text") else ""
    return Sentence(f"Exported cases (CSV, {_rows(entry.number('rows'))}{text})")


# -- committees, places, messages, signals ------------------------------------------------------


def _committee(lead: str, tail: str = "") -> Callable[[_Entry], Sentence]:
    def sentence(entry: _Entry) -> Sentence:
        code = entry.target.partition("/")[0]
        label = entry.names.committees.get(code, code)
        return Sentence(lead, label, f"/admin/committees/{code}", tail)

    return sentence


def _fields(entry: _Entry) -> str:
    fields = entry.data.get("fields")
    if isinstance(fields, list) and fields:
        return " (" + ", ".join(str(name).replace("_", " ") for name in fields) + ")"
    return ""


def _committee_update(entry: _Entry) -> Sentence:
    return _committee("Changed committee ", _fields(entry))(entry)


def _member_update(entry: _Entry) -> Sentence:
    return _committee("Changed a member of ", _fields(entry))(entry)


def _place(lead: str, with_count: bool = False) -> Callable[[_Entry], Sentence]:
    def sentence(entry: _Entry) -> Sentence:
        label = entry.names.places.get(entry.target, entry.target)
        tail = f" ({_rows(entry.number('places'), 'place')})" if with_count else ""
        return Sentence(lead, label, f"/admin/places/{entry.target}", tail)

    return sentence


def _message_page(lead: str, tail: str = "") -> Callable[[_Entry], Sentence]:
    def sentence(entry: _Entry) -> Sentence:
        return Sentence(lead, f"message {entry.target}", f"/admin/outbox/{entry.target}", tail)

    return sentence


def _previews(entry: _Entry) -> Sentence:
    shown = entry.data.get("messages")
    count = len(shown) if isinstance(shown, list) else 0
    return Sentence(f"Read the previews of {_rows(count, 'message')} in the outbox")


def _signal(lead: str) -> Callable[[_Entry], Sentence]:
    def sentence(entry: _Entry) -> Sentence:
        return Sentence(lead, f"signal {entry.target}", f"/admin/signals/{entry.target}")

    return sentence


# -- sign-in, the log itself, flows, translations, voice, keys, retention -----------------------


def _login(entry: _Entry) -> Sentence:
    return Sentence("Signed in" + (" through the API" if entry.data.get("via") == "api" else ""))


def _login_failed(entry: _Entry) -> Sentence:
    where = " through the API" if entry.data.get("via") == "api" else ""
    return Sentence(f"Failed to sign in{where} (wrong name or password)")


def _scope(entry: _Entry) -> Sentence:
    place = entry.data.get("place")
    committees = entry.data.get("committees")
    if isinstance(place, str):
        seen = f"the cases of {entry.names.places.get(place, place)} and everything under it"
    elif isinstance(committees, list) and committees:
        seen = "the cases of " + ", ".join(entry.committee(str(code)) for code in committees)
    else:
        seen = "every case"
    return Sentence(f"Let user {entry.target} see {seen}")


def _audit_view(entry: _Entry) -> Sentence:
    filters = entry.data.get("filters")
    used = f", filtered by {', '.join(map(str, filters))}" if filters else ""
    return Sentence(f"Read the audit log (page {entry.number('page') or 1}{used})")


def _audit_export(entry: _Entry) -> Sentence:
    return Sentence(f"Exported the audit log (CSV, {_rows(entry.number('rows'))})")


def _report(entry: _Entry) -> Sentence:
    quarter = entry.data.get("quarter", "")
    kind = str(entry.data.get("format", "html")).upper()
    return _committee("Downloaded the quarterly report of ", f" for {quarter} ({kind})")(entry)


def _flows(lead: str) -> Callable[[_Entry], Sentence]:
    def sentence(entry: _Entry) -> Sentence:
        previous = entry.data.get("previous")
        tail = f" (replacing version {previous})" if previous else ""
        return Sentence(f"{lead} version {entry.target}{tail}")

    return sentence


def _language(lead: str, unit: str, key: str) -> Callable[[_Entry], Sentence]:
    def sentence(entry: _Entry) -> Sentence:
        return Sentence(f"{lead} {entry.target} ({_rows(entry.number(key), unit)})")

    return sentence


def _rotate_encryption(entry: _Entry) -> Sentence:
    rewritten = sum(
        value.get("rewritten", 0) for value in entry.data.values() if isinstance(value, dict)
    )
    return Sentence(f"Rotated the encryption key ({_rows(rewritten, 'value')} rewritten)")


def _purge(entry: _Entry) -> Sentence:
    days = entry.number("retention_days")
    return Sentence(
        f"Erased the personal content of {_rows(entry.number('cases'), 'closed case')} "
        f"kept over {days} days"
    )


def _erase_recordings(entry: _Entry) -> Sentence:
    return Sentence(f"Erased {_rows(entry.number('recordings'), 'recording')} no report kept")


SENTENCES: dict[str, Callable[[_Entry], Sentence]] = {
    "auth.login": _login,
    "auth.login_failed": _login_failed,
    "auth.throttled": _plain("Was refused sign-in after too many failed attempts"),
    "auth.logout": _plain("Signed out"),
    "user.create": lambda e: Sentence(f"Created user {e.target} ({e.data.get('role', '')})"),
    "user.scope": _scope,
    "queue.seen": _plain("Marked every case of their queue seen"),
    "audit.view": _audit_view,
    "audit.export": _audit_export,
    "case.view_text": lambda e: e.case("Viewed the description of "),
    "case.note": lambda e: e.case("Added a note to "),
    "case.acknowledge": _acknowledge,
    "case.message": _message,
    "case.reassign": _reassign,
    "case.escalate": _escalate,
    "case.close": _close,
    "case.action_add": _action_add,
    "case.action_done": _action_step("Marked done"),
    "case.action_verify": _action_step("Verified"),
    "case.link": _link,
    "case.link_confirm": lambda e: e.case("Confirmed the link of ", f" to {_incident(e)}"),
    "case.unlink": lambda e: e.case("Took ", f" out of {_incident(e)}"),
    "case.level": _level,
    "recording.listen": lambda e: e.case("Listened to a spoken answer of "),
    "export.cases": _export_cases,
    "export.stats": lambda e: Sentence(
        f"Exported the weekly counts by category (CSV, {_rows(e.number('rows'))})"
    ),
    "export.report": _report,
    "committee.create": _committee("Created committee "),
    "committee.update": _committee_update,
    "committee.deactivate": _committee("Deactivated committee "),
    "committee.reactivate": _committee("Reactivated committee "),
    "committee.import": lambda e: Sentence(f"Imported committees ({_counts(e)})"),
    "committee.import_refused": _refused("committees"),
    "member.add": _committee("Added a member to "),
    "member.update": _member_update,
    "member.deactivate": _committee("Deactivated a member of "),
    "member.reactivate": _committee("Reactivated a member of "),
    "place.import": lambda e: Sentence(f"Imported places ({_counts(e)})"),
    "place.import_refused": _refused("places"),
    "place.rename": _place("Renamed place "),
    "place.deactivate": _place("Deactivated ", with_count=True),
    "place.reactivate": _place("Reactivated ", with_count=True),
    "outbox.view_text": _message_page("Read the text of "),
    "outbox.previews": _previews,
    "outbox.retry": _message_page("Queued ", " to be sent again"),
    "outbox.cancel": _message_page("Cancelled "),
    "optout.remove": lambda e: Sentence(
        f"Took the number of pseudonym {e.target}… off the STOP list"
    ),
    "signal.view_text": _signal("Viewed the closing note of "),
    "signal.acknowledge": _signal("Acknowledged "),
    "signal.close": _signal("Closed "),
    "flows.draft": lambda e: Sentence(f"Saved the flows' draft version {e.target}"),
    "flows.publish": _flows("Published the flows'"),
    "flows.rollback": _flows("Rolled the flows back to"),
    "translations.upload": _language("Uploaded translations into", "changed text", "changed"),
    "voice.publish": _language("Published the voice prompts of", "prompt", "prompts"),
    "voice.discard": _language("Discarded the draft voice prompts of", "prompt", "prompts"),
    "keys.rotate_encryption": _rotate_encryption,
    "keys.rotate_pseudonym": _plain("Rotated the pseudonym key"),
    "retention.purge": _purge,
    "retention.recordings": _erase_recordings,
}


def sentence(entry: AuditEntry, names: Names) -> Sentence:
    """The entry said in words; an action without a sentence is said by its code."""
    found = SENTENCES.get(entry.action)
    if found is None:
        return Sentence(entry.action)
    return found(_Entry(entry.target or "", entry.data or {}, names))
