"""The SMS texts Sauti composes: alerts, digests, case lists, and messages to reporters.

Each text is a translated message (a msgid marked with `N_`) filled with values, turned
into the GSM-7 alphabet and made to fit its segment budget: alerts and ordinary messages
two segments, digests three. Free text (a description excerpt, a committee's message) is
what gets shortened, with "...", so the case number and the instructions always arrive.
Every SMS to a reporter ends with `FOLLOW_UP`, the way to follow the case by SMS (`STATUS`
and the case number, in the reporter's language).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from flows import gsm
from flows.i18n import Translator
from flows.render import ELLIPSIS, clean_value, shorten
from flows.sms import (
    CASE,
    CASE_DIGITS,
    COMMITTEE,
    EXCERPT,
    MESSAGE,
    N_,
    PLACE,
    Sample,
    Template,
    joined,
    longest,
)
from storage.actions import DueAction
from storage.casenumber import display
from storage.inbox import CaseLine
from storage.models import ActionStatus
from storage.timelines import DAYS, HOURS

ALERT_SEGMENTS = 2
DIGEST_SEGMENTS = 3
SMS_SEGMENTS = 2
EXCERPT_CHARS = 60
PLACE_CHARS = 30
NAME_CHARS = 40

CATEGORY = {
    "ohs_hazard": N_("Pit danger"),
    "accident": N_("Accident"),
    "violence": N_("Violence"),
    "illegal_tax": N_("Illegal tax"),
    "child_labour": N_("Child labour"),
    "sexual_violence": N_("Sexual violence"),
    "mineral_fraud": N_("Mineral fraud"),
    "other": N_("Other"),
}
HAZARD = {
    "collapse": N_("Collapse"),
    "flooding": N_("Flooding"),
    "bad_air": N_("Bad air"),
    "explosives": N_("Explosives"),
    "no_protection": N_("No protective equipment"),
    "landslide": N_("Landslide"),
}
SEVERITY = {
    "critical": N_("CRITICAL"),
    "high": N_("HIGH"),
    "medium": N_("MEDIUM"),
    "low": N_("LOW"),
}
OCCURRED = {
    "today": N_("Today"),
    "week": N_("This week"),
    "month": N_("This month"),
    "earlier": N_("Earlier"),
}
# What a closing means to the person who reported.
OUTCOME_FOR_REPORTER = {
    "resolved": N_("the problem was resolved"),
    "persistent": N_("the problem persists; the committee has done what it can"),
    "unfounded": N_("the facts could not be confirmed"),
    "duplicate": N_("it was already reported"),
}

ALERT = N_(
    "Sauti case {case} ({severity}): {category}, {place}. When: {when}, reported {reported}. "
    "{words}Reply ACK {number} or HELP."
)
ESCALATED_ALERT = N_(
    "Sauti case {case} ({severity}) passed up to you, not acknowledged below: {category}, "
    "{place}. When: {when}, reported {reported}. {words}Reply ACK {number} or HELP."
)
NO_PLACE = N_("place not given")
DIGEST_HEADER = N_("Sauti {date}, {committee}: {new} new, {open} open, {overdue} overdue.")
DIGEST_OVERDUE = N_("OVERDUE:")
DIGEST_NEW = N_("NEW:")
DIGEST_OPEN = N_("OPEN:")
DIGEST_MORE = N_("+{count} more, reply LIST")
LIST_HEADER = N_("Open cases: {count}")
LIST_EMPTY = N_("No open cases for your committee.")
LIST_MORE = N_("+{count} more")
REPORTER_MESSAGE = N_("Sauti case {case}. The committee says: {text}")
REPORTER_CLOSED = N_("Sauti case {case} is closed: {outcome}. Thank you for reporting.")
# The closing SMS ends with the reporter's say on it (storage/appeals.py), not FOLLOW_UP:
# one SMS in every language, the outcome shortened first so the choice always arrives.
CLOSING_CHOICE = N_("Reply 1 if solved, 2 if not.")
CLOSING_SEGMENTS = 1
# The reporter's answer taken, or no closing of theirs waiting for one (gateway/answers.py).
ANSWER_SOLVED = N_("Thank you. Sauti case {case} is counted as solved.")
ANSWER_APPEALED = N_(
    "Sauti case {case} is open again: it goes to {committee}, the committee above. "
    "To follow it, send STATUS {number}."
)
ANSWER_REOPENED = N_(
    "Sauti case {case} is open again and goes back to the committee. "
    "To follow it, send STATUS {number}."
)
NOTHING_TO_ANSWER = N_(
    "Sauti: no closed case of yours waits for this answer. It is taken once, within 30 days "
    "of the closing. To follow a case, send STATUS and its number."
)
# A focal point's alert that a reporter said a closed case is not solved.
APPEAL_ALERT = N_(
    "Sauti case {case} ({severity}) appealed to you: the reporter says it is not solved. "
    "{category}, {place}. Reported {reported}. {words}Reply ACK {number} or HELP."
)
# Sent as soon as a report that asked for SMS news is handled: a USSD screen vanishes.
CONFIRMATION = N_(
    "Sauti got your report: case {case}. Keep this number: it is the only way to check "
    "your case or add to it."
)
# When the committee answers, after the confirmation: in days, or in hours under a day.
ANSWERS_WITHIN_DAYS = N_("The committee answers within {days} days.")
ANSWERS_WITHIN_HOURS = N_("The committee answers within {hours} hours.")
# The last sentence of every SMS to a reporter. The word is the status keyword of the
# reporter's language (gateway/keywords.py), the number typed back as digits.
FOLLOW_UP = N_("To follow your case, send STATUS {number}.")
# A focal point's alert that information was added to a case of their committee. Whether
# it came from the phone that made the report is all it says of the sender.
INFO_ADDED_SAME_PHONE = N_(
    "Sauti case {case} ({category}): information was added from the phone that made the report."
)
INFO_ADDED_OTHER_PHONE = N_(
    "Sauti case {case} ({category}): information was added from another phone, not the one "
    "that made the report."
)
INFO_ADDED = N_("Sauti case {case} ({category}): information was added.")
DIGEST_INFO = N_("INFO ADDED:")
# Actions of the committee not done: missed ones, then those due today or tomorrow.
DIGEST_ACTIONS_MISSED = N_("ACTIONS MISSED:")
DIGEST_ACTIONS_DUE = N_("ACTIONS DUE:")
# A case grouped in an incident (storage/incidents.py) whose committee was alerted about
# an earlier case of it: this one short SMS instead of a full alert.
INCIDENT_REPORT = N_(
    "Another report ({count}) on incident {incident}: {category} at {place}. Case {case}."
)
INCIDENT_REPORT_SEGMENTS = 1
# One digest line for the open cases of one incident in the committee's inbox.
DIGEST_INCIDENT = N_("Incident {incident}: {count} reports, {category}, {place}")


@dataclass(frozen=True, slots=True)
class AlertFacts:
    """What an alert says about a case; `place` and `excerpt` are already plain text."""

    number: str
    category: str
    hazard: str | None
    severity: str
    occurred: str
    place: str | None
    excerpt: str | None
    created_at: datetime


def fits(text: str, budget: int) -> bool:
    """Tell whether a GSM-7 text takes at most `budget` SMS segments."""
    return gsm.segments(text) <= budget


def _format(translator: Translator, msgid: str, values: Mapping[str, str]) -> str:
    try:
        text = translator.gettext(msgid).format_map(values)
    except (KeyError, IndexError, ValueError):
        # A broken translation must not cost the message: fall back to the English text.
        text = msgid.format_map(values)
    return gsm.transliterate(text)


def _largest(good: Callable[[int], bool], high: int) -> int:
    """The largest n in [0, high] with good(n), for a `good` that holds up to some n."""
    low = 0
    while low < high:
        middle = (low + high + 1) // 2
        if good(middle):
            low = middle
        else:
            high = middle - 1
    return low


def fill(
    translator: Translator,
    msgid: str,
    values: Mapping[str, str],
    *,
    budget: int = SMS_SEGMENTS,
    shrink: str | None = None,
    frame: str = "{}",
    tail: Sequence[str] = (),
) -> str:
    """Translate `msgid`, fill it and make it fit `budget` segments.

    `shrink` names the value to shorten (with "...") when the text is too long; `frame`
    is how that value is shown when it is not empty ('"{}" ' quotes it, an empty one
    leaves no quotes behind). `tail` are messages that follow, each after a space, filled
    with the same values and never shortened. A text still too long is cut: a last
    resort, as templates are short.
    """
    raw = clean_value(values.get(shrink, "")) if shrink is not None else ""
    ending = "".join(" " + _format(translator, line, values) for line in tail)

    def render(size: int) -> str:
        if shrink is None:
            return _format(translator, msgid, values) + ending
        cut = shorten(raw, size)
        shown = {**values, shrink: frame.format(cut) if cut else ""}
        return _format(translator, msgid, shown) + ending

    text = render(len(raw))
    if not fits(text, budget):
        text = render(_largest(lambda size: fits(render(size), budget), len(raw)))
    return text if fits(text, budget) else _cut(text, budget)


def _cut(text: str, budget: int) -> str:
    """The longest start of `text` that fits `budget` segments."""
    return text[: _largest(lambda size: fits(text[:size], budget), len(text))]


def excerpt(text: str | None, size: int = EXCERPT_CHARS) -> str | None:
    """The first whole words of a free text, on one line, at most `size` characters."""
    cleaned = clean_value(text or "")
    if len(cleaned) <= size:
        return cleaned or None
    words = cleaned[: size - len(ELLIPSIS)].rsplit(" ", 1)[0]
    return words.rstrip(" ,.;:") + ELLIPSIS


def label(translator: Translator, table: Mapping[str, str], code: str | None) -> str:
    """The translated label of a code, or the code itself when it has none."""
    if code is None:
        return ""
    msgid = table.get(code)
    return translator.gettext(msgid) if msgid is not None else code


def alert_text(
    translator: Translator,
    facts: AlertFacts,
    *,
    timezone: str,
    escalated: bool = False,
    appealed: bool = False,
) -> str:
    """A focal point's alert about a case, in two segments at most."""
    category = label(translator, CATEGORY, facts.category)
    if facts.hazard in HAZARD:
        category += ": " + label(translator, HAZARD, facts.hazard)
    reported = facts.created_at.astimezone(ZoneInfo(timezone)).strftime("%d/%m %H:%M")
    values = {
        "case": display(facts.number),
        "number": facts.number,
        "severity": label(translator, SEVERITY, facts.severity),
        "category": category,
        "place": facts.place or translator.gettext(NO_PLACE),
        "when": label(translator, OCCURRED, facts.occurred),
        "reported": reported,
        "words": facts.excerpt or "",
    }
    msgid = APPEAL_ALERT if appealed else ESCALATED_ALERT if escalated else ALERT
    return fill(translator, msgid, values, budget=ALERT_SEGMENTS, shrink="words", frame='"{}" ')


@dataclass(frozen=True, slots=True)
class IncidentLine:
    """What one digest line about an incident shows: its number, how many of its open
    cases the committee holds, its category and its place's own name."""

    number: str
    count: int
    category: str
    place: str | None


def incident_report_text(
    translator: Translator, *, incident: str, count: int, facts: AlertFacts
) -> str:
    """The short alert about one more report on an incident, in one segment."""
    values = {
        "count": str(count),
        "incident": display(incident),
        "category": label(translator, CATEGORY, facts.category),
        "place": shorten(facts.place or translator.gettext(NO_PLACE), PLACE_CHARS),
        "case": display(facts.number),
    }
    return fill(
        translator, INCIDENT_REPORT, values, budget=INCIDENT_REPORT_SEGMENTS, shrink="place"
    )


def incident_line(translator: Translator, line: IncidentLine) -> str:
    """One short digest line about an incident: its number, reports, category and place."""
    values = {
        "incident": display(line.number),
        "count": str(line.count),
        "category": label(translator, CATEGORY, line.category),
        "place": shorten(clean_value(line.place or translator.gettext(NO_PLACE)), PLACE_CHARS),
    }
    return _format(translator, DIGEST_INCIDENT, values)


def case_line(translator: Translator, line: CaseLine | IncidentLine) -> str:
    """One short line about a case (number, severity, category and place), or about an
    incident (`incident_line`)."""
    if isinstance(line, IncidentLine):
        return incident_line(translator, line)
    severity = label(translator, SEVERITY, line.severity)
    text = f"{display(line.number)} {severity} {label(translator, CATEGORY, line.category)}"
    if line.place:
        text += ", " + shorten(clean_value(line.place), PLACE_CHARS)
    return gsm.transliterate(text)


def _with_lines(
    head: str,
    sections: Sequence[tuple[str | None, Sequence[str]]],
    more: str,
    translator: Translator,
    budget: int,
) -> str:
    """`head` then as many lines as fit, each section under its title; then "+N more"."""
    total = sum(len(lines) for _, lines in sections)
    text, shown = head, 0
    for title, lines in sections:
        for index, line in enumerate(lines):
            addition = (f"\n{title}" if title and index == 0 else "") + "\n" + line
            left = total - shown - 1
            tail = "\n" + fill(translator, more, {"count": str(left)}) if left else ""
            if not fits(text + addition + tail, budget):
                rest = fill(translator, more, {"count": str(total - shown)})
                return _cut(text + "\n" + rest, budget)
            text, shown = text + addition, shown + 1
    return text


@dataclass(frozen=True, slots=True)
class DigestFacts:
    """What a committee's digest covers, most urgent group first."""

    local_date: str
    committee: str
    overdue: Sequence[CaseLine | IncidentLine]
    new: Sequence[CaseLine | IncidentLine]
    open: Sequence[CaseLine | IncidentLine]
    informed: Sequence[CaseLine] = ()
    actions: Sequence[DueAction] = ()


def action_line(action: DueAction) -> str:
    """One short line about an action: case number, action number and due date."""
    return f"{display(action.case_number)} #{action.n} {action.due_on.strftime('%d/%m')}"


def digest_text(translator: Translator, facts: DigestFacts) -> str:
    """A committee's daily digest in three segments at most: overdue cases first, then new
    ones, then those with information added since the last digest, then the other open
    ones (a case with added information is listed in its own group too)."""
    head = fill(
        translator,
        DIGEST_HEADER,
        {
            "date": facts.local_date,
            "committee": shorten(clean_value(facts.committee), NAME_CHARS),
            "new": str(len(facts.new)),
            "open": str(len(facts.open)),
            "overdue": str(len(facts.overdue)),
        },
    )
    sections = [
        (gsm.transliterate(translator.gettext(title)), [case_line(translator, c) for c in group])
        for title, group in (
            (DIGEST_OVERDUE, facts.overdue),
            (DIGEST_NEW, facts.new),
            (DIGEST_INFO, facts.informed),
            (DIGEST_OPEN, facts.open),
        )
    ]
    missed = [action_line(a) for a in facts.actions if a.status == ActionStatus.MISSED]
    due = [action_line(a) for a in facts.actions if a.status != ActionStatus.MISSED]
    sections[1:1] = [
        (gsm.transliterate(translator.gettext(title)), lines)
        for title, lines in ((DIGEST_ACTIONS_MISSED, missed), (DIGEST_ACTIONS_DUE, due))
    ]
    return _with_lines(head, sections, DIGEST_MORE, translator, DIGEST_SEGMENTS)


def list_text(translator: Translator, lines: Sequence[CaseLine]) -> str:
    """The reply to LIST: the committee's open cases, most urgent first, in two segments."""
    if not lines:
        return fill(translator, LIST_EMPTY, {})
    head = fill(translator, LIST_HEADER, {"count": str(len(lines))})
    section = [(None, [case_line(translator, line) for line in lines])]
    return _with_lines(head, section, LIST_MORE, translator, SMS_SEGMENTS)


def reporter_message_text(translator: Translator, number: str, text: str) -> str:
    """A committee's message to the reporter of a case, then how to follow the case (the
    message ends a sentence, so the instruction does not run on from it)."""
    said = clean_value(text)
    if said and not said.endswith((".", "!", "?")):
        said += "."
    values = {"case": display(number), "number": number, "text": said}
    return fill(translator, REPORTER_MESSAGE, values, shrink="text", tail=(FOLLOW_UP,))


def reporter_closed_text(
    translator: Translator, number: str, outcome: str, *, choice: bool = True
) -> str:
    """The last SMS a reporter gets about a case: it is closed, and how; with `choice`,
    the question whether it solved the problem (not for a case closed as a duplicate of
    another, whose reporter is asked at the original's closing)."""
    values = {
        "case": display(number),
        "number": number,
        "outcome": label(translator, OUTCOME_FOR_REPORTER, outcome),
    }
    return fill(
        translator,
        REPORTER_CLOSED,
        values,
        budget=CLOSING_SEGMENTS,
        shrink="outcome",
        tail=(CLOSING_CHOICE,) if choice else (),
    )


def answer_text(translator: Translator, msgid: str, number: str, committee: str = "") -> str:
    """The reply to a reporter's answer to a closing (a committee's long name may be cut)."""
    values = {"case": display(number), "number": number, "committee": committee}
    return fill(translator, msgid, values, shrink="committee" if committee else None)


def confirmation_text(
    translator: Translator, number: str, within: Mapping[str, str] | None = None
) -> str:
    """The case number by SMS, for a reporter who asked for SMS news: keep it, when the
    committee answers (`within`: `storage.timelines.within_values`), follow it."""
    values = {"case": display(number), "number": number, **(within or {})}
    timeline = {DAYS: ANSWERS_WITHIN_DAYS, HOURS: ANSWERS_WITHIN_HOURS}.get(
        values.get("within", "")
    )
    tail = (FOLLOW_UP,) if timeline is None else (timeline, FOLLOW_UP)
    return fill(translator, CONFIRMATION, values, tail=tail)


def info_added_text(
    translator: Translator, number: str, category: str, *, same_phone: bool | None
) -> str:
    """A focal point's alert that information was added to a case: from the phone that
    reported it, from another one, or (`None`) from a phone that was not compared."""
    if same_phone is None:
        msgid = INFO_ADDED
    else:
        msgid = INFO_ADDED_SAME_PHONE if same_phone else INFO_ADDED_OTHER_PHONE
    values = {"case": display(number), "category": label(translator, CATEGORY, category)}
    return fill(translator, msgid, values, budget=ALERT_SEGMENTS)


# A signal raised to a provincial committee (storage/signals.py): a day's count above its
# usual range in a territory, or one report that is a signal by itself.
SIGNAL_THRESHOLD = N_(
    "Sauti signal, {category}: {count} reports in {place} on {date} (usual {usual}). "
    "Cases: {cases}. See the console."
)
SIGNAL_ABSOLUTE = N_("Sauti signal, {category}: a report in {place}, case {case}. See the console.")
SIGNAL_SEGMENTS = 2


@dataclass(frozen=True, slots=True)
class SignalFacts:
    """What a signal's SMS says: the rule, category and place, and for a threshold signal
    the day, its count, the usual range (`usual_range`) and the case numbers behind it."""

    threshold: bool
    category: str
    place: str | None
    day: str
    count: int
    usual: tuple[int, int]
    numbers: Sequence[str]


def usual_text(low: int, high: int) -> str:
    """The usual daily count as said in a signal: "0-1", or "2" when it does not vary."""
    return str(low) if low == high else f"{low}-{high}"


def signal_text(translator: Translator, facts: SignalFacts) -> str:
    """A focal point's SMS about a signal, in two segments; a long list of cases is cut
    with "..." so the count and the place always arrive."""
    values = {
        "category": label(translator, CATEGORY, facts.category),
        "place": shorten(clean_value(facts.place or translator.gettext(NO_PLACE)), PLACE_CHARS),
        "case": display(facts.numbers[0]) if facts.numbers else "",
        "count": str(facts.count),
        "date": facts.day,
        "usual": usual_text(*facts.usual),
        "cases": ", ".join(display(number) for number in facts.numbers),
    }
    if not facts.threshold:
        return fill(translator, SIGNAL_ABSOLUTE, values, budget=SIGNAL_SEGMENTS)
    return fill(translator, SIGNAL_THRESHOLD, values, budget=SIGNAL_SEGMENTS, shrink="cases")


_ALERT_SAMPLES: dict[str, Sample] = {
    "case": CASE,
    "number": CASE_DIGITS,
    "severity": longest(SEVERITY),
    "category": joined(longest(CATEGORY), ": ", longest(HAZARD)),
    "place": PLACE,
    "when": longest(OCCURRED),
    "reported": "26/11 14:00",
    "words": f'"{EXCERPT}" ',
}
_DIGEST_SAMPLES = {
    "date": "26/11",
    "committee": COMMITTEE,
    "new": "99",
    "open": "999",
    "overdue": "99",
}

# Checked by `sauti flows lint` in every language with the longest realistic values.
SMS_TEMPLATES = (
    Template(ALERT, ALERT_SEGMENTS, _ALERT_SAMPLES),
    Template(ESCALATED_ALERT, ALERT_SEGMENTS, _ALERT_SAMPLES),
    Template(DIGEST_HEADER, DIGEST_SEGMENTS, _DIGEST_SAMPLES),
    Template(DIGEST_MORE, 1, {"count": "999"}),
    Template(
        INCIDENT_REPORT,
        INCIDENT_REPORT_SEGMENTS,
        {
            "count": "99",
            "incident": CASE,
            "category": longest(CATEGORY),
            "place": PLACE[:PLACE_CHARS],
            "case": CASE,
        },
    ),
    Template(
        DIGEST_INCIDENT,
        1,
        {"incident": CASE, "count": "99", "category": longest(CATEGORY), "place": PLACE},
    ),
    Template(LIST_HEADER, 1, {"count": "999"}),
    Template(LIST_EMPTY, 1),
    Template(LIST_MORE, 1, {"count": "999"}),
    Template(
        REPORTER_MESSAGE,
        SMS_SEGMENTS,
        {"case": CASE, "number": CASE_DIGITS, "text": MESSAGE},
        tail=(FOLLOW_UP,),
    ),
    Template(
        REPORTER_CLOSED,
        CLOSING_SEGMENTS,
        {"case": CASE, "number": CASE_DIGITS, "outcome": longest(OUTCOME_FOR_REPORTER)},
        tail=(CLOSING_CHOICE,),
    ),
    Template(APPEAL_ALERT, ALERT_SEGMENTS, _ALERT_SAMPLES),
    *(
        Template(msgid, SMS_SEGMENTS, {"case": CASE, "number": CASE_DIGITS, "committee": COMMITTEE})
        for msgid in (ANSWER_SOLVED, ANSWER_APPEALED, ANSWER_REOPENED, NOTHING_TO_ANSWER)
    ),
    Template(CONFIRMATION, SMS_SEGMENTS, {"case": CASE, "number": CASE_DIGITS}, tail=(FOLLOW_UP,)),
    *(
        Template(
            CONFIRMATION,
            SMS_SEGMENTS,
            {"case": CASE, "number": CASE_DIGITS, name: "999"},
            tail=(timeline, FOLLOW_UP),
        )
        for name, timeline in ((DAYS, ANSWERS_WITHIN_DAYS), (HOURS, ANSWERS_WITHIN_HOURS))
    ),
    *(
        Template(msgid, ALERT_SEGMENTS, {"case": CASE, "category": longest(CATEGORY)})
        for msgid in (INFO_ADDED_SAME_PHONE, INFO_ADDED_OTHER_PHONE, INFO_ADDED)
    ),
    Template(
        SIGNAL_THRESHOLD,
        SIGNAL_SEGMENTS,
        {
            "category": longest(CATEGORY),
            "count": "999",
            "place": PLACE[:PLACE_CHARS],
            "date": "26/11",
            "usual": "99-99",
            # The list as `signal_text` cuts it: at least three numbers arrive whole.
            "cases": f"{CASE}, {CASE}, {CASE}, 482-17...",
        },
    ),
    Template(
        SIGNAL_ABSOLUTE,
        SIGNAL_SEGMENTS,
        {"category": longest(CATEGORY), "place": PLACE[:PLACE_CHARS], "case": CASE},
    ),
)
