"""Translation catalogs: read the .po files once, translate with a dictionary lookup.

The msgids are the English texts of the flow definitions (and of the few messages the
code marks with ``N_``). `extract_pot` writes them to ``locales/sauti.pot``,
`update_catalogs` merges that template into each ``locales/<lang>/LC_MESSAGES/sauti.po``
and `compile_catalogs` writes .mo files for tools that want them; the service itself
reads the .po files and needs no .mo.

Place names are entries with msgctxt "place" and the name as imported for msgid; they are
keyed ``place\x04<name>`` (`flows.places.place_key`, the way gettext keys a context) and
read with `flows.places.place_name`. The template holds the place names it is given (the
demo places, by `sauti i18n extract`), and an update keeps every place entry of a catalog
even when the template lacks it (an operator's own places).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from string import Formatter

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from flows.loader import shipped_bundle
from flows.model import Bundle, ListNode, Menu, TextInput
from flows.places import PLACE_CONTEXT

LOCALES = Path(__file__).parent / "locales"
# No text Sauti sends is longer than one SMS body may be (Twilio's limit, 1600 characters).
MAX_TRANSLATION = 1600
# A width or precision in a placeholder's format spec, at most (a screen is 156 wide).
MAX_WIDTH = 160
DOMAIN = "sauti"
FALLBACK = "en"
_PROJECT_ROOT = Path(__file__).parent.parent
CODE_PACKAGES = ("gateway", "storage", "workers")
_HEADER = {"project": "Sauti", "version": "1", "copyright_holder": "Sauti contributors"}


class Translator:
    """Translates msgids of one language, falling back to English, then to the msgid.

    Only translations that pass `placeholder_problem` are kept (`Catalogs` filters them):
    the texts are filled with ``str.format``, so a translation with a placeholder its
    msgid lacks, or a format spec such as ``{minutes:>300000000}``, must never be used.
    """

    __slots__ = ("_check", "_messages", "lang")

    def __init__(
        self, lang: str, messages: Mapping[str, str], check: Callable[[], None] | None = None
    ) -> None:
        self.lang = lang
        self._messages = messages
        self._check = check

    def gettext(self, message: str, /) -> str:
        """Return the translation of `message`."""
        if self._check is not None:
            self._check()
        return self._messages.get(message, message)

    def with_check(self, check: Callable[[], None]) -> Translator:
        """This translator, calling `check` before each lookup (which may raise to stop)."""
        return Translator(self.lang, self._messages, check)


def catalog_path(lang: str, locales_dir: Path = LOCALES) -> Path:
    """Return where the catalog of `lang` lives."""
    return locales_dir / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def read_catalog(path: Path) -> dict[str, str]:
    """Return the translated, non-fuzzy messages of one .po file."""
    with path.open("rb") as handle:
        catalog = read_po(handle)
    return catalog_messages(catalog)


def message_key(message: Message) -> str:
    """The key a catalog entry is looked up by: its msgid, or its context and msgid joined
    by EOT (a place name: ``place\x04North Kivu``)."""
    msgid = str(message.id)
    return f"{message.context}\x04{msgid}" if message.context else msgid


def catalog_messages(catalog: Catalog) -> dict[str, str]:
    """Return the translated, non-fuzzy messages of a parsed catalog."""
    return {
        message_key(message): message.string
        for message in catalog
        if isinstance(message.id, str)
        and message.id
        and isinstance(message.string, str)
        and message.string
        and not message.fuzzy
    }


class Catalogs:
    """Every loaded language's messages; `translator(lang)` is a dictionary lookup.

    `translated(lang)` is every message as the catalog has it (what the lint and the
    coverage read); the translators use only those that pass `placeholder_problem`, so a
    catalog stored with a bad translation shows English there instead (`refused(lang)`
    lists them).
    """

    def __init__(self, messages: Mapping[str, Mapping[str, str]]) -> None:
        self._raw = {lang: dict(found) for lang, found in messages.items()}
        self._raw.setdefault(FALLBACK, {})
        usable = {lang: _usable(found) for lang, found in self._raw.items()}
        self._refused = {
            lang: sorted(set(self._raw[lang]) - set(found)) for lang, found in usable.items()
        }
        fallback = usable[FALLBACK]
        self._translators = {
            lang: Translator(lang, {**fallback, **found}) for lang, found in usable.items()
        }
        self._english = self._translators[FALLBACK]

    @classmethod
    def load(cls, languages: Iterable[str], locales_dir: Path | None = None) -> Catalogs:
        """Read the catalogs of `languages` (and English); a missing file is an empty one."""
        folder = LOCALES if locales_dir is None else locales_dir
        found = {}
        for lang in dict.fromkeys([FALLBACK, *languages]):
            path = catalog_path(lang, folder)
            found[lang] = read_catalog(path) if path.is_file() else {}
        return cls(found)

    def replaced(self, overrides: Mapping[str, Mapping[str, str]]) -> Catalogs:
        """Return these catalogs with the messages of some languages replaced."""
        return Catalogs({**self._raw, **overrides})

    def translator(self, lang: str) -> Translator:
        """Return the translator of `lang`; English for a language not loaded."""
        return self._translators.get(lang, self._english)

    def with_check(self, check: Callable[[], None]) -> Catalogs:
        """These catalogs, their translators calling `check` before each lookup: a time box
        for a check that renders with them (`check` raises once the time is up)."""
        found = copy.copy(self)
        found._translators = {lang: tr.with_check(check) for lang, tr in self._translators.items()}
        found._english = found._translators[FALLBACK]
        return found

    def translated(self, lang: str) -> Mapping[str, str]:
        """Return the messages `lang` itself translates (no fallback)."""
        return self._raw.get(lang, {})

    def refused(self, lang: str) -> list[str]:
        """Return the msgids whose translation in `lang` is not used (their placeholders)."""
        return self._refused.get(lang, [])

    def coverage(self, lang: str, msgids: Iterable[str] | None = None) -> tuple[int, int]:
        """Return (translated, total) over `msgids` (default: the shipped flows' messages)."""
        wanted = set(bundle_messages(shipped_bundle()) if msgids is None else msgids)
        own = self.translated(lang)
        return sum(1 for msgid in wanted if msgid in own), len(wanted)


# -- extraction ----------------------------------------------------------------------------


def _node_texts(bundle: Bundle) -> Iterator[tuple[str, str]]:
    for node_id, node in bundle.nodes.items():
        for line in getattr(node, "text", ()):
            yield line, node_id
        if isinstance(node, Menu):
            yield from ((option.label, node_id) for option in node.options)
        if isinstance(node, ListNode) and node.other is not None:
            yield node.other.label, node_id
        if isinstance(node, ListNode):
            for level, lines in node.level_text.items():
                yield from ((line, f"{node_id} ({level})") for line in lines)
        if isinstance(node, TextInput) and node.skip is not None:
            yield node.skip.label, node_id
        error = getattr(node, "error", None)
        if error:
            yield error, node_id


def bundle_messages(bundle: Bundle) -> dict[str, list[str]]:
    """Return every msgid of a bundle with the places (node ids, tables) it is used."""
    found: dict[str, list[str]] = {}
    pairs = [
        *((text, f"texts.{role}") for role, text in bundle.texts.items()),
        *_node_texts(bundle),
        *(
            (label, f"labels.{name}.{value}")
            for name, table in bundle.labels.items()
            for value, label in table.items()
        ),
    ]
    for msgid, where in pairs:
        if not translatable(msgid):
            continue
        places = found.setdefault(msgid, [])
        if where not in places:
            places.append(where)
    return found


def translatable(text: str) -> bool:
    """Tell whether a text has words outside its placeholders (``"{place}"`` has none)."""
    try:
        literal = "".join(part for part, _, _, _ in Formatter().parse(text))
    except ValueError:
        literal = text
    return any(char.isalpha() for char in literal)


def code_messages(packages: Iterable[Path]) -> dict[str, list[str]]:
    """Return the messages marked ``N_("...")`` in the Python files of `packages`."""
    found: dict[str, list[str]] = {}
    for folder in packages:
        if not folder.is_dir():
            continue
        extracted = extract_from_dir(
            str(folder), method_map=[("**.py", "python")], keywords={"N_": None}
        )
        for filename, lineno, message, _comments, _context in extracted:
            if isinstance(message, str):
                found.setdefault(message, []).append(f"{folder.name}/{filename}:{lineno}")
    return found


def placeholders(text: str) -> frozenset[str]:
    """Return the ``{name}`` placeholders of a text (empty when its braces are malformed)."""
    try:
        return frozenset(name for _, name, _, _ in Formatter().parse(text) if name)
    except ValueError:
        return frozenset()


# (name, format spec, conversion) of each replacement field, as string.Formatter reads it.
_Field = tuple[str, str, str | None]
_NUMBER = re.compile(r"[0-9]+")


def _fields(text: str) -> list[_Field] | None:
    """The replacement fields of a text in order, or None when its braces are malformed."""
    try:
        parsed = list(Formatter().parse(text))
    except ValueError:
        return None
    return [(name, spec or "", conv) for _, name, spec, conv in parsed if name is not None]


def _written(field: _Field) -> str:
    name, spec, conv = field
    return "{" + name + (f"!{conv}" if conv else "") + (f":{spec}" if spec else "") + "}"


def _field_problem(field: _Field, allowed: set[_Field], names: set[str]) -> str | None:
    if field in allowed:
        wide = [int(n) for n in _NUMBER.findall(field[1]) if int(n) > MAX_WIDTH]
        return f"asks for a width of {wide[0]} in {_written(field)}" if wide else None
    if not field[0]:
        return "has an empty placeholder {}: write the name as the msgid has it"
    if field[0] not in names:
        return None  # reported with the other names the msgid lacks
    exact = " or ".join(sorted(_written(other) for other in allowed if other[0] == field[0]))
    return f"writes {_written(field)}: write the placeholder exactly as the msgid has it ({exact})"


def placeholder_problem(msgid: str, text: str) -> str | None:
    """Tell how a translation mishandles the placeholders of its msgid, if it does.

    A placeholder of a translation is written exactly as in the msgid: the same name, and
    no format spec or conversion (``{minutes:>9}``, ``{minutes!r}``) unless the msgid has
    the very same one; every placeholder of the msgid is kept; a translation is at most
    MAX_TRANSLATION characters.
    """
    if len(text) > MAX_TRANSLATION:
        return f"is longer than {MAX_TRANSLATION} characters"
    fields = _fields(text)
    if fields is None or text.count("{") != text.count("}") or (not fields and "{" in text):
        return "has broken braces"
    allowed = set(_fields(msgid) or ())
    names = {name for name, _, _ in allowed}
    extra = sorted({name for name, _, _ in fields if name and name not in names})
    if extra:
        return "uses " + ", ".join(f"{{{name}}}" for name in extra)
    for field in fields:
        problem = _field_problem(field, allowed, names)
        if problem:
            return problem
    dropped = names - {name for name, _, _ in fields}
    if dropped:
        return "leaves out " + ", ".join(f"{{{name}}}" for name in sorted(dropped))
    return None


def _usable(messages: Mapping[str, str]) -> dict[str, str]:
    return {
        msgid: text
        for msgid, text in messages.items()
        if msgid == text or placeholder_problem(msgid, text) is None
    }


def shipped_code_messages() -> dict[str, list[str]]:
    """Return the messages marked ``N_("...")`` in the service's own packages."""
    return code_messages([_PROJECT_ROOT / name for name in CODE_PACKAGES])


def template(
    bundle: Bundle | None = None,
    packages: Sequence[Path] | None = None,
    places: Mapping[str, Sequence[str]] | None = None,
) -> Catalog:
    """Build the message template of a bundle (default: the shipped one) and the code, and
    of `places` (name -> where, e.g. ``place cd-nk (province)``) with msgctxt "place"."""
    chosen = shipped_bundle() if bundle is None else bundle
    catalog = Catalog(domain=DOMAIN, fuzzy=False, **_HEADER)
    merged = bundle_messages(chosen)
    found = shipped_code_messages() if packages is None else code_messages(packages)
    for msgid, where in found.items():
        merged.setdefault(msgid, []).extend(where)
    for msgid, where in merged.items():
        flags = ("python-brace-format",) if placeholders(msgid) else ()
        catalog.add(msgid, auto_comments=where, flags=flags)
    for name, spots in (places or {}).items():
        catalog.add(name, auto_comments=spots, context=PLACE_CONTEXT)
    return catalog


def extract_pot(
    bundle: Bundle | None = None,
    output: Path | None = None,
    packages: Sequence[Path] | None = None,
    places: Mapping[str, Sequence[str]] | None = None,
) -> Path:
    """Write the template of every message, and of `places`, to `output` (default:
    locales/sauti.pot)."""
    path = LOCALES / f"{DOMAIN}.pot" if output is None else output
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        write_po(handle, template(bundle, packages, places), width=100, omit_header=False)
    return path


def available_languages(locales_dir: Path = LOCALES) -> list[str]:
    """Return the codes of the languages that have a catalog folder, sorted."""
    return sorted(path.name for path in locales_dir.iterdir() if (path / "LC_MESSAGES").is_dir())


def _languages(locales_dir: Path, languages: Iterable[str] | None) -> list[str]:
    return available_languages(locales_dir) if languages is None else list(languages)


def update_catalogs(
    pot: Path | None = None,
    locales_dir: Path | None = None,
    languages: Iterable[str] | None = None,
) -> list[Path]:
    """Merge the template into each language's catalog (creating missing ones)."""
    folder = LOCALES if locales_dir is None else locales_dir
    with (folder / f"{DOMAIN}.pot" if pot is None else pot).open("rb") as handle:
        source = read_po(handle)
    written = []
    for lang in _languages(folder, languages):
        path = catalog_path(lang, folder)
        catalog = Catalog(locale=lang, domain=DOMAIN, fuzzy=False, **_HEADER)
        if path.is_file():
            with path.open("rb") as handle:
                catalog = read_po(handle, locale=lang, domain=DOMAIN)
        kept = [message for message in catalog if message.context == PLACE_CONTEXT]
        catalog.update(source, no_fuzzy_matching=True)
        for message in kept:  # place names of the operator's own, not in the template
            if catalog.get(message.id, context=PLACE_CONTEXT) is None:
                catalog[message.id] = message
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            write_po(handle, catalog, width=100, ignore_obsolete=True)
        written.append(path)
    return written


def compile_catalogs(
    out: Path | None = None,
    locales_dir: Path | None = None,
    languages: Iterable[str] | None = None,
) -> list[Path]:
    """Write ``<out>/<lang>/LC_MESSAGES/sauti.mo`` for each catalog (default out: locales)."""
    folder = LOCALES if locales_dir is None else locales_dir
    target = folder if out is None else out
    written = []
    for lang in _languages(folder, languages):
        source = catalog_path(lang, folder)
        if not source.is_file():
            continue
        with source.open("rb") as handle:
            catalog = read_po(handle, locale=lang, domain=DOMAIN)
        path = target / lang / "LC_MESSAGES" / f"{DOMAIN}.mo"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            write_mo(handle, catalog)
        written.append(path)
    return written
