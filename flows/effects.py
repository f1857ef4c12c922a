"""What a flow asks the outside world to do; the caller runs it and reports the outcome.

Each effect reads fixed answer names: `SubmitReport` takes every answer of the report
(`category`, `hazard`, `country`, `province`, `territory`, `site`, `place_code`,
`place_text`, `when`, `danger_now`, `description`, `sms_updates`), `LookupCase` reads
`case_number`, `AddInformation` reads `case_number` and `information`, `SetLanguage`
reads `language`, `AnswerClosing` reads `case_number` and `closing_answer`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


@dataclass(frozen=True, slots=True)
class SubmitReport:
    """Store a new report; the outcome carries `case`, the number shown to the reporter."""

    answers: Mapping[str, str] = field(hash=False)


@dataclass(frozen=True, slots=True)
class LookupCase:
    """Find a case by its ten digits; the outcome carries `case`, `status` and maybe `message`."""

    number: str


@dataclass(frozen=True, slots=True)
class AddInformation:
    """Append a reporter's text to an existing case; the outcome carries `case`."""

    number: str
    text: str


@dataclass(frozen=True, slots=True)
class AnswerClosing:
    """Take the reporter's answer to a closing (`solved`, `not_solved`); the outcome carries
    `case` and `satisfaction`."""

    number: str
    answer: str


@dataclass(frozen=True, slots=True)
class SetLanguage:
    """Remember the language this number picked; needs no outcome."""

    lang: str


@dataclass(frozen=True, slots=True)
class DiscardDraft:
    """Forget the unfinished report kept for this number; needs no outcome."""


Effect = SubmitReport | LookupCase | AddInformation | SetLanguage | DiscardDraft | AnswerClosing


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of running an effect: whether it worked, and values for the next screens."""

    ok: bool
    values: Mapping[str, str] = field(default_factory=dict, hash=False)


def _submit(answers: Mapping[str, str], draft: Mapping[str, str]) -> Effect:
    return SubmitReport(MappingProxyType(dict(draft)))


def _lookup(answers: Mapping[str, str], draft: Mapping[str, str]) -> Effect:
    return LookupCase(answers.get("case_number", ""))


def _add(answers: Mapping[str, str], draft: Mapping[str, str]) -> Effect:
    return AddInformation(answers.get("case_number", ""), answers.get("information", ""))


def _answer(answers: Mapping[str, str], draft: Mapping[str, str]) -> Effect:
    return AnswerClosing(answers.get("case_number", ""), answers.get("closing_answer", ""))


def _language(answers: Mapping[str, str], draft: Mapping[str, str]) -> Effect:
    return SetLanguage(answers.get("language", ""))


def _discard(answers: Mapping[str, str], draft: Mapping[str, str]) -> Effect:
    return DiscardDraft()


BUILDERS: Mapping[str, Callable[[Mapping[str, str], Mapping[str, str]], Effect]] = MappingProxyType(
    {
        "SubmitReport": _submit,
        "LookupCase": _lookup,
        "AddInformation": _add,
        "SetLanguage": _language,
        "DiscardDraft": _discard,
        "AnswerClosing": _answer,
    }
)


def build(name: str, answers: Mapping[str, str], draft: Mapping[str, str]) -> Effect:
    """Make the effect called `name` from the answers so far (`draft`: the report's own)."""
    return BUILDERS[name](answers, draft)
