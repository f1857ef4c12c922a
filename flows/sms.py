"""SMS templates and their budgets, declared where the texts are composed, proved by the lint.

A module that composes SMS (or a message shown as a USSD screen outside the flows)
declares them in a module-level ``SMS_TEMPLATES``, a sequence of `Template`, and marks
each msgid with `N_` for extraction. The lint is handed the templates to check (the
service's are gathered in `gateway.templates`): this package imports nothing of the rest.

Each template carries the longest realistic value of each of its placeholders. A sample
is either a literal (a full case number, a 40-character place name, a 60-character
description excerpt) or a function of the translator, for values that are themselves
translated (a category label is longest in some language, not in English): `longest`
and `joined` build those. `fill` translates a template, fills it with its samples and
turns it into GSM-7, the way an SMS is sent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from flows import gsm
from flows.state import Translator

Sample = str | Callable[[Translator], str]


def N_(message: str) -> str:
    """Mark a message for extraction; translated where it is shown."""
    return message


# Longest realistic values, shared by the modules that declare templates.
CASE = "482-177-3506"
CASE_DIGITS = "4821773506"
PLACE = "Coopérative minière Nyabibwe-Kalehe, Sud"  # 40 characters
EXCERPT = "The wall of the pit fell on two diggers near the river at..."  # 60
COMMITTEE = "Comité local de suivi Walikale-Mubi Nord"  # 40
MESSAGE = (
    "The committee visited the site on Monday with the mining service; the pit is closed "
    "until the walls are shored up."
)


@dataclass(frozen=True, slots=True)
class Template:
    """One SMS text: its msgid, its budget in segments, and a sample for each placeholder.

    `screen` marks a message that is also shown as a USSD screen (after ``END ``), which
    must then fit a screen's septets as well. `tail` are messages the SMS always ends with,
    each after a space (the reporters' "send STATUS" line), filled with the same samples
    and counted in the same budget.
    """

    msgid: str
    budget: int
    samples: Mapping[str, Sample] = field(default_factory=dict)
    screen: bool = False
    tail: tuple[str, ...] = ()

    @property
    def msgids(self) -> tuple[str, ...]:
        """The message and its tail, in the order the SMS shows them."""
        return (self.msgid, *self.tail)


class TemplateError(ValueError):
    """A template cannot be filled: a placeholder without a sample, or broken braces."""


def longest(*msgids: str | Mapping[str, str] | Iterable[str]) -> Callable[[Translator], str]:
    """A sample: the longest translation of these msgids, in the language filled.

    Each is a msgid, a sequence of them, or a label table (stored key to English text),
    whose texts, not its keys, are what an SMS shows once translated.
    """
    choices = [msgid for item in msgids for msgid in _msgids(item)]

    def pick(tr: Translator) -> str:
        return max((tr.gettext(msgid) for msgid in choices), key=_length)

    return pick


def _msgids(item: str | Mapping[str, str] | Iterable[str]) -> Iterable[str]:
    if isinstance(item, str):
        return [item]
    if isinstance(item, Mapping):
        return item.values()
    return item


def joined(*parts: Sample, sep: str = "") -> Callable[[Translator], str]:
    """A sample made of several samples, e.g. a category, ': ' and a hazard."""

    def join(tr: Translator) -> str:
        return sep.join(value(part, tr) for part in parts)

    return join


def value(sample: Sample, tr: Translator) -> str:
    """The text of one sample in the language of `tr`."""
    return sample if isinstance(sample, str) else sample(tr)


def fill(template: Template, tr: Translator) -> str:
    """The template translated, filled with its samples and in GSM-7."""
    values = {name: value(sample, tr) for name, sample in template.samples.items()}
    try:
        text = " ".join(tr.gettext(msgid).format_map(values) for msgid in template.msgids)
    except KeyError as exc:
        raise TemplateError(f"no sample for {{{exc.args[0]}}}") from exc
    except (IndexError, ValueError) as exc:
        raise TemplateError(f"broken placeholder: {exc}") from exc
    return gsm.transliterate(text)


def _length(text: str) -> int:
    return gsm.septets(gsm.transliterate(text))
