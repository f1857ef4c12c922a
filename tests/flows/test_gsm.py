"""GSM 03.38: transliteration, septets and segment counts (3GPP TS 23.038 / 23.040)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flows import gsm


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("Français", "Francais"),
        ("être, fenêtre", "etre, fenetre"),
        ("âge île hôte dû", "age ile hote du"),
        ("Noël naïf", "Noel naif"),
        ("œuvre Œuvre", "oeuvre OEuvre"),
        ("À Â È Ê Î Ô Û", "A A E E I O U"),
        ("l’eau ‘x’", "l'eau 'x'"),
        ("“oui” «non»", '"oui" "non"'),
        ("attendez…", "attendez..."),
        ("a–b—c", "a-b-c"),
        ("Oui\u00a0!", "Oui !"),
        ("prix\u202f:", "prix :"),
        ("a\u2003b", "a b"),
        ("a\x00b\x07c", "abc"),
        ("tab\there", "tab here"),
        ("`quoted´", "'quoted'"),
    ],
)
def test_transliterate_maps_to_closest_gsm7(typed: str, expected: str) -> None:
    assert gsm.transliterate(typed) == expected


@pytest.mark.parametrize(
    "kept", ["é è à ù ü ö Ç ñ ß É Ä Ø å", "@£$¥¤§¿¡", "€ [ ] { } ~ | \\ ^", "a\nb"]
)
def test_transliterate_keeps_the_gsm7_alphabet(kept: str) -> None:
    assert gsm.transliterate(kept) == kept


def test_transliterate_replaces_what_has_no_spelling() -> None:
    assert gsm.transliterate("ok 😀") == "ok ?"
    assert gsm.transliterate("Ж") == "?"


def test_transliterate_drops_joiners_and_variation_selectors() -> None:
    assert gsm.transliterate("a\u200db\ufe0fc") == "abc"


@given(st.text())
def test_transliterate_always_yields_gsm7(text: str) -> None:
    assert gsm.is_gsm7(gsm.transliterate(text))


def test_is_gsm7_spots_characters_outside_the_alphabet() -> None:
    assert gsm.is_gsm7("Éboulement à Bisie: 3 blessés")
    assert not gsm.is_gsm7("Français")
    assert not gsm.is_gsm7("a\u00a0b")


def test_extension_characters_cost_two_septets() -> None:
    assert gsm.septets("abc") == 3
    assert gsm.septets("€") == 2
    assert gsm.septets("[x]") == 5
    assert gsm.septets("^{}\\[~]|€") == 18


def test_septets_refuse_text_outside_the_alphabet() -> None:
    with pytest.raises(ValueError, match="GSM-7"):
        gsm.septets("ç")


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("", 1),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 153 * 2, 2),
        ("a" * (153 * 2 + 1), 3),
        ("€" * 80, 1),
        ("€" * 80 + "a", 2),
        ("ç" * 70, 1),
        ("ç" * 71, 2),
        ("ç" * 67 * 2, 2),
        ("ç" * (67 * 2 + 1), 3),
    ],
)
def test_segments_follow_the_single_and_concatenated_limits(text: str, parts: int) -> None:
    assert gsm.segments(text) == parts


def test_an_escape_pair_is_never_split_across_parts() -> None:
    # 306 septets would fill two parts exactly, but the euro sign cannot straddle them.
    text = "a" * 152 + "€" + "a" * 152
    assert gsm.septets(text) == 306
    assert gsm.segments(text) == 3


def test_a_surrogate_pair_is_never_split_across_ucs2_parts() -> None:
    text = "ç" * 66 + "😀" + "ç" * 66
    assert gsm.segments(text) == 3


# The vectors the issue names: what each becomes, and what it costs on its own.
@pytest.mark.parametrize(
    ("typed", "expected", "cost"),
    [
        ("ç", "c", 1),
        ("ê", "e", 1),
        ("€", "€", 2),
        ("[", "[", 2),
        ("“", '"', 1),
        ("”", '"', 1),
        ("‘", "'", 1),
        ("’", "'", 1),
        ("\u00a0", " ", 1),
    ],
)
def test_the_issue_vectors(typed: str, expected: str, cost: int) -> None:
    assert gsm.transliterate(typed) == expected
    assert gsm.septets(expected) == cost


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("mbɔ́tɛ", "mbote"),  # Lingala open vowels carrying a tone mark
        ("ƐƆ ɛɔ", "EO eo"),
        ("nsɔ̂ni", "nsoni"),
        ("w’umwana", "w'umwana"),  # Kinyarwanda and Ikirundi apostrophes, however typed
        ("wʼumwana", "w'umwana"),
        ("wʻumwana", "w'umwana"),
        ("wꞌumwana", "w'umwana"),
        ("Ikinyarwandá ǎ ě ǐ ǒ ǔ", "Ikinyarwanda a e i o u"),
        ("ŋ Ŋ ɲ", "ng Ng ny"),
        ("e\u0301te\u0301", "été"),  # composed first: the GSM-7 é survives
        ("ng’ombe", "ng'ombe"),  # Kiswahili
    ],
)
def test_transliterate_spells_the_six_languages(typed: str, expected: str) -> None:
    assert gsm.transliterate(typed) == expected


def test_the_default_alphabet_is_in_3gpp_order() -> None:
    """TS 23.038 6.2.1: 128 positions, 0x1B being the escape to the extension table."""
    table = gsm.BASIC[:0x1B] + "\x1b" + gsm.BASIC[0x1B:]
    assert len(table) == 128
    known = {0x00: "@", 0x02: "$", 0x09: "Ç", 0x0A: "\n", 0x0D: "\r", 0x11: "_", 0x20: " "}
    known |= {0x24: "¤", 0x40: "¡", 0x5B: "Ä", 0x5F: "§", 0x60: "¿", 0x7B: "ä", 0x7F: "à"}
    assert {code: table[code] for code in known} == known
    assert sorted(gsm.EXTENSION) == sorted("^{}\\[~]|€")


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("Reçu, en attente du comité", 1),  # UCS-2 as typed: one part of 70
        ("ç" + "a" * 69, 1),
        ("ç" + "a" * 70, 2),
        ("€" * 76 + "a" * 1, 1),  # 153 septets
        ("[" * 80, 1),  # 160 septets
        ("[" * 80 + "]", 2),
    ],
)
def test_segment_vectors(text: str, parts: int) -> None:
    assert gsm.segments(text) == parts


def test_transliterated_text_goes_back_to_gsm7_segments() -> None:
    typed = "Reçu, en attente du comité « vite » " * 4
    assert gsm.segments(typed) == 3  # 144 UCS-2 units: 67 + 67 + 10
    assert gsm.segments(gsm.transliterate(typed)) == 1
