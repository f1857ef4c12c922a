"""`sauti flows lint`: prove every screen and SMS fits, in every language and page.

Besides the schema checks of the loader (dangling targets, key conflicts, ...), the lint
finds nodes nothing leads to and placeholders nothing fills, then renders every node that
shows something, in each language, on every page, with and without each error line it
can carry, using the longest realistic values: 40-character place names with many
siblings (so lists page), full-length typed answers, a full case number and a long
committee message. Each USSD screen is rendered in both alphabets a network may be given,
GSM-7 and plain ASCII (`flows.gsm.ALPHABETS`). A screen that needs a hard cut, or holds
a character outside its alphabet, is an error naming the flow, node, language (and
``ascii`` for an ASCII screen) and page. Every SMS template (`flows.sms`) is filled with its
samples in each language and must keep within its segment budget. A translation that
adds, drops or breaks a placeholder is an error; a missing one is a warning (the English
text is shown), and the coverage of each language, over the flows and the code's
messages, is printed.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TextIO

from flows import gsm, sms
from flows.i18n import (
    Catalogs,
    bundle_messages,
    placeholder_problem,
    placeholders,
    shipped_code_messages,
)
from flows.loader import BundleError, answers_set, load_bundle, successors, texts_with
from flows.model import (
    DRAFT_TARGET,
    LANGUAGE_NODE,
    MENU_NODE,
    START_NODE,
    Action,
    Bundle,
    End,
    ListNode,
    Menu,
    Node,
    Shown,
    TextInput,
)
from flows.places import LEVEL_NAMES, LEVELS, StaticPlaces
from flows.render import BUDGET, CHANNELS, TEXT_CHANNELS, Page, layout
from flows.sources import LANGUAGE_NAMES, list_level
from flows.state import Context, Entry, State, Translator
from flows.voice import COUNTED_VALUES  # the counts a limit notice on a call says

PLACE_NAME_LENGTH = 40
PLACE_CHILDREN = 30
PLACE_LEVELS = LEVELS


def _branch(root: str) -> tuple[str, ...]:
    """The branch of the representative tree under `root` where every level is wide."""
    return tuple("-".join([root, *["1"] * depth]) for depth in range(len(PLACE_LEVELS)))


# The one branch of the generic representative tree where every level is wide: p1, p1-1, …
WIDE_BRANCH = _branch("p1")
SERVICE_CODE = "*384*12345#"
CASE = "482-177-3506"
MESSAGE = (
    "The committee visited the site on Monday with the mining service; the pit is closed "
    "until the walls are shored up. Call the focal point if it reopens."
)
DUE = "31/12 23:59"
COMMITTEE_NAME = "Comite provincial de suivi des mines du Sud-Kivu"
OUTCOME_NAMES = frozenset({"case", "status", "message", "within", "due", "passed_up"})
CONTEXT_NAMES = frozenset({"service_code", "max_length"})

_MAX_PAGES = 500
# How the report names each alphabet.
ALPHABET_NAMES: Mapping[str, str] = {gsm.GSM7: "GSM-7", gsm.ASCII: "plain ASCII"}
_SHOWN_MISSING = 10

Source = Bundle | Mapping[str, str] | Sequence[Path]


@dataclass
class LintReport:
    """What the lint found; `errors` fail it, `warnings` do not."""

    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    coverage: dict[str, tuple[int, int]] = field(default_factory=dict)
    screens: int = 0
    texts: int = 0
    # Screens checked in each alphabet (`flows.gsm.ALPHABETS`); `screens` counts them all.
    alphabets: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors

    def percent(self, lang: str) -> int:
        """Return the share of messages `lang` translates, rounded down to a whole percent."""
        done, total = self.coverage[lang]
        return 100 * done // total if total else 100

    def format(self) -> str:
        """Return the report as console text."""
        lines = [f"error: {error}" for error in self.errors]
        lines += [f"warning: {warning}" for warning in self.warnings]
        lines += [
            f"translations: {lang} {done}/{total} ({self.percent(lang)}%)"
            for lang, (done, total) in self.coverage.items()
        ]
        verdict = "ok" if self.ok else f"FAILED with {len(self.errors)} error(s)"
        spelled = ", ".join(
            f"{self.alphabets.get(alphabet, 0)} in {ALPHABET_NAMES[alphabet]}"
            for alphabet in gsm.ALPHABETS
        )
        lines.append(
            f"{self.screens} screens (at most {BUDGET} characters: {spelled}) and {self.texts} "
            f"SMS (within their segment budgets) checked: {verdict}"
        )
        return "\n".join(lines)


# -- representative data -------------------------------------------------------------------


def _name(code: str) -> str:
    """A realistic long place name, exactly PLACE_NAME_LENGTH characters."""
    base = f"{code} Coopérative minière de Nyabibwe-Kalehe "
    return (base * 2)[:PLACE_NAME_LENGTH]


def representative_places() -> StaticPlaces:
    """Four levels, every place with many children and a long name; and for each country
    that names its levels otherwise (`LEVEL_NAMES`), a country of that code whose branch
    `_branch(code)` is as wide, so its own questions are rendered too."""
    rows: list[tuple[str, str, str | None, str]] = []
    parents: list[str | None] = [None]
    for level in PLACE_LEVELS:
        children: list[str | None] = []
        for parent in parents:
            width = PLACE_CHILDREN if parent is None or parent in WIDE_BRANCH else 1
            for number in range(1, width + 1):
                code = f"{parent}-{number}" if parent else f"p{number}"
                rows.append((code, _name(code), parent, level))
                children.append(code)
        parents = children
    for country in LEVEL_NAMES:
        rows.append((country, _name(country), None, PLACE_LEVELS[0]))
        for parent, level in zip(_branch(country), PLACE_LEVELS[1:], strict=False):
            rows += [
                (f"{parent}-{n}", _name(f"{parent}-{n}"), parent, level)
                for n in range(1, PLACE_CHILDREN + 1)
            ]
    return StaticPlaces(rows)


def _longest(
    texts: Mapping[str, str], catalogs: Catalogs, lang: str, alphabet: gsm.Alphabet = gsm.GSM7
) -> str:
    """The value of a label table whose translation, spelled in `alphabet`, is longest."""
    tr = catalogs.translator(lang)
    return max(texts, key=lambda value: len(gsm.spell(tr.gettext(texts[value]), alphabet)))


def _typed(length: int) -> str:
    words = "the wall of the pit fell on two diggers near the river, "
    return (words * (length // len(words) + 1))[:length].strip()


def _place_answers(bundle: Bundle, branch: Sequence[str] = WIDE_BRANCH) -> dict[str, str]:
    """A place at the depth of each place answer, on a branch where every level is wide."""
    depths: dict[str, int] = {}
    for node in bundle.nodes.values():
        if isinstance(node, ListNode) and node.source == "places":
            depth = 0 if node.parent is None else depths.get(node.parent, 0) + 1
            for name in (node.answer, *node.also):
                depths[name] = max(depths.get(name, 0), depth)
    deepest = len(branch) - 1
    return {name: branch[min(depth, deepest)] for name, depth in depths.items()}


def representative_answers(
    bundle: Bundle, catalogs: Catalogs, lang: str, alphabet: gsm.Alphabet = gsm.GSM7
) -> dict[str, str]:
    """The longest value each answer can show in `alphabet`: labels, place names, typed
    text."""
    answers = _place_answers(bundle)
    for node in bundle.nodes.values():
        if isinstance(node, TextInput):
            answers[node.answer] = _typed(node.max_length)
        if isinstance(node, ListNode) and node.source == "languages":
            answers[node.answer] = max(LANGUAGE_NAMES, key=lambda code: len(LANGUAGE_NAMES[code]))
    for name, table in bundle.labels.items():
        if name not in OUTCOME_NAMES and table:
            answers[name] = _longest(table, catalogs, lang, alphabet)
    return answers


def representative_values(
    bundle: Bundle, catalogs: Catalogs, lang: str, alphabet: gsm.Alphabet = gsm.GSM7
) -> dict[str, str]:
    values = {"case": CASE, "message": MESSAGE, "due": DUE, "passed_up": COMMITTEE_NAME}
    values |= {"days": "999", "hours": "23"}
    if bundle.labels.get("status"):
        values["status"] = _longest(bundle.labels["status"], catalogs, lang, alphabet)
    return values


# -- structure -----------------------------------------------------------------------------


def unreachable(bundle: Bundle) -> list[str]:
    """Return the nodes no session can reach."""
    roots = [START_NODE, LANGUAGE_NODE, MENU_NODE]
    if any(
        option.goto == DRAFT_TARGET
        for node in bundle.nodes.values()
        if isinstance(node, Menu)
        for option in node.options
    ):
        roots += [n for n in bundle.nodes if bundle.in_draft(n) and _is_question(bundle.nodes[n])]
    seen: set[str] = set()
    while roots:
        node_id = roots.pop()
        if node_id not in seen and node_id in bundle.nodes:
            seen.add(node_id)
            roots.extend(successors(bundle.nodes[node_id]))
    return [node_id for node_id in bundle.nodes if node_id not in seen]


def _is_question(node: Node) -> bool:
    return isinstance(node, Menu | ListNode | TextInput)


def _where(node_id: str) -> str:
    flow, _, node = node_id.partition(".")
    return f"{flow}.yaml: node '{node.split('~')[0]}'"


def unknown_placeholders(bundle: Bundle) -> list[str]:
    """Return texts with placeholders that no answer, outcome or context ever fills."""
    known = OUTCOME_NAMES | CONTEXT_NAMES | COUNTED_VALUES
    known |= {answer for node in bundle.nodes.values() for answer in answers_set(node)}
    problems = []
    for msgid, places in bundle_messages(bundle).items():
        for name in sorted(placeholders(msgid) - known):
            problems.append(f"{', '.join(places)}: '{{{name}}}' is never filled: {msgid!r}")
    return problems


def channel_text_problems(bundle: Bundle) -> list[str]:
    """Return shared texts keyed ``<channel>:<node>`` that name no channel or no shown node."""
    problems = []
    for role in bundle.texts:
        channel, colon, node_id = role.partition(":")
        if not colon:
            continue
        if channel not in CHANNELS:
            problems.append(f"texts: '{role}': '{channel}' is not one of {', '.join(CHANNELS)}")
        elif not isinstance(bundle.nodes.get(node_id), Menu | ListNode | TextInput | End):
            problems.append(f"texts: '{role}': '{node_id}' is no node that shows a screen")
    return problems


# -- screens -------------------------------------------------------------------------------


def _notices(bundle: Bundle, node: Shown) -> list[str | None]:
    """Every error line the node can show, and none."""
    found: list[str | None] = [None]
    if isinstance(node, Menu | ListNode):
        found.append(bundle.texts["invalid_choice"])
    if isinstance(node, TextInput):
        found += [bundle.texts["empty_text"], bundle.texts["too_long"]]
        if node.validator == "case_number":
            found.append(bundle.texts["invalid_case_number"])
    found += [
        other.error
        for other in bundle.nodes.values()
        if isinstance(other, Action) and other.error and other.on_fail == node.id
    ]
    return found


def _pages(bundle: Bundle, state: State, ctx: Context) -> Iterator[tuple[int, Page]]:
    offset = 0
    for number in range(1, _MAX_PAGES + 1):
        page = layout(bundle, replace(state, offset=offset), ctx)
        yield number, page
        if not page.more:
            return
        offset += max(page.shown, 1)


def _problem(page: Page, alphabet: gsm.Alphabet) -> str | None:
    if page.cut:
        return f"does not fit {BUDGET} characters even with values shortened"
    if alphabet == gsm.ASCII and not gsm.is_ascii(page.text):
        return "has characters outside printable ASCII"
    if not gsm.is_gsm7(page.text):
        return "has characters outside GSM-7"
    return None


def _context(
    catalogs: Catalogs, lang: str, places: StaticPlaces, alphabet: gsm.Alphabet
) -> Context:
    return Context(
        lang=lang,
        translators=catalogs.translator,
        places=places,
        languages=tuple(LANGUAGE_NAMES),
        service_code=SERVICE_CODE,
        alphabet=alphabet,
    )


def check_screens(
    bundle: Bundle, catalogs: Catalogs, languages: Sequence[str], report: LintReport
) -> None:
    """Render every shown node in every language, page and error variant, in each
    alphabet a USSD screen may be spelled in."""
    places = representative_places()
    for alphabet in gsm.ALPHABETS:
        for lang in languages:
            ctx = _context(catalogs, lang, places, alphabet)
            answers = representative_answers(bundle, catalogs, lang, alphabet)
            values = representative_values(bundle, catalogs, lang, alphabet)
            for node in bundle.nodes.values():
                if isinstance(node, Menu | ListNode | TextInput | End):
                    _check_node(bundle, node, ctx, answers, values, report)
            if alphabet != gsm.GSM7:
                continue  # only USSD screens are ever spelled otherwise
            # A node with a text of its own on another channel is rendered there as well.
            for role in bundle.texts:
                channel, _, node_id = role.partition(":")
                shown = bundle.nodes.get(node_id)
                if channel in TEXT_CHANNELS and channel != ctx.channel and isinstance(shown, Shown):
                    own = replace(ctx, channel=channel)
                    _check_node(bundle, shown, own, answers, values, report)


def _places_lists(bundle: Bundle) -> list[ListNode]:
    return [n for n in bundle.nodes.values() if isinstance(n, ListNode) and n.source == "places"]


def check_place_levels(
    bundle: Bundle, catalogs: Catalogs, languages: Sequence[str], report: LintReport
) -> None:
    """Render each places list again in every country that names its levels otherwise
    (`LEVEL_NAMES`), where it asks with its `level_text`; warn of a list that has no
    question of its own for the word such a country uses (its `text` is then shown)."""
    places = representative_places()
    for country in LEVEL_NAMES:
        branch = _place_answers(bundle, _branch(country))
        for alphabet in gsm.ALPHABETS:
            for lang in languages:
                ctx = _context(catalogs, lang, places, alphabet)
                answers = {**representative_answers(bundle, catalogs, lang, alphabet), **branch}
                values = representative_values(bundle, catalogs, lang, alphabet)
                for node in _places_lists(bundle):
                    level = list_level(node, answers, ctx)
                    if level is None or level in PLACE_LEVELS:
                        continue
                    if level in node.level_text:
                        variant = f", {country} {level}"
                        _check_node(bundle, node, ctx, answers, values, report, variant)
                    elif lang == languages[0] and alphabet == gsm.GSM7:
                        report.warnings.append(
                            f"{_where(node.id)}: {country} calls this level '{level}' and the "
                            f"list has no level_text for it, so {node.text[0]!r} is shown there"
                        )


def _check_node(
    bundle: Bundle,
    node: Shown,
    ctx: Context,
    answers: dict[str, str],
    values: dict[str, str],
    report: LintReport,
    places_variant: str = "",
) -> None:
    drafts = {k: v for k, v in answers.items() if k in bundle.draft_keys}
    extras = {k: v for k, v in answers.items() if k not in bundle.draft_keys}
    for notice in _notices(bundle, node):
        state = State(
            version=bundle.version,
            lang=ctx.lang,
            node=node.id,
            history=(Entry(MENU_NODE, 0),),
            answers=drafts,
            extras=extras,
            values=values,
            notice=notice,
        )
        for number, page in _pages(bundle, state, ctx):
            report.screens += 1
            report.alphabets[ctx.alphabet] = report.alphabets.get(ctx.alphabet, 0) + 1
            problem = _problem(page, ctx.alphabet)
            if problem:
                variant = ", with error line" if notice else ""
                channel = "" if ctx.channel == CHANNELS[0] else f", {ctx.channel}"
                if ctx.alphabet != gsm.GSM7:
                    channel += f", {ctx.alphabet}"
                report.errors.append(
                    f"{_where(node.id)} [{ctx.lang}{channel}{places_variant}, page {number}"
                    f"{variant}]: "
                    f"screen {problem}:\n"
                    + "\n".join(f"    | {line}" for line in page.text.splitlines())
                )


# -- translations --------------------------------------------------------------------------


def _missing_warning(lang: str, missing: Sequence[str]) -> str:
    shown = ", ".join(repr(m) for m in missing[:_SHOWN_MISSING])
    more = f" and {len(missing) - _SHOWN_MISSING} more" if len(missing) > _SHOWN_MISSING else ""
    return f"{lang}: {len(missing)} message(s) not translated: {shown}{more}"


def check_translations(
    messages: Iterable[str], catalogs: Catalogs, languages: Sequence[str], report: LintReport
) -> None:
    """Warn about missing translations; refuse translations that break their placeholders."""
    wanted = list(dict.fromkeys(messages))
    for lang in languages:
        own = catalogs.translated(lang)
        report.coverage[lang] = catalogs.coverage(lang, wanted)
        missing = [msgid for msgid in wanted if msgid not in own]
        if missing and lang != "en":
            report.warnings.append(_missing_warning(lang, missing))
        for msgid in wanted:
            problem = placeholder_problem(msgid, own[msgid]) if msgid in own else None
            if problem:
                report.errors.append(f"{lang}: the translation of {msgid!r} {problem}")


# -- SMS -----------------------------------------------------------------------------------


def sms_problem(template: sms.Template, tr: Translator) -> str | None:
    """Tell how a filled template breaks its budget in the language of `tr`, if it does."""
    used = {name for msgid in template.msgids for name in placeholders(msgid)}
    unsampled = used - set(template.samples)
    if unsampled:
        return "no sample for " + ", ".join(f"{{{name}}}" for name in sorted(unsampled))
    try:
        text = sms.fill(template, tr)
    except sms.TemplateError as exc:
        return str(exc)
    parts = gsm.segments(text)
    quoted = "\n".join(f"    | {line}" for line in text.splitlines())
    if parts > template.budget:
        return f"takes {parts} segments, more than its {template.budget}:\n{quoted}"
    if template.screen and gsm.septets(text) > BUDGET:
        return f"does not fit a USSD screen of {BUDGET} characters:\n{quoted}"
    if template.screen and gsm.septets(gsm.to_ascii(text)) > BUDGET:
        return f"does not fit a USSD screen of {BUDGET} characters in plain ASCII:\n{quoted}"
    return None


def check_sms(
    templates: Sequence[sms.Template],
    catalogs: Catalogs,
    languages: Sequence[str],
    report: LintReport,
) -> None:
    """Fill every SMS template in every language with its samples; check its budget."""
    for lang in languages:
        tr = catalogs.translator(lang)
        for template in templates:
            report.texts += 1
            problem = sms_problem(template, tr)
            if problem:
                report.errors.append(f"SMS {template.msgid[:50]!r} [{lang}]: {problem}")


# -- entry points --------------------------------------------------------------------------


def _bundle(source: Source, report: LintReport) -> Bundle | None:
    if isinstance(source, Bundle):
        return source
    texts = source if isinstance(source, Mapping) else texts_with(source)
    try:
        return load_bundle(texts)
    except BundleError as exc:
        report.errors.extend(exc.problems)
        return None


def lint(
    source: Source,
    catalogs: Catalogs,
    languages: Sequence[str],
    *,
    templates: Sequence[sms.Template] = (),
    code_messages: Iterable[str] | None = None,
) -> LintReport:
    """Check a bundle, definition texts, or files (added to the shipped definitions), the
    SMS `templates` given, and code messages (default: those of the service's modules)."""
    report = LintReport()
    bundle = _bundle(source, report)
    if bundle is None:
        return report
    report.errors += [f"{_where(node_id)}: nothing leads here" for node_id in unreachable(bundle)]
    report.errors += unknown_placeholders(bundle)
    report.errors += channel_text_problems(bundle)
    code = shipped_code_messages() if code_messages is None else code_messages
    check_translations([*bundle_messages(bundle), *code], catalogs, languages, report)
    check_screens(bundle, catalogs, languages, report)
    check_place_levels(bundle, catalogs, languages, report)
    check_sms(templates, catalogs, languages, report)
    return report


def run_texts(
    texts: Mapping[str, str],
    languages: Sequence[str],
    out: TextIO | None = None,
    *,
    templates: Sequence[sms.Template] = (),
) -> int:
    """Lint definition texts (and `templates`) with the shipped catalogs, print the report,
    return 0 or 1."""
    report = lint(texts, Catalogs.load(languages), languages, templates=templates)
    print(report.format(), file=out or sys.stdout)
    return 0 if report.ok else 1


def run(
    paths: Sequence[Path],
    languages: Sequence[str],
    out: TextIO | None = None,
    *,
    templates: Sequence[sms.Template] = (),
) -> int:
    """Lint the shipped definitions with `paths` added or replacing by file name."""
    return run_texts(texts_with(paths), languages, out, templates=templates)
