"""SMS keywords: every language's words, any case or accents, English always, and only as
the whole message (a status may carry a case number)."""

from __future__ import annotations

import pytest

from flows.i18n import Catalogs
from gateway import messages
from gateway.keywords import WORDS_BY_LANGUAGE, Keyword, Match, match

LANGUAGES = ("en", "fr", "sw", "rw", "rn", "ln")
EVERY_WORD = [
    (lang, keyword, word)
    for lang, table in WORDS_BY_LANGUAGE.items()
    for keyword, words in table.items()
    for word in words
]


def test_each_of_the_six_languages_has_a_word_for_every_keyword() -> None:
    assert set(LANGUAGES) <= set(WORDS_BY_LANGUAGE)
    for table in WORDS_BY_LANGUAGE.values():
        assert set(table) == set(Keyword)


def test_no_word_means_two_keywords() -> None:
    meanings: dict[str, set[Keyword]] = {}
    for _, keyword, word in EVERY_WORD:
        meanings.setdefault(word, set()).add(keyword)
    assert {word: found for word, found in meanings.items() if len(found) > 1} == {}


def keyword_of(typed: str) -> tuple[Keyword, str] | None:
    found = match(typed)
    return None if found is None else (found.keyword, found.argument)


@pytest.mark.parametrize(("lang", "keyword", "word"), EVERY_WORD)
def test_every_word_is_matched_in_any_case(lang: str, keyword: Keyword, word: str) -> None:
    assert keyword_of(word) == (keyword, "")
    assert keyword_of(f"  {word.lower()}! ") == (keyword, "")
    assert keyword_of(word.capitalize() + ".") == (keyword, "")


@pytest.mark.parametrize(("lang", "keyword", "word"), EVERY_WORD)
def test_a_match_tells_the_language_of_its_word(lang: str, keyword: Keyword, word: str) -> None:
    found = match(word)
    assert found is not None
    assert lang in found.languages


@pytest.mark.parametrize(
    ("typed", "languages"),
    [("REPORT", ("en",)), ("Ripoti", ("sw",)), ("menyesha", ("rw", "rn")), ("Yebisa", ("ln",))],
)
def test_the_languages_of_a_word(typed: str, languages: tuple[str, ...]) -> None:
    assert match(typed) == Match(Keyword.REPORT, "", languages)


@pytest.mark.parametrize(
    ("typed", "keyword"),
    [
        ("Arrêt", Keyword.STOP),
        ("DÉMARRER", Keyword.START),
        ("signalér", Keyword.REPORT),
        ("Kurikirána", Keyword.STATUS),  # a tone mark typed on a Kinyarwanda word
        ("Yébisa", Keyword.REPORT),
    ],
)
def test_accents_do_not_matter(typed: str, keyword: Keyword) -> None:
    found = match(typed)
    assert found is not None
    assert found.keyword is keyword


@pytest.mark.parametrize("lang", LANGUAGES)
def test_english_is_always_accepted_next_to_each_language(lang: str) -> None:
    for keyword in Keyword:
        english = WORDS_BY_LANGUAGE["en"][keyword][0]
        local = WORDS_BY_LANGUAGE[lang][keyword][0]
        assert keyword_of(english) == keyword_of(local) == (keyword, "")


@pytest.mark.parametrize(
    "typed",
    ["status 482-177-3506", "Kurikirana 4821773506", "landa 482 177 3506", "HALI 482.177.3506."],
)
def test_status_takes_a_case_number(typed: str) -> None:
    found = match(typed)
    assert found is not None
    assert found.keyword is Keyword.STATUS
    assert found.argument.replace("-", "").replace(" ", "").replace(".", "") == "4821773506"


@pytest.mark.parametrize(
    "typed",
    [
        "Banda lobi basoda bazali kofuta mbongo",  # Lingala: "since yesterday soldiers ..."
        "Hali ni mbaya sana shimoni",  # Kiswahili: "things are very bad in the pit"
        "Anza kazi saa mbili",
        "Menyesha umuyobozi",
        "stop the soldiers at the barrier",
        "status of the pit",
        "",
        "   ",
    ],
)
def test_text_that_only_starts_with_a_keyword_is_not_one(typed: str) -> None:
    assert match(typed) is None


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_catalogs_name_words_the_gateway_understands(lang: str) -> None:
    """A reply that says "send X" in a language names one of that language's keywords."""
    tr = Catalogs.load([lang]).translator(lang)
    table = WORDS_BY_LANGUAGE[lang]
    for msgid, keyword in ((messages.STOPPED, Keyword.START), (messages.STARTED, Keyword.HELP)):
        words = set(tr.gettext(msgid).replace(".", " ").split())
        assert words & set(table[keyword]), (lang, tr.gettext(msgid))
