"""Managing the voice line's prompts from the console: coverage, recording kit, uploads.

A language needs the prompts `flows.voice.prompt_texts` names for the published flows.
Recordings come one file at a time (for a named prompt) or as a zip whose members are
named as the manifest names the files (``t-0123456789.wav``; a ``.flac`` or ``.ogg`` of
the same stem is taken too, and any folder inside the zip is ignored). Each file is made
ready by `gateway.prompts.audio.prepare` (format, length and silence checked, 8 kHz mono,
loudness normalised) and kept as a DRAFT; a file that is refused is listed with the reason,
and nothing else of the upload is lost for it. Drafts are published or discarded per
language by `storage.voiceprompts` (which audits both).

A zip is read member by member with every size bounded before and while reading
(`MAX_ZIP_BYTES`, `MAX_MEMBER_BYTES`, `MAX_MEMBERS`, `MAX_UNPACKED_BYTES`), so a small zip
that would unpack to gigabytes is refused without unpacking it.
"""

from __future__ import annotations

import csv
import io
import posixpath
import re
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from sqlalchemy import select

from flows.sources import LANGUAGE_NAMES
from flows.voice import AUDIO_SUFFIX, PromptText
from gateway.flowadmin import FlowAdminError
from gateway.prompts.audio import AudioProblem, prepare
from gateway.prompts.needed import Sources
from gateway.runtime import Runtime
from storage import voiceprompts
from storage.db import utcnow
from storage.exports import safe_cell
from storage.models import PromptSource, PromptStatus, User

MAX_ZIP_BYTES = 64 * 1024 * 1024
MAX_MEMBER_BYTES = 12 * 1024 * 1024
MAX_MEMBERS = 3000
MAX_UNPACKED_BYTES = 512 * 1024 * 1024
UPLOAD_SUFFIXES = (AUDIO_SUFFIX, ".flac", ".ogg")
_CHUNK = 64 * 1024
TTS_NOTE = "text-to-speech — to be replaced by a native speaker's recording"


def languages(runtime: Runtime) -> list[str]:
    """Those offered by voice first, then every other language the service speaks (its
    prompts can be recorded before it is offered on the line)."""
    settings = runtime.settings
    return list(dict.fromkeys([*settings.voice_languages, *settings.languages]))


def checked_language(runtime: Runtime, language: str) -> str:
    if language not in languages(runtime):
        raise FlowAdminError("no such language", 404)
    return language


def needed(runtime: Runtime, language: str) -> dict[str, PromptText]:
    """File -> the prompt a caller in `language` may hear, for the published flows (as
    `sauti voice lint` counts them)."""
    return Sources(runtime.bundle, runtime.catalogs, runtime.places).needed(language)


def fallback_of(runtime: Runtime, language: str) -> str | None:
    return runtime.settings.voice_fallback.get(language)


# -- what a language has -------------------------------------------------------------------


_PLACEHOLDER = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}")


@dataclass(frozen=True, slots=True)
class PromptRow:
    """One needed prompt as the language page lists it."""

    file: str
    message_id: str
    context: str
    text: str
    status: str  # present | stale | missing | fallback:<lang>
    source: str | None  # of the published audio
    duration_ms: int | None
    draft_ms: int | None  # the duration of a draft waiting, if any

    @property
    def reference(self) -> str:
        """The English text it stands for, a value's place shown as "…" (a placeholder's
        name is the flow's own code, not words)."""
        return _PLACEHOLDER.sub("…", self.message_id)

    @property
    def fallback(self) -> str | None:
        prefix = voiceprompts.FALLBACK
        return self.status.removeprefix(prefix) if self.status.startswith(prefix) else None


@dataclass(frozen=True, slots=True)
class LanguageView:
    language: str
    name: str
    offered: bool
    coverage: voiceprompts.Coverage
    drafts: int
    rows: list[PromptRow] = field(default_factory=list)


def _view(runtime: Runtime, language: str, *, with_rows: bool) -> LanguageView:
    want = needed(runtime, language)
    fallback = fallback_of(runtime, language)
    with runtime.sessions() as session:
        have = voiceprompts.stored(session=session, language=language)
        other = voiceprompts.stored(session=session, language=fallback) if fallback else None
        waiting = {
            row.file: row.duration_ms
            for row in voiceprompts.drafts(session=session, language=language)
        }
    coverage = voiceprompts.coverage_of(language, want, have, other, fallback)
    rows = []
    if with_rows:
        for prompt in want.values():
            found = have.get(prompt.file)
            rows.append(
                PromptRow(
                    file=prompt.file,
                    message_id=prompt.message_id,
                    context=prompt.context,
                    text=prompt.text,
                    status=voiceprompts.status_of(prompt, have, other, fallback),
                    source=None if found is None else found.source,
                    duration_ms=None if found is None else found.duration_ms,
                    draft_ms=waiting.get(prompt.file),
                )
            )
    return LanguageView(
        language=language,
        name=LANGUAGE_NAMES.get(language, language),
        offered=language in runtime.settings.voice_languages,
        coverage=coverage,
        drafts=len(waiting),
        rows=rows,
    )


def overview(runtime: Runtime) -> list[LanguageView]:
    """Every language's coverage and drafts waiting (no rows)."""
    return [_view(runtime, lang, with_rows=False) for lang in languages(runtime)]


def language_view(runtime: Runtime, language: str) -> LanguageView:
    checked_language(runtime, language)
    return _view(runtime, language, with_rows=True)


def kit_csv(runtime: Runtime, language: str) -> str:
    """The recording kit of a language: one row per file to record, with what it says and
    what the line has of it now."""
    view = language_view(runtime, language)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["file", "message_id", "context", "text", "status", "source"])
    for row in view.rows:
        writer.writerow(
            [
                row.file,
                safe_cell(row.message_id),
                row.context,
                safe_cell(row.text),
                row.status,
                row.source or "",
            ]
        )
    return out.getvalue()


def draft_audio(runtime: Runtime, language: str, file: str, status: str) -> bytes | None:
    checked_language(runtime, language)
    with runtime.sessions() as session:
        found = voiceprompts.audio(session=session, language=language, file=file, status=status)
    return None if found is None else found[0]


# -- uploads -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Accepted:
    file: str
    text: str
    duration_ms: int


@dataclass(frozen=True, slots=True)
class Refused:
    name: str
    reason: str


@dataclass
class UploadResult:
    language: str
    accepted: list[Accepted] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)


def prompt_file(name: str) -> str | None:
    """The prompt file an uploaded file stands for (its folder dropped, its suffix one
    `UPLOAD_SUFFIXES` takes), or None."""
    base = posixpath.basename(name.replace("\\", "/")).strip()
    stem, dot, suffix = base.rpartition(".")
    if not dot or "." + suffix.lower() not in UPLOAD_SUFFIXES or not stem:
        return None
    return stem + AUDIO_SUFFIX


def _skipped(info: zipfile.ZipInfo) -> bool:
    """Folders and what archivers add on their own (macOS resource forks, dot files)."""
    parts = info.filename.replace("\\", "/").split("/")
    return info.is_dir() or parts[0] == "__MACOSX" or parts[-1].startswith(".")


def _member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """A member's bytes, refused past `MAX_MEMBER_BYTES` whatever its header says."""
    if info.file_size > MAX_MEMBER_BYTES:
        raise AudioProblem(f"the file is too large (at most {MAX_MEMBER_BYTES // 2**20} MB)")
    chunks = []
    size = 0
    with archive.open(info) as stream:
        while chunk := stream.read(_CHUNK):
            size += len(chunk)
            if size > MAX_MEMBER_BYTES:
                raise AudioProblem(
                    f"the file is too large (at most {MAX_MEMBER_BYTES // 2**20} MB)"
                )
            chunks.append(chunk)
    return b"".join(chunks)


def zip_members(data: bytes) -> Iterator[tuple[str, bytes | AudioProblem]]:
    """(name, bytes or the problem reading it) of each file of a zip; FlowAdminError for
    a zip that cannot be read or is too large as a whole."""
    if len(data) > MAX_ZIP_BYTES:
        raise FlowAdminError(f"the zip is too large (at most {MAX_ZIP_BYTES // 2**20} MB)", 413)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise FlowAdminError("this is not a zip file that can be read") from exc
    with archive:
        infos = [info for info in archive.infolist() if not _skipped(info)]
        if len(infos) > MAX_MEMBERS:
            raise FlowAdminError(f"the zip holds more than {MAX_MEMBERS} files", 413)
        declared = sum(info.file_size for info in infos)
        if declared > MAX_UNPACKED_BYTES:
            raise FlowAdminError(
                f"the zip unpacks to more than {MAX_UNPACKED_BYTES // 2**20} MB", 413
            )
        for info in infos:
            try:
                yield info.filename, _member(archive, info)
            except AudioProblem as problem:
                yield info.filename, problem
            except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, EOFError):
                yield info.filename, AudioProblem("the file could not be unpacked from the zip")


def is_zip(data: bytes) -> bool:
    return data[:4] in (b"PK\x03\x04", b"PK\x05\x06")


def _prepared(
    language: str,
    files: list[tuple[str, str | None, bytes | AudioProblem]],
    want: Mapping[str, PromptText],
) -> tuple[UploadResult, list[tuple[PromptText, voiceprompts.Audio]]]:
    result = UploadResult(language)
    ready: list[tuple[PromptText, voiceprompts.Audio]] = []
    seen: set[str] = set()
    for name, target, data in files:
        shown = name[:120]
        file = target or prompt_file(name)
        if file is None:
            result.refused.append(
                Refused(shown, "not named as a prompt file (t-….wav; .wav, .flac or .ogg)")
            )
            continue
        prompt = want.get(file)
        if prompt is None:
            result.refused.append(Refused(shown, f"no prompt of {language} is named {file}"))
            continue
        if file in seen:
            result.refused.append(Refused(shown, f"{file} is in the upload twice"))
            continue
        seen.add(file)
        if isinstance(data, AudioProblem):
            result.refused.append(Refused(shown, str(data)))
            continue
        try:
            audio = prepare(data)
        except AudioProblem as problem:
            result.refused.append(Refused(shown, str(problem)))
            continue
        ready.append((prompt, audio))
        result.accepted.append(Accepted(file, prompt.text, audio.duration_ms))
    return result, ready


def _user_id(runtime: Runtime, username: str) -> int | None:
    with runtime.sessions() as session:
        return session.scalar(select(User.id).where(User.username == username))


def _save(
    runtime: Runtime,
    language: str,
    ready: list[tuple[PromptText, voiceprompts.Audio]],
    username: str,
) -> None:
    user = _user_id(runtime, username)
    now = utcnow()
    with runtime.sessions.begin() as session:
        for prompt, audio in ready:
            voiceprompts.save(
                session=session,
                language=language,
                prompt=prompt,
                audio=audio,
                source=PromptSource.RECORDED,
                status=PromptStatus.DRAFT,
                now=now,
                created_by=user,
            )


def upload(
    runtime: Runtime,
    language: str,
    name: str,
    data: bytes,
    username: str,
    *,
    target: str | None = None,
) -> UploadResult:
    """Keep as drafts the prompts of an upload (a zip, or one audio file, for `target` when
    given) that pass their checks; list the others with the reason (call in a thread)."""
    checked_language(runtime, language)
    if target is not None and prompt_file(target) != target:
        raise FlowAdminError("no such prompt file")
    files: list[tuple[str, str | None, bytes | AudioProblem]]
    if is_zip(data) and target is None:
        files = [(member, None, content) for member, content in zip_members(data)]
    else:
        if len(data) > MAX_MEMBER_BYTES:
            raise FlowAdminError(
                f"the file is too large (at most {MAX_MEMBER_BYTES // 2**20} MB)", 413
            )
        files = [(name, target, data)]
    result, ready = _prepared(language, files, needed(runtime, language))
    if ready:
        _save(runtime, language, ready, username)
    return result


def publish(runtime: Runtime, language: str, username: str, ip_hash: str | None) -> int:
    checked_language(runtime, language)
    with runtime.sessions.begin() as session:
        return voiceprompts.publish_drafts(
            session=session, language=language, actor=username, now=utcnow(), ip_hash=ip_hash
        )


def discard(runtime: Runtime, language: str, username: str, ip_hash: str | None) -> int:
    checked_language(runtime, language)
    with runtime.sessions.begin() as session:
        return voiceprompts.discard_drafts(
            session=session, language=language, actor=username, now=utcnow(), ip_hash=ip_hash
        )


def refresh_index(runtime: Runtime) -> None:
    """Let the line play what was just published at once (call through runtime.db): the
    runtime's prompt index, when this runtime keeps one (other processes read it again
    on their own refresh)."""
    refresh = getattr(runtime, "refresh_prompts", None)
    if callable(refresh):
        refresh()
