"""The console's words: every stored code said as a coordinator reads it, in one place.

Cases, events and assignments are stored with fixed codes (`ohs_hazard`, `copied_up`,
`in_progress`); the console never shows one. Each vocabulary has its labels here, the case
timeline's events are said as sentences, and times are shown in the console's zone
(SAUTI_TIMEZONE) without seconds' fractions, the zone named. Registered as Jinja filters
and globals where the console's environment is made (gateway/admin/web.py). An unknown
code (a newer one, say) falls back to its words with spaces, never to an error.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import jinja2

from gateway.backoffice.dashboards import CATEGORY_LABELS, CHANNEL_LABELS
from storage import casenumber
from storage.models import (
    AssignmentReason,
    CommitteeLevel,
    EventKind,
    Occurred,
    Outcome,
    Severity,
    Status,
)
from storage.models.actions import ActionStatus
from storage.models.incidents import LinkState, SignalRule, SignalStatus

# The console's zone when a page is rendered without one (SAUTI_TIMEZONE's default).
DEFAULT_ZONE = ZoneInfo("Africa/Lubumbashi")

CATEGORIES: Mapping[str, str] = CATEGORY_LABELS
CHANNELS: Mapping[str, str] = CHANNEL_LABELS
HAZARDS: Mapping[str, str] = {
    "collapse": "collapse",
    "flooding": "flooding",
    "bad_air": "bad air",
    "explosives": "explosives",
    "no_protection": "no protective equipment",
    "landslide": "landslide",
    "other": "another danger",
}
STATUSES: Mapping[str, str] = {
    Status.RECEIVED: "Received",
    Status.ROUTED: "Routed",
    Status.ACKNOWLEDGED: "Acknowledged",
    Status.IN_PROGRESS: "In progress",
    Status.CLOSED: "Closed",
    Status.APPEALED: "Appealed",
}
OUTCOMES: Mapping[str, str] = {
    Outcome.RESOLVED: "Resolved",
    Outcome.PERSISTENT: "Persistent",
    Outcome.UNFOUNDED: "Unfounded",
    Outcome.DUPLICATE: "Duplicate",
}
SEVERITIES: Mapping[str, str] = {
    Severity.CRITICAL: "Critical",
    Severity.HIGH: "High",
    Severity.MEDIUM: "Medium",
    Severity.LOW: "Low",
}
OCCURRED: Mapping[str, str] = {
    Occurred.TODAY: "today",
    Occurred.WEEK: "this week",
    Occurred.MONTH: "this month",
    Occurred.EARLIER: "earlier",
}
# Languages by their English names: the console is in English.
LANGUAGES: Mapping[str, str] = {
    "sw": "Kiswahili",
    "fr": "French",
    "en": "English",
    "rw": "Kinyarwanda",
    "rn": "Kirundi",
    "ln": "Lingala",
}
LEVELS: Mapping[str, str] = {
    CommitteeLevel.LOCAL: "Local",
    CommitteeLevel.PROVINCIAL: "Provincial",
    CommitteeLevel.NATIONAL: "National",
}
ASSIGNMENT_REASONS: Mapping[str, str] = {
    AssignmentReason.ROUTED: "its place and category",
    AssignmentReason.COPIED_UP: "copied up",
    AssignmentReason.ESCALATED: "escalated",
    AssignmentReason.REASSIGNED: "reassigned by hand",
    AssignmentReason.NATIONAL_FALLBACK: "no committee nearer takes the category",
    AssignmentReason.APPEALED: "the reporter appealed",
}
EVENT_KINDS: Mapping[str, str] = {
    EventKind.RECEIVED: "Received",
    EventKind.ROUTING_REQUESTED: "Sent for routing",
    EventKind.ROUTED: "Routed",
    EventKind.COPIED_UP: "Copied up",
    EventKind.TRIAGED: "Put in triage",
    EventKind.ACKNOWLEDGED: "Acknowledged",
    EventKind.IN_PROGRESS: "In progress",
    EventKind.NOTE: "Internal note",
    EventKind.MESSAGE: "Message to the reporter",
    EventKind.INFO_ADDED: "Information added",
    EventKind.ESCALATED: "Escalated",
    EventKind.REASSIGNED: "Reassigned",
    EventKind.CLOSED: "Closed",
    EventKind.CONTACT_ERASED: "Phone number erased",
    EventKind.SOLVED: "Reporter: solved",
    EventKind.APPEALED: "Reporter: not solved",
    EventKind.ACTION_ADDED: "Action recorded",
    EventKind.ACTION_DONE: "Action done",
    EventKind.ACTION_VERIFIED: "Action verified",
    EventKind.ACTION_MISSED: "Action missed",
    EventKind.LEVEL_CHANGED: "ITSCI level changed",
    EventKind.PURGED: "Personal content erased",
    EventKind.LINKED: "Linked to an incident",
    EventKind.UNLINKED: "Unlinked from its incident",
}
LINK_STATES: Mapping[str, str] = {
    LinkState.SUGGESTED: "suggested: same category and place, within the window",
    LinkState.CONFIRMED: "confirmed",
}
SIGNAL_RULES: Mapping[str, str] = {
    SignalRule.THRESHOLD: "more reports than usual",
    SignalRule.ABSOLUTE: "a signal by itself",
}
SIGNAL_STATUSES: Mapping[str, str] = {
    SignalStatus.OPEN: "Open",
    SignalStatus.ACKNOWLEDGED: "Acknowledged",
    SignalStatus.CLOSED: "Closed",
}
ACTION_STATUSES: Mapping[str, str] = {
    ActionStatus.PLANNED: "Planned",
    ActionStatus.DONE: "Done",
    ActionStatus.VERIFIED: "Verified",
    ActionStatus.MISSED: "Missed",
}
# Why a case was escalated (workers/escalation.py, workers/actions.py).
ESCALATION_REASONS: Mapping[str, str] = {
    "overdue": "because its acknowledgement deadline passed",
    "requested": "on request",
    "action_missed": "because an action missed its due date",
}
# What a voice call waits for (flows.voice), as the voice simulator says it.
VOICE_WAITS: Mapping[str, str] = {
    "keys": "a key",
    "key": "a key",
    "digits": "a number ended with #",
    "record": "a spoken answer",
    "go_on": "any key to go on",
    "final": "nothing: the call ends",
}
TRIAGE_REASONS: Mapping[str, str] = {
    "no_place": "because the report names no place on the list",
    "no_committee": "because no committee covers its place and category",
}


def _plain(code: object) -> str:
    return str(code).replace("_", " ")


def label(table: Mapping[str, str], code: object) -> str:
    """The label of `code` in `table`; an unknown code as words, an empty one empty."""
    if code is None or code == "":
        return ""
    return table.get(str(code), _plain(code))


def _labeller(table: Mapping[str, str]) -> Callable[[object], str]:
    def say(code: object) -> str:
        return label(table, code)

    return say


def language_name(code: object) -> str:
    return label(LANGUAGES, code)


def reported_by(channel: object, language: object) -> str:
    """ "Reported by USSD in English"."""
    return f"Reported by {label(CHANNELS, channel)} in {language_name(language)}"


def committee(name: str, code: str) -> str:
    """A committee by name, its code after it as secondary text (plain)."""
    return f"{name} ({code})"


def occurred_range(first: date | None, last: date | None, answer: str = "") -> str:
    """The days a case happened on: one date, a range, or "before" a date for "earlier"."""
    if last is None:
        return label(OCCURRED, answer) or "not said"
    if first is None:
        return f"on or before {last.isoformat()}"
    if first == last:
        return first.isoformat()
    return f"{first.isoformat()} to {last.isoformat()}"


# Times.


def local(value: datetime, zone: tzinfo | None) -> datetime:
    at = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return at.astimezone(zone or DEFAULT_ZONE)


def zone_name(zone: tzinfo | None) -> str:
    chosen = zone or DEFAULT_ZONE
    return str(getattr(chosen, "key", None) or chosen.tzname(None) or "UTC")


def when(
    value: datetime | date | str | None, zone: tzinfo | None, fmt: str = "%Y-%m-%d %H:%M"
) -> str:
    """A time in the viewer's zone, to the minute (or as `fmt` says); a date as it is; an
    ISO string (a map marker's) read first."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        return value.strftime("%Y-%m-%d")
    return local(value, zone).strftime(fmt)


def when_zoned(value: datetime | None, zone: tzinfo | None) -> str:
    """ "2026-12-06 14:03 (Africa/Lubumbashi)"."""
    if value is None:
        return ""
    return f"{when(value, zone)} ({zone_name(zone)})"


@jinja2.pass_context
def _when_filter(
    context: jinja2.runtime.Context,
    value: datetime | date | str | None,
    fmt: str = "%Y-%m-%d %H:%M",
) -> str:
    return when(value, context.get("zone"), fmt)


@jinja2.pass_context
def _when_zoned_filter(context: jinja2.runtime.Context, value: datetime | None) -> str:
    return when_zoned(value, context.get("zone"))


@jinja2.pass_context
def _zone_global(context: jinja2.runtime.Context) -> str:
    return zone_name(context.get("zone"))


# The case timeline's sentences.


def _with(said: str, why: str) -> str:
    return f"{said} {why}." if why else f"{said}."


def _committee_of(code: object, committees: Mapping[str, str]) -> str:
    if code is None or code == "":
        return "the admins' triage"
    return committees.get(str(code), str(code))


def _why_copied(case: Any) -> str:
    """Why routing copied the case up (storage/routing.py): its severity, its ITSCI level."""
    why = []
    severity = getattr(case, "severity", "")
    if severity in (Severity.CRITICAL, Severity.HIGH):
        why.append(label(SEVERITIES, severity).lower())
    if getattr(case, "itsci_level", None) == 1:
        why.append("ITSCI level 1, sent to every level")
    return "because the case is " + " and ".join(why) if why else "by the routing rules"


def _routed(data: Mapping[str, Any], committees: Mapping[str, str], case: Any) -> str:
    name = _committee_of(data.get("committee"), committees)
    if data.get("reason") == AssignmentReason.NATIONAL_FALLBACK:
        return f"Routed to {name}: no committee nearer takes this category."
    return f"Routed to {name}, which covers its place and category."


def _copied_up(data: Mapping[str, Any], committees: Mapping[str, str], case: Any) -> str:
    name = _committee_of(data.get("committee"), committees)
    return f"Copied up to {name} {_why_copied(case)}."


def _received(data: Mapping[str, Any], committees: Mapping[str, str], case: Any) -> str:
    said = reported_by(data.get("channel"), getattr(case, "language", ""))
    if data.get("severity"):
        said += f"; severity {label(SEVERITIES, data['severity']).lower()}"
    if data.get("itsci_level"):
        said += f", ITSCI level {data['itsci_level']}"
    if data.get("unknown_place_code"):
        said += "; the place it named is not on the list"
    return said + "."


def _triaged(data: Mapping[str, Any], committees: Mapping[str, str], case: Any) -> str:
    return _with("Put in the admins' triage inbox", label(TRIAGE_REASONS, data.get("reason")))


def _acknowledged(data: Mapping[str, Any], committees: Mapping[str, str], case: Any) -> str:
    if data.get("committee"):
        return f"Acknowledged for {_committee_of(data['committee'], committees)}."
    return "Acknowledged."


def _in_progress(data: Mapping[str, Any], committees: Mapping[str, str], case: Any) -> str:
    if data.get("from"):
        return f"Work started (it was {label(STATUSES, data['from']).lower()})."
    return "Work started."


def _info_added(data: Mapping[str, Any], committees: Mapping[str, str], case: Any) -> str:
    said = "The reporter added information"
    if data.get("channel"):
        said += f" by {label(CHANNELS, data['channel'])}"
    if data.get("same_phone") is True:
        said += ", from the phone that reported"
    elif data.get("same_phone") is False:
        said += ", from another phone"
    return said + "."


def _escalated(data: Mapping[str, Any], committees: Mapping[str, str], case: Any) -> str:
    why = label(ESCALATION_REASONS, data.get("reason"))
    source = _committee_of(data.get("from"), committees)
    if data.get("to") is None:
        return _with(f"Escalation from {source}", why)[:-1] + ": no committee above takes it."
    return _with(f"Escalated from {source} to {_committee_of(data['to'], committees)}", why)


def _reassigned(data: Mapping[str, Any], committees: Mapping[str, str], case: Any) -> str:
    before = data.get("from") or []
    codes = before if isinstance(before, list) else [before]
    target = _committee_of(data.get("to"), committees)
    if not codes:
        return f"Reassigned to {target}."
    names = ", ".join(_committee_of(code, committees) for code in codes)
    return f"Reassigned from {names} to {target}."


def _closed(data: Mapping[str, Any], committees: Mapping[str, str], case: Any) -> str:
    outcome = label(OUTCOMES, data.get("outcome")).lower()
    if data.get("duplicate_of"):
        original = casenumber.display(str(data["duplicate_of"]))
        return f"Closed as a duplicate of case {original}."
    return f"Closed as {outcome}." if outcome else "Closed."


def _action(data: Mapping[str, Any], committees: Mapping[str, str], what: str) -> str:
    name = _committee_of(data.get("committee"), committees)
    number = data.get("action")
    return f"Action {number} {what} ({name})" if number else f"An action {what} ({name})"


def _action_added(data: Mapping[str, Any], committees: Mapping[str, str], case: Any) -> str:
    due = f", due {data['due']}" if data.get("due") else ""
    return f"{_action(data, committees, 'recorded')}{due}."


def _action_done(data: Mapping[str, Any], committees: Mapping[str, str], case: Any) -> str:
    late = ", after its due date" if data.get("late") else ""
    return f"{_action(data, committees, 'marked done')}{late}."


def _action_verified(data: Mapping[str, Any], committees: Mapping[str, str], case: Any) -> str:
    return f"{_action(data, committees, 'verified')}."


def _action_missed(data: Mapping[str, Any], committees: Mapping[str, str], case: Any) -> str:
    return f"{_action(data, committees, 'missed its due date')}."


def _level_changed(data: Mapping[str, Any], committees: Mapping[str, str], case: Any) -> str:
    return f"ITSCI level changed from {data.get('from', '?')} to {data.get('to', '?')}."


def _purged(data: Mapping[str, Any], committees: Mapping[str, str], case: Any) -> str:
    days = data.get("retention_days")
    after = f" {days} days after closing" if days else ""
    return f"The description, place as typed and contact were erased by retention{after}."


def _incident(data: Mapping[str, Any]) -> str:
    number = data.get("with")
    return f"incident {casenumber.display(str(number))}" if number else "an incident"


def _linked(data: Mapping[str, Any], committees: Mapping[str, str], case: Any) -> str:
    state = label(LINK_STATES, data.get("state"))
    return f"Linked to {_incident(data)}" + (f", {state}." if state else ".")


def _unlinked(data: Mapping[str, Any], committees: Mapping[str, str], case: Any) -> str:
    return f"Unlinked from {_incident(data)}."


def _fixed(sentence: str) -> Callable[[Mapping[str, Any], Mapping[str, str], Any], str]:
    def say(data: Mapping[str, Any], committees: Mapping[str, str], case: Any) -> str:
        return sentence

    return say


Sentence = Callable[[Mapping[str, Any], Mapping[str, str], Any], str]
EVENT_SENTENCES: Mapping[str, Sentence] = {
    EventKind.RECEIVED: _received,
    EventKind.ROUTING_REQUESTED: _fixed("Sent to be routed to the committees that cover it."),
    EventKind.ROUTED: _routed,
    EventKind.COPIED_UP: _copied_up,
    EventKind.TRIAGED: _triaged,
    EventKind.ACKNOWLEDGED: _acknowledged,
    EventKind.IN_PROGRESS: _in_progress,
    EventKind.NOTE: _fixed("An internal note; the reporter never sees it."),
    EventKind.MESSAGE: _fixed("A message for the reporter."),
    EventKind.INFO_ADDED: _info_added,
    EventKind.ESCALATED: _escalated,
    EventKind.REASSIGNED: _reassigned,
    EventKind.CLOSED: _closed,
    EventKind.CONTACT_ERASED: _fixed("The reporter's phone number was erased."),
    EventKind.SOLVED: _fixed(""),
    EventKind.APPEALED: _fixed(""),
    EventKind.ACTION_ADDED: _action_added,
    EventKind.ACTION_DONE: _action_done,
    EventKind.ACTION_VERIFIED: _action_verified,
    EventKind.ACTION_MISSED: _action_missed,
    EventKind.LEVEL_CHANGED: _level_changed,
    EventKind.PURGED: _purged,
    EventKind.LINKED: _linked,
    EventKind.UNLINKED: _unlinked,
}


def event_sentence(
    kind: str, data: Mapping[str, Any] | None, committees: Mapping[str, str], case: Any
) -> str:
    """What a timeline event says, in a sentence, committees by name; no codes."""
    say = EVENT_SENTENCES.get(kind)
    return "" if say is None else say(data or {}, committees, case)


def register(env: jinja2.Environment) -> None:
    """Give the console's templates these words as filters and globals."""
    tables = {
        "category": CATEGORIES,
        "hazard": HAZARDS,
        "status": STATUSES,
        "outcome": OUTCOMES,
        "severity": SEVERITIES,
        "occurred": OCCURRED,
        "channel_name": CHANNELS,
        "language_name": LANGUAGES,
        "committee_level": LEVELS,
        "assignment_reason": ASSIGNMENT_REASONS,
        "event_kind": EVENT_KINDS,
        "link_state": LINK_STATES,
        "signal_rule": SIGNAL_RULES,
        "signal_status": SIGNAL_STATUSES,
        "action_status": ACTION_STATUSES,
        "voice_waits": VOICE_WAITS,
    }
    for name, table in tables.items():
        env.filters[name] = _labeller(table)
    env.filters["when"] = _when_filter
    env.filters["when_zoned"] = _when_zoned_filter
    env.globals["reported_by"] = reported_by
    env.globals["occurred_range"] = occurred_range
    env.globals["zone_name"] = _zone_global
