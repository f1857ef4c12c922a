"""Managing flow versions from the console and the API: drafts, lint, diff, publish, roll back.

A version is its content (the hash of its documents), so a draft is a whole set of
documents: the base version's, with one document added or replaced. The lint is the same
as `sauti flows lint`, run with the catalogs the service uses, and its verdict gates
publishing. Publishing and rolling back go through `flowstore.publish_bundle`: the bundle
becomes the published one and the runtime picks it up; sessions already running keep the
version they started on (the conversation loads it by version).
"""

from __future__ import annotations

import asyncio
import difflib
import re
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePath

import yaml
from markupsafe import Markup
from sqlalchemy.orm import Session

from flows import lint as flow_lint
from flows import safeyaml
from flows.i18n import Catalogs
from flows.lint import LintReport
from flows.loader import bundle_version, load_bundle, shipped_texts
from gateway.prompts import publishing
from gateway.prompts.needed import Sources
from gateway.runtime import Runtime
from gateway.templates import sms_templates
from storage import flowstore
from storage.db import utcnow
from storage.models import BundleStatus, FlowBundle
from storage.users import audit

MAX_DOCUMENT_BYTES = 256 * 1024
MAX_NOTE = 500
VERSION = re.compile(r"^[0-9a-f]{64}$")
DOCUMENT = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
STRUCTURE = "structure"
_LANGUAGE_MARK = re.compile(r"\[([a-z]{2,3})[,\]]")
_TRANSLATION_MARK = re.compile(r"^([a-z]{2,3}): ")
_LINT_CACHE = 32


class FlowAdminError(ValueError):
    """A request the flows section refuses; `status` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


# -- documents -----------------------------------------------------------------------------


def document_name(raw: str) -> str:
    """The document a name or an uploaded file name stands for (`report.yaml` → `report`)."""
    name = PurePath(raw.strip().replace("\\", "/")).name
    for suffix in (".yaml", ".yml"):
        name = name.removesuffix(suffix)
    if not DOCUMENT.match(name):
        raise FlowAdminError(
            "a document name is lower-case letters, digits and _ (e.g. report or report.yaml)"
        )
    return name


def document_text(raw: bytes | str) -> str:
    """A document's YAML text, refused when too large, not UTF-8, or not a YAML mapping."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    if len(data) > MAX_DOCUMENT_BYTES:
        raise FlowAdminError(
            f"the document is too large (at most {MAX_DOCUMENT_BYTES // 1024} KB)", 413
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FlowAdminError(f"the document is not UTF-8 text (byte {exc.start})") from exc
    text = text.replace("\r\n", "\n")
    if not text.strip():
        raise FlowAdminError("the document is empty")
    try:
        parsed = safeyaml.load(text)
    except yaml.YAMLError as exc:
        raise FlowAdminError(f"the document is not valid YAML: {_yaml_problem(exc)}") from exc
    if not isinstance(parsed, dict):
        raise FlowAdminError("the document must be a YAML mapping (flow:, nodes:, texts: …)")
    return text


def _yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or "cannot be read"
    return f"{problem} (line {mark.line + 1})" if mark is not None else str(problem)


def checked_version(version: str) -> str:
    if not VERSION.match(version):
        raise FlowAdminError("no such version", 404)
    return version


def checked_note(note: str | None) -> str:
    text = " ".join((note or "").split())
    if len(text) > MAX_NOTE:
        raise FlowAdminError(f"the note is longer than {MAX_NOTE} characters")
    return text


# -- versions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class VersionInfo:
    """What the version list shows of a bundle."""

    version: str
    status: str
    created_by: str
    created_at: str
    published_at: str | None
    note: str
    documents: tuple[str, ...]

    @property
    def short(self) -> str:
        return self.version[:12]


def _info(row: FlowBundle) -> VersionInfo:
    return VersionInfo(
        version=row.version,
        status=row.status,
        created_by=row.created_by,
        created_at=row.created_at.isoformat(),
        published_at=row.published_at.isoformat() if row.published_at else None,
        note=row.note,
        documents=tuple(sorted(row.texts)),
    )


def list_versions(runtime: Runtime) -> list[VersionInfo]:
    with runtime.sessions() as session:
        return [_info(row) for row in flowstore.bundles(session=session)]


@dataclass(frozen=True)
class Version:
    """One stored version with its documents, and the published documents to compare."""

    info: VersionInfo
    texts: dict[str, str]
    published: dict[str, str]
    published_version: str | None


def _published_texts(session: Session) -> tuple[dict[str, str], str | None]:
    row = flowstore.published_bundle(session=session)
    if row is None:
        texts, version = shipped_texts()
        return texts, version
    return dict(row.texts), row.version


def get_version(runtime: Runtime, version: str) -> Version:
    checked_version(version)
    with runtime.sessions() as session:
        row = flowstore.bundle_by_version(session=session, version=version)
        if row is None:
            raise FlowAdminError("no such version", 404)
        published, published_version = _published_texts(session)
        return Version(_info(row), dict(row.texts), published, published_version)


def create_draft(
    runtime: Runtime,
    *,
    documents: Mapping[str, str],
    base: str | None,
    note: str,
    username: str,
    ip_hash: str | None = None,
) -> VersionInfo:
    """Store the base version (default: the published one) with these documents set."""
    with runtime.sessions.begin() as session:
        if base:
            row = flowstore.bundle_by_version(session=session, version=checked_version(base))
            if row is None:
                raise FlowAdminError("no such base version", 404)
            texts = dict(row.texts)
        else:
            texts = _published_texts(session)[0]
        texts.update(documents)
        bundle = flowstore.add_draft(
            session=session,
            texts=texts,
            version=bundle_version(texts),
            note=note,
            created_by=username,
            now=utcnow(),
        )
        audit(
            session=session,
            actor=username,
            action="flows.draft",
            target=bundle.version,
            data={"documents": sorted(documents), "base": base or "published"},
            ip_hash=ip_hash,
            now=utcnow(),
        )
        return _info(bundle)


# -- lint ----------------------------------------------------------------------------------


@dataclass
class LintView:
    """The lint's verdict, its problems grouped: structure first, then each language."""

    ok: bool
    groups: dict[str, list[str]] = field(default_factory=dict)
    warnings: dict[str, list[str]] = field(default_factory=dict)
    coverage: dict[str, tuple[int, int]] = field(default_factory=dict)
    screens: int = 0
    texts: int = 0

    @property
    def error_count(self) -> int:
        return sum(len(found) for found in self.groups.values())


def _group(problem: str, languages: tuple[str, ...]) -> str:
    first = problem.split("\n", 1)[0]
    for pattern in (_TRANSLATION_MARK, _LANGUAGE_MARK):
        found = pattern.search(first)
        if found and found.group(1) in languages:
            return found.group(1)
    return STRUCTURE


def _grouped(problems: list[str], languages: tuple[str, ...]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for problem in problems:
        groups.setdefault(_group(problem, languages), []).append(problem)
    order = [STRUCTURE, *languages]
    return {key: groups[key] for key in order if key in groups}


def lint_view(report: LintReport, languages: tuple[str, ...]) -> LintView:
    return LintView(
        ok=report.ok,
        groups=_grouped(report.errors, languages),
        warnings=_grouped(report.warnings, languages),
        coverage=dict(report.coverage),
        screens=report.screens,
        texts=report.texts,
    )


# (version, id of the catalogs) -> (those catalogs, kept so their id is not reused; the view)
_lints: OrderedDict[tuple[str, int], tuple[Catalogs, LintView]] = OrderedDict()


def _lint_texts(texts: dict[str, str], catalogs: Catalogs, languages: tuple[str, ...]) -> LintView:
    report = flow_lint.lint(texts, catalogs, languages, templates=sms_templates())
    return lint_view(report, languages)


async def lint_version(runtime: Runtime, version: str, texts: dict[str, str]) -> LintView:
    """Lint a version with the catalogs in use; the same version and catalogs lint once."""
    catalogs = runtime.catalogs
    key = (version, id(catalogs))
    cached = _lints.get(key)
    if cached is not None and cached[0] is catalogs:
        return cached[1]
    languages = runtime.settings.languages
    found = await asyncio.to_thread(_lint_texts, texts, catalogs, languages)
    _lints[key] = (catalogs, found)
    while len(_lints) > _LINT_CACHE:
        _lints.popitem(last=False)
    return found


# -- diff ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DocumentDiff:
    name: str
    change: str  # added, changed, removed
    unified: list[str]
    table: Markup


def diffs(old: dict[str, str], new: dict[str, str]) -> list[DocumentDiff]:
    """Each document that differs between `old` (published) and `new`, side by side."""
    found = []
    for name in sorted(set(old) | set(new)):
        before, after = old.get(name), new.get(name)
        if before == after:
            continue
        change = "added" if before is None else "removed" if after is None else "changed"
        a, b = (before or "").splitlines(), (after or "").splitlines()
        unified = list(
            difflib.unified_diff(a, b, f"published/{name}.yaml", f"this/{name}.yaml", lineterm="")
        )
        # HtmlDiff escapes the lines it shows (&, <, >); its table carries no styles.
        table = difflib.HtmlDiff(wrapcolumn=70).make_table(
            a, b, "published", "this version", context=True, numlines=3
        )
        found.append(DocumentDiff(name, change, unified, Markup(table)))  # noqa: S704
    return found


# -- publish and roll back -----------------------------------------------------------------


def _publish_row(
    runtime: Runtime, version: str, username: str, action: str, ip_hash: str | None
) -> str | None:
    with runtime.sessions.begin() as session:
        row = flowstore.bundle_by_version(session=session, version=version)
        if row is None:
            raise FlowAdminError("no such version", 404)
        if row.status == BundleStatus.PUBLISHED:
            raise FlowAdminError("this version is already the published one", 409)
        if action == "flows.rollback" and row.published_at is None:
            raise FlowAdminError("only a version published before can be rolled back to", 409)
        previous = flowstore.published_version(session=session)
        if action == "flows.publish":
            current = Sources(runtime.bundle, runtime.catalogs, runtime.places)
            bundle = load_bundle(row.texts)
            short = publishing.check(session, runtime.settings, current, bundle)
            if short:
                raise FlowAdminError(publishing.refusal(short), 409)
        flowstore.publish_bundle(
            session=session,
            texts=row.texts,
            version=row.version,
            note=row.note,
            created_by=row.created_by,
            now=utcnow(),
        )
        audit(
            session=session,
            actor=username,
            action=action,
            target=version,
            data={"version": version, "previous": previous},
            ip_hash=ip_hash,
            now=utcnow(),
        )
        return previous


async def publish(
    runtime: Runtime, version: str, username: str, *, rollback: bool, ip_hash: str | None = None
) -> str | None:
    """Make `version` the published one; return the one it replaced.

    A version is published only after a clean lint, and only when it leaves no language
    of the voice line with new prompts it cannot play (`gateway.prompts.publishing`); a
    rollback goes back to a version that was published before, lint or not, since it is
    the way out of a bad publication. The
    runtime of this process switches at once; other processes on their next refresh.
    """
    found = await runtime.db(get_version, runtime, version)
    if not rollback:
        if found.info.status == BundleStatus.PUBLISHED:
            raise FlowAdminError("this version is already the published one", 409)
        report = await lint_version(runtime, version, found.texts)
        if not report.ok:
            raise FlowAdminError(
                f"the lint found {report.error_count} error(s): fix them before publishing", 409
            )
    action = "flows.rollback" if rollback else "flows.publish"
    previous = await runtime.db(_publish_row, runtime, version, username, action, ip_hash)
    await runtime.refresh()
    return previous
