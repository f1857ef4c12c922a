"""The approved WhatsApp templates a message goes as outside the 24-hour window.

`TWILIO_WHATSAPP_TEMPLATES` names a JSON file mapping a message kind
(`storage.models.MessageKind`) to a language to the Content SID (`HX` + 32 hex) of a
template approved for the WhatsApp sender, e.g.

    {"alert": {"sw": "HX…", "fr": "HX…"}, "closing": {"sw": "HX…"}}

Every template has one variable, `{{1}}`, which receives the whole text of the message
as the SMS would carry it, on one line (WhatsApp refuses line breaks, tabs and runs of
spaces in a variable: a line break becomes " / ", other blank runs one space). A message
whose kind and language have no template goes by SMS when the window is closed.

The file is read once, when the sender is built; a file that cannot be used stops the
start with a reason that names the setting and where in the file, never a value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path

from storage.models import MessageKind

SETTING = "TWILIO_WHATSAPP_TEMPLATES"
CONTENT_SID = re.compile(r"HX[0-9a-fA-F]{32}")
LANGUAGE = re.compile(r"[a-z]{2,3}(?:[-_][A-Za-z]{2,4})?")
_NAME = re.compile(r"[A-Za-z0-9_.-]{1,32}")
_LINE_BREAKS = re.compile(r"\s*[\r\n]+\s*")
_BLANKS = re.compile(r"\s+")
LINE_BREAK = " / "


class TemplatesError(ValueError):
    """The templates file cannot be used; the message names the setting, never a value."""


class Templates:
    """Content SIDs by message kind and language."""

    def __init__(self, by_kind: Mapping[str, Mapping[str, str]] | None = None) -> None:
        self._by_kind = {kind: dict(langs) for kind, langs in (by_kind or {}).items()}

    def __bool__(self) -> bool:
        return any(self._by_kind.values())

    def content_sid(self, kind: str | None, language: str) -> str | None:
        """The template of a message of `kind` in `language`, or None."""
        return self._by_kind.get(kind or "", {}).get(language)


def variables(body: str) -> str:
    """The `ContentVariables` of a message: its text, on one line, as variable 1."""
    text = _BLANKS.sub(" ", _LINE_BREAKS.sub(LINE_BREAK, body.strip()))
    return json.dumps({"1": text}, ensure_ascii=False)


def _named(key: str) -> str:
    """A key as an error may show it: a plain name, else nothing of it."""
    return repr(key) if _NAME.fullmatch(key) else "a key"


def _problems(data: object) -> list[str]:
    if not isinstance(data, dict):
        return ["the file must hold a JSON object: message kind -> language -> Content SID"]
    kinds = set(MessageKind)
    found: list[str] = []
    for kind, languages in data.items():
        if kind not in kinds:
            found.append(f"{_named(kind)} is not a message kind ({', '.join(sorted(kinds))})")
        elif not isinstance(languages, dict):
            found.append(f"{kind}: must map each language to a Content SID")
        else:
            for language, sid in languages.items():
                if not LANGUAGE.fullmatch(language):
                    found.append(f"{kind}: {_named(language)} is not a language code")
                elif not isinstance(sid, str) or not CONTENT_SID.fullmatch(sid):
                    found.append(f"{kind}.{language}: not a Content SID (HX + 32 hex)")
    return found


def load(path: Path | None) -> Templates:
    """The templates in `path` (none when the setting is unset); TemplatesError says why
    the file cannot be used."""
    if path is None:
        return Templates()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "unreadable"
        raise TemplatesError(f"{SETTING}: the file cannot be read ({reason})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TemplatesError(
            f"{SETTING}: not JSON (line {exc.lineno}, column {exc.colno})"
        ) from None
    problems = _problems(data)
    if problems:
        raise TemplatesError(f"{SETTING}: " + "; ".join(problems))
    return Templates(data)
