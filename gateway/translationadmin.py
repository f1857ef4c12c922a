"""Managing translations from the console and the API: coverage, download, checked upload.

An upload is a whole .po file for one language. It is refused unless every entry is a
message the service shows (a msgid of the published flows or of the code), every
translation keeps the placeholders of its msgid exactly as the msgid writes them (no format
spec of its own: `flows.i18n.placeholder_problem`), and every screen and SMS still fits in
that language (the lint of `sauti flows lint`, run with the uploaded catalog). The whole
check is time-boxed to CHECK_SECONDS of CPU: an upload that would take longer is refused. What it
changes is shown message by message before it is applied; applied, it is stored as sent
(translator comments kept, no entry marked fuzzy by us) and the runtime uses it at once.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from functools import cache

from babel.messages.catalog import Catalog, Message

from flows import lint as flow_lint
from flows.i18n import (
    available_languages,
    bundle_messages,
    catalog_messages,
    placeholder_problem,
)
from flows.i18n import shipped_code_messages as _code_messages
from flows.places import PLACE_CONTEXT
from flows.sources import LANGUAGE_NAMES
from gateway.flowadmin import FlowAdminError
from gateway.runtime import Runtime
from gateway.templates import sms_templates
from storage import translations
from storage.db import utcnow
from storage.places import MAX_NAME
from storage.users import audit

MAX_PO_BYTES = 1024 * 1024
# CPU seconds an upload's whole check may take (a good catalog takes a fraction of one).
CHECK_SECONDS = 2.0
CODE_GROUP = "code"
SHARED_GROUPS = frozenset({"texts", "labels"})
SHARED_GROUP = "shared"
_SHOWN_MISSING = 200
_MAX_PROBLEM = 2000


@cache
def code_messages() -> dict[str, list[str]]:
    """The code's messages (SMS, replies), extracted once a process."""
    return _code_messages()


def languages(runtime: Runtime) -> list[str]:
    """The languages that may be managed: those offered, then any other with a catalog."""
    return list(dict.fromkeys([*runtime.settings.languages, *available_languages()]))


def checked_language(runtime: Runtime, language: str) -> str:
    if language not in languages(runtime):
        raise FlowAdminError("no such language", 404)
    return language


def known_messages(runtime: Runtime) -> dict[str, str]:
    """Every msgid the service shows, with the group it belongs to (a flow, shared, code)."""
    groups: dict[str, str] = {}
    for msgid, places in bundle_messages(runtime.bundle).items():
        head = places[0].split(".", 1)[0]
        groups[msgid] = SHARED_GROUP if head in SHARED_GROUPS else head
    for msgid in code_messages():
        groups.setdefault(msgid, CODE_GROUP)
    return groups


# -- coverage ------------------------------------------------------------------------------


@dataclass
class GroupCoverage:
    group: str
    translated: int
    total: int
    missing: list[str]

    @property
    def percent(self) -> int:
        return 100 * self.translated // self.total if self.total else 100


@dataclass
class LanguageCoverage:
    language: str
    name: str
    translated: int
    total: int
    groups: list[GroupCoverage] = field(default_factory=list)

    @property
    def percent(self) -> int:
        return 100 * self.translated // self.total if self.total else 100


def coverage(runtime: Runtime) -> list[LanguageCoverage]:
    """Translated / total message ids of each language, over each flow, shared texts and code."""
    known = known_messages(runtime)
    names = list(dict.fromkeys(known.values()))
    found = []
    for lang in languages(runtime):
        own = runtime.catalogs.translated(lang)
        groups = []
        for group in names:
            ids = [msgid for msgid, where in known.items() if where == group]
            missing = [msgid for msgid in ids if msgid not in own]
            groups.append(GroupCoverage(group, len(ids) - len(missing), len(ids), missing))
        done = sum(g.translated for g in groups)
        found.append(
            LanguageCoverage(lang, LANGUAGE_NAMES.get(lang, lang), done, len(known), groups)
        )
    return found


# -- upload --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    msgid: str
    old: str | None
    new: str | None
    context: str | None = None  # "place" for a place name


@dataclass
class UploadCheck:
    """What an upload would change, and why it is refused when it is."""

    language: str
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    text: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems


def _decoded(raw: bytes) -> str:
    if len(raw) > MAX_PO_BYTES:
        raise FlowAdminError(f"the file is too large (at most {MAX_PO_BYTES // 1024} KB)", 413)
    if not raw.strip():
        raise FlowAdminError("the file is empty")
    try:
        return raw.decode("utf-8").replace("\r\n", "\n")
    except UnicodeDecodeError as exc:
        raise FlowAdminError(f"the file is not UTF-8 text (byte {exc.start})") from exc


def _parsed(text: str) -> Catalog:
    try:
        return translations.parse_po(text)
    except Exception as exc:  # babel raises PoFileError, ValueError and others on bad input
        raise FlowAdminError(f"this is not a .po file babel can read: {exc}"[:300]) from exc


class CheckTooLong(Exception):
    """The check of an upload used up its CPU time (`TimeBox`)."""


class TimeBox:
    """CPU time of this thread a check may still use; `check()` raises once it is used up.

    Thread time, not wall time: a check slowed by a busy machine is not refused for it.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._until = time.thread_time() + seconds

    def check(self) -> None:
        if time.thread_time() > self._until:
            raise CheckTooLong


def _place_problem(message: Message) -> str | None:
    """A place name's translation follows the rules of an imported name."""
    text = str(message.string)
    if text and (len(text) > MAX_NAME or any(ord(ch) < 32 or ord(ch) == 127 for ch in text)):
        return (
            f"the place name {message.id!r} must be translated with 1 to {MAX_NAME} "
            "characters on one line"
        )
    return None


def _entry_problem(message: Message, known: dict[str, str]) -> str | None:
    if not isinstance(message.id, str) or not isinstance(message.string, str):
        return f"{message.id!r}: plural forms are not used by Sauti"
    if message.context == PLACE_CONTEXT:
        return _place_problem(message)
    if message.context:
        return (
            f"{message.id!r}: msgctxt {message.context!r} is not used by Sauti (only "
            f'"{PLACE_CONTEXT}", for place names)'
        )
    if message.id not in known:
        return f"unknown msgid {message.id!r}: it is in no flow and no code"
    problem = placeholder_problem(message.id, message.string) if message.string else None
    return f"the translation of {message.id!r} {problem}" if problem else None


def _entry_problems(catalog: Catalog, known: dict[str, str], box: TimeBox) -> tuple[list[str], int]:
    problems: list[str] = []
    fuzzy = 0
    for message in catalog:
        box.check()
        if not message.id:
            continue
        problem = _entry_problem(message, known)
        if problem:
            problems.append(f"line {message.lineno}: {problem}"[:_MAX_PROBLEM])
        fuzzy += bool(message.fuzzy and message.string and message.id in known)
    return problems, fuzzy


def _change(key: str, old: str | None, new: str | None) -> Change:
    context, eot, msgid = key.rpartition("\x04")
    return Change(msgid, old, new, context if eot else None)


def _changes(old: dict[str, str], new: dict[str, str], order: list[str]) -> list[Change]:
    return [
        _change(key, old.get(key), new.get(key))
        for key in dict.fromkeys([*order, *old, *new])
        if old.get(key) != new.get(key)
    ]


def _unknown_places(runtime: Runtime, catalog: Catalog) -> list[str]:
    """Place names translated that name no place (renamed, or of another tree)."""
    return sorted(
        str(message.id)
        for message in catalog
        if message.context == PLACE_CONTEXT and not runtime.places.has_name(str(message.id))
    )


def check_upload(runtime: Runtime, language: str, raw: bytes) -> UploadCheck:
    """Validate an uploaded .po for `language` and tell what it would change."""
    box = TimeBox(CHECK_SECONDS)
    checked_language(runtime, language)
    text = _decoded(raw)
    catalog = _parsed(text)
    known = known_messages(runtime)
    result = UploadCheck(language=language, text=text)
    try:
        _check_catalog(runtime, catalog, known, result, box)
    except CheckTooLong:
        result.problems.append(
            f"checking this catalog took more than {box.seconds:g} s of CPU time: it is refused "
            "(are some translations very long?)"
        )
    return result


def _check_catalog(
    runtime: Runtime, catalog: Catalog, known: dict[str, str], result: UploadCheck, box: TimeBox
) -> None:
    language = result.language
    result.problems, fuzzy = _entry_problems(catalog, known, box)
    if fuzzy:
        result.warnings.append(
            f"{fuzzy} entries are marked fuzzy: they are not used, people read English there"
        )
    unknown = _unknown_places(runtime, catalog)
    if unknown:
        shown = ", ".join(repr(name) for name in unknown[:10])
        result.warnings.append(
            f"{len(unknown)} place name(s) translated name no place here (kept, unused): {shown}"
        )
    new = catalog_messages(catalog)
    old = dict(runtime.catalogs.translated(language))
    result.changes = _changes(old, new, list(known))
    if result.problems:
        return
    catalogs = runtime.catalogs.replaced({language: new}).with_check(box.check)
    report = flow_lint.lint(
        runtime.bundle,
        catalogs,
        [language],
        templates=sms_templates(),
        code_messages=list(known),
    )
    result.problems += [problem[:_MAX_PROBLEM] for problem in report.errors]


def _store(runtime: Runtime, check: UploadCheck, username: str, ip_hash: str | None) -> int:
    with runtime.sessions.begin() as session:
        row = translations.store(
            session=session,
            language=check.language,
            po=check.text,
            uploaded_by=username,
            now=utcnow(),
        )
        audit(
            session=session,
            actor=username,
            action="translations.upload",
            target=check.language,
            data={"changed": len(check.changes), "upload": row.id},
            ip_hash=ip_hash,
            now=utcnow(),
        )
        return row.id


async def upload(
    runtime: Runtime,
    language: str,
    raw: bytes,
    username: str,
    *,
    dry_run: bool,
    ip_hash: str | None = None,
) -> UploadCheck:
    """Check an upload and, unless `dry_run` or refused, make it the language's catalog."""
    check = await asyncio.to_thread(check_upload, runtime, language, raw)
    if check.ok and not dry_run:
        await runtime.db(_store, runtime, check, username, ip_hash)
        await runtime.refresh()
    return check


def current_po(runtime: Runtime, language: str) -> str:
    checked_language(runtime, language)
    with runtime.sessions() as session:
        return translations.current_po(session=session, language=language)
