"""Managing translations from the console and the API: coverage, download, checked upload.

An upload is a whole .po file for one language. It is refused unless every entry is a
message the service shows (a msgid of the published flows or of the code), every
translation keeps the placeholders of its msgid, and every screen and SMS still fits in
that language (the lint of `sauti flows lint`, run with the uploaded catalog). What it
changes is shown message by message before it is applied; applied, it is stored as sent
(translator comments kept, no entry marked fuzzy by us) and the runtime uses it at once.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from functools import cache

from babel.messages.catalog import Catalog

from flows import lint as flow_lint
from flows.i18n import available_languages, bundle_messages, catalog_messages
from flows.i18n import shipped_code_messages as _code_messages
from flows.lint import placeholder_problem
from flows.sources import LANGUAGE_NAMES
from gateway.flowadmin import FlowAdminError
from gateway.runtime import Runtime
from storage import translations
from storage.db import utcnow
from storage.users import audit

MAX_PO_BYTES = 1024 * 1024
CODE_GROUP = "code"
SHARED_GROUPS = frozenset({"texts", "labels"})
SHARED_GROUP = "shared"
_SHOWN_MISSING = 200


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


def _entry_problems(catalog: Catalog, known: dict[str, str]) -> tuple[list[str], int]:
    problems: list[str] = []
    fuzzy = 0
    for message in catalog:
        if not message.id:
            continue
        if not isinstance(message.id, str) or not isinstance(message.string, str):
            problems.append(f"{message.id!r}: plural forms are not used by Sauti")
            continue
        if message.id not in known:
            problems.append(f"unknown msgid {message.id!r}: it is in no flow and no code")
            continue
        fuzzy += bool(message.fuzzy and message.string)
        problem = placeholder_problem(message.id, message.string) if message.string else None
        if problem:
            problems.append(f"the translation of {message.id!r} {problem}")
    return problems, fuzzy


def _changes(old: dict[str, str], new: dict[str, str], order: list[str]) -> list[Change]:
    return [
        Change(msgid, old.get(msgid), new.get(msgid))
        for msgid in dict.fromkeys([*order, *old, *new])
        if old.get(msgid) != new.get(msgid)
    ]


def check_upload(runtime: Runtime, language: str, raw: bytes) -> UploadCheck:
    """Validate an uploaded .po for `language` and tell what it would change."""
    checked_language(runtime, language)
    text = _decoded(raw)
    catalog = _parsed(text)
    known = known_messages(runtime)
    result = UploadCheck(language=language, text=text)
    result.problems, fuzzy = _entry_problems(catalog, known)
    if fuzzy:
        result.warnings.append(
            f"{fuzzy} entries are marked fuzzy: they are not used, people read English there"
        )
    new = catalog_messages(catalog)
    old = dict(runtime.catalogs.translated(language))
    result.changes = _changes(old, new, list(known))
    if result.problems:
        return result
    catalogs = runtime.catalogs.replaced({language: new})
    report = flow_lint.lint(runtime.bundle, catalogs, [language], code_messages=list(known))
    result.problems += report.errors
    return result


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
