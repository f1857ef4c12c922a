"""Plain-ASCII screens, for networks that cannot show GSM-7's accented letters on USSD.

`to_ascii` is checked against references of its own: the GSM 03.38 default alphabet and
its extension table written out here by code point (3GPP TS 23.038, 6.2.1), and the
decomposition and names of the Unicode database.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flows import gsm, lint
from flows.engine import Bundle, State
from flows.i18n import Catalogs
from flows.model import End, ListNode, Menu, TextInput
from flows.places import StaticPlaces
from flows.render import BUDGET, layout
from flows.state import Context, Entry

SHIPPED = ["sw", "fr", "en", "rw", "rn", "ln"]

# GSM 03.38 default alphabet, septets 0x00-0x7F; None at 0x1B, the escape to the extension.
GSM_0338_BASIC = (
    0x0040, 0x00A3, 0x0024, 0x00A5, 0x00E8, 0x00E9, 0x00F9, 0x00EC,
    0x00F2, 0x00C7, 0x000A, 0x00D8, 0x00F8, 0x000D, 0x00C5, 0x00E5,
    0x0394, 0x005F, 0x03A6, 0x0393, 0x039B, 0x03A9, 0x03A0, 0x03A8,
    0x03A3, 0x0398, 0x039E, None, 0x00C6, 0x00E6, 0x00DF, 0x00C9,
    0x0020, 0x0021, 0x0022, 0x0023, 0x00A4, 0x0025, 0x0026, 0x0027,
    0x0028, 0x0029, 0x002A, 0x002B, 0x002C, 0x002D, 0x002E, 0x002F,
    *range(0x0030, 0x0040),
    0x00A1, *range(0x0041, 0x005B), 0x00C4, 0x00D6, 0x00D1, 0x00DC, 0x00A7,
    0x00BF, *range(0x0061, 0x007B), 0x00E4, 0x00F6, 0x00F1, 0x00FC, 0x00E0,
)  # fmt: skip
# The extension table (after the escape), form feed aside: 0x14 0x28 0x29 0x2F 0x3C 0x3D
# 0x3E 0x40 0x65.
GSM_0338_EXTENSION = (0x005E, 0x007B, 0x007D, 0x005C, 0x005B, 0x007E, 0x005D, 0x007C, 0x20AC)
TABLE = "".join(chr(c) for c in (*GSM_0338_BASIC, *GSM_0338_EXTENSION) if c is not None)
OUTSIDE_ASCII = sorted(char for char in TABLE if not char.isascii())
# Letters the Unicode database gives no decomposition, spelled by their names.
NAMED_BASES = {"O WITH STROKE": "O", "AE": "AE", "SHARP S": "SS"}
# The symbols: ISO 4217 codes for the currencies; the rest carry no letter and are dropped.
SYMBOLS = {"£": "GBP", "¥": "JPY", "€": "EUR", "¤": "", "§": "", "¡": "", "¿": ""}


def test_the_reference_table_is_the_alphabet_the_code_uses() -> None:
    assert len(GSM_0338_BASIC) == 128
    assert set(TABLE) == set(gsm.BASIC + gsm.EXTENSION)
    assert len(OUTSIDE_ASCII) == 40
    assert set(OUTSIDE_ASCII) == set(gsm.ASCII_SPELLING)


def _latin_base(char: str) -> str:
    """The base letter(s) of a Latin letter: its decomposition without marks, else its name."""
    decomposed = unicodedata.normalize("NFKD", char)
    base = "".join(part for part in decomposed if not unicodedata.combining(part))
    if base != char:
        return base
    name = unicodedata.name(char)
    _, _, letter = name.partition(" LETTER ")
    spelled = NAMED_BASES[letter]
    return spelled if "CAPITAL" in name else spelled.lower()


@pytest.mark.parametrize("char", OUTSIDE_ASCII)
def test_every_gsm7_character_outside_ascii_has_a_plain_spelling(char: str) -> None:
    spelled = gsm.to_ascii(char)
    assert gsm.is_ascii(spelled)
    name = unicodedata.name(char)
    if name.startswith("LATIN "):
        assert spelled == _latin_base(char)
    elif name.startswith("GREEK CAPITAL LETTER "):
        # Romanised as classical Greek is: the letter's first sound, capitalised.
        letter = name.removeprefix("GREEK CAPITAL LETTER ")
        assert spelled[:1].isupper()
        assert letter.startswith(spelled.upper())
    else:
        assert spelled == SYMBOLS[char]


@pytest.mark.parametrize(
    ("char", "spelled"),
    [
        ("é", "e"), ("è", "e"), ("É", "E"), ("à", "a"), ("ù", "u"), ("ì", "i"), ("ò", "o"),
        ("ü", "u"), ("Ü", "U"), ("ä", "a"), ("Ä", "A"), ("ö", "o"), ("Ö", "O"), ("ñ", "n"),
        ("Ñ", "N"), ("Ç", "C"), ("å", "a"), ("Å", "A"), ("ø", "o"), ("Ø", "O"), ("æ", "ae"),
        ("Æ", "AE"), ("ß", "ss"), ("Δ", "D"), ("Φ", "Ph"), ("Γ", "G"), ("Λ", "L"), ("Ω", "O"),
        ("Π", "P"), ("Ψ", "Ps"), ("Σ", "S"), ("Θ", "Th"), ("Ξ", "X"),
    ],
)  # fmt: skip
def test_letters_take_their_base_letter(char: str, spelled: str) -> None:
    assert gsm.to_ascii(char) == spelled


def test_the_ascii_of_the_table_keeps_ascii_as_it_is() -> None:
    ascii_part = "".join(char for char in TABLE if char.isascii() and char != "\r")
    assert gsm.to_ascii(ascii_part) == ascii_part
    assert gsm.to_ascii("a\r\nb") == "a\nb"
    assert gsm.is_ascii(gsm.to_ascii(TABLE))


@pytest.mark.parametrize(
    ("text", "spelled"),
    [
        ("Français", "Francais"),
        ("Sécurité", "Securite"),
        ("Signaler un problème", "Signaler un probleme"),
        ("Que s'est-il passé ?", "Que s'est-il passe ?"),
        ("Straße", "Strasse"),
        ("¿Qué pasó?", "Que paso?"),
        ("l’éboulement à «Bisie»…", 'l\'eboulement a "Bisie"...'),
        ("Lingala: mɔ́tɛ", "Lingala: mote"),
        ("20 € / 5 £", "20 EUR / 5 GBP"),
        ("[x] {y} ~ | \\ ^", "[x] {y} ~ | \\ ^"),
    ],
)
def test_to_ascii_spells_text_plainly(text: str, spelled: str) -> None:
    assert gsm.to_ascii(text) == spelled
    assert gsm.spell(text, gsm.ASCII) == spelled
    assert gsm.spell(text, gsm.GSM7) == gsm.transliterate(text)


@given(st.text())
def test_to_ascii_always_yields_printable_ascii_that_gsm7_can_count(text: str) -> None:
    spelled = gsm.to_ascii(text)
    assert gsm.is_ascii(spelled)
    assert gsm.is_gsm7(spelled)
    assert gsm.to_ascii(spelled) == spelled


def test_is_ascii_allows_line_feeds_only() -> None:
    assert gsm.is_ascii("CON 1 Yes\n2 No ~")
    assert not gsm.is_ascii("é")
    assert not gsm.is_ascii("a\rb")
    assert not gsm.is_ascii("a\tb")
    assert not gsm.is_ascii("a\x7fb")


# -- screens -------------------------------------------------------------------------------


def _pages(bundle: Bundle, state: State, ctx: Context) -> list[str]:
    texts, offset = [], 0
    for _ in range(200):
        page = layout(bundle, replace(state, offset=offset), ctx)
        assert not page.cut, page.text
        texts.append(page.text)
        if not page.more:
            return texts
        offset += max(page.shown, 1)
    raise AssertionError("a list that never ends")


def _notices(bundle: Bundle, node: Menu | ListNode | TextInput | End) -> list[str | None]:
    """No error line, and the refusals the node can show."""
    if isinstance(node, TextInput):
        return [None, bundle.texts["empty_text"], bundle.texts["too_long"]]
    if isinstance(node, Menu | ListNode):
        return [None, bundle.texts["invalid_choice"]]
    return [None]


def test_every_shipped_screen_in_six_languages_is_ascii_and_fits(bundle: Bundle) -> None:
    catalogs = Catalogs.load(SHIPPED)
    places = lint.representative_places()
    screens = 0
    for lang in SHIPPED:
        ctx = Context(
            lang=lang,
            translators=catalogs.translator,
            places=places,
            languages=SHIPPED,
            service_code=lint.SERVICE_CODE,
            alphabet=gsm.ASCII,
        )
        answers = lint.representative_answers(bundle, catalogs, lang, gsm.ASCII)
        values = lint.representative_values(bundle, catalogs, lang, gsm.ASCII)
        drafts = {k: v for k, v in answers.items() if k in bundle.draft_keys}
        extras = {k: v for k, v in answers.items() if k not in bundle.draft_keys}
        for node in bundle.nodes.values():
            if not isinstance(node, Menu | ListNode | TextInput | End):
                continue
            for notice in _notices(bundle, node):
                state = State(
                    version=bundle.version,
                    lang=lang,
                    node=node.id,
                    history=(Entry("main.menu", 0),),
                    answers=drafts,
                    extras=extras,
                    values=values,
                    notice=notice,
                )
                for text in _pages(bundle, state, ctx):
                    screens += 1
                    assert gsm.is_ascii(text), (lang, node.id, text)
                    assert gsm.septets(text) <= BUDGET, (lang, node.id, text)
    assert screens > 1000


def test_the_shipped_french_menu_loses_only_its_accents(
    bundle: Bundle, make_ctx: Callable[..., Context]
) -> None:
    state = State(version=bundle.version, lang="fr", node="main.menu")
    accented = layout(bundle, state, make_ctx("fr")).text
    plain = layout(bundle, state, make_ctx("fr", alphabet=gsm.ASCII)).text
    assert "Signaler un problème" in accented
    assert "Signaler un probleme" in plain
    assert plain == gsm.to_ascii(accented)


def test_the_language_menu_names_french_plainly(
    bundle: Bundle, make_ctx: Callable[..., Context]
) -> None:
    state = State(version=bundle.version, lang="en", node="main.language")
    plain = layout(bundle, state, make_ctx(alphabet=gsm.ASCII)).text
    assert "Francais" in plain
    assert gsm.is_ascii(plain)


def test_a_context_spells_gsm7_unless_told(make_ctx: Callable[..., Context]) -> None:
    assert make_ctx().alphabet == gsm.GSM7


def test_values_are_shortened_on_the_ascii_text(
    bundle: Bundle, make_ctx: Callable[..., Context]
) -> None:
    """ß is one septet in GSM-7 and two letters in ASCII: the ASCII summary shortens the
    description further, and both fit."""
    answers = {"category": "other", "when": "today", "danger_now": "no", "description": "ß" * 150}
    state = State(version=bundle.version, lang="en", node="report.summary", answers=answers)
    accented = layout(bundle, state, make_ctx())
    plain = layout(bundle, state, make_ctx(alphabet=gsm.ASCII))
    for page in (accented, plain):
        assert not page.cut
        assert gsm.septets(page.text) <= BUDGET
        assert page.text.endswith('..."\n1 Send\n2 Change\n3 Cancel')
    assert "ßßß" in accented.text
    assert "ssss" in plain.text
    assert gsm.is_ascii(plain.text)
    assert plain.text.count("ss") < accented.text.count("ß")
    assert len(plain.text) <= BUDGET


def test_pages_are_cut_on_the_ascii_text(bundle: Bundle, make_ctx: Callable[..., Any]) -> None:
    """Names that grow when spelled in ASCII (ß -> ss, Æ -> AE) leave room for fewer items
    a page; every item is still reached, numbered on from page to page."""
    name = "Großstraße Æbelø Weißß"  # 22 characters, 27 in ASCII
    rows: list[tuple[str, str, str | None, str]] = [("cd", "RD Congo", None, "country")]
    rows += [(f"p{n}", f"{name} {n:02d}", "cd", "province") for n in range(1, 21)]
    places = StaticPlaces(rows)
    state = State(
        version=bundle.version,
        lang="en",
        node="report.province",
        answers={"country": "cd"},
        history=(Entry("main.menu", 0),),
    )
    shown: dict[str, int] = {}
    pages: list[str] = []
    for alphabet in (gsm.GSM7, gsm.ASCII):
        pages = _pages(bundle, state, make_ctx(places=places, alphabet=alphabet))
        for text in pages:
            assert gsm.septets(text) <= BUDGET
        keys = [
            line.split()[0]
            for text in pages
            for line in text.splitlines()[1:]
            if line.split()[0] not in ("98", "0")
        ]
        assert keys == [str(n) for n in range(1, 22)]
        shown[alphabet] = len(pages)
    assert gsm.is_ascii("\n".join(pages))  # the ASCII pages
    assert "Grossstrasse AEbelo Weissss 01" in pages[0]
    assert shown[gsm.ASCII] > shown[gsm.GSM7]
