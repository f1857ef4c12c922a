"""The voice line: every screen of the shipped flows spoken in each voice language, with
only prompts that language has; the keys a caller presses; free text never spoken."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flows import lint
from flows.engine import Bundle, Context, Outcome, State, start, step
from flows.i18n import Catalogs
from flows.model import (
    BACK_KEY,
    MAIN_KEY,
    MENU_NODE,
    MORE_KEY,
    OPTIONAL_TEXTS,
    Action,
    End,
    ListNode,
    Menu,
    Shown,
    TextInput,
)
from flows.places import LEVEL_NAMES, PlaceLike, StaticPlaces, place_name
from flows.sources import LANGUAGE_NAMES, list_items
from flows.state import Entry
from flows.validators import damm_digit, display_case_number
from flows.voice import (
    DIGITS,
    FINAL,
    GO_ON,
    GO_ON_KEY,
    INPUTS,
    KEY,
    KEYS,
    LIST_PAGE,
    PAUSE,
    RECORD,
    REPEAT_KEY,
    SPOKEN_PREFIX,
    Speech,
    list_page,
    place_stem,
    prompt_texts,
    segments,
    speak,
    speech_of,
    spoken_messages,
    text_stem,
    voice_text,
)
from tests.flows.voice_helpers import (
    SPOKEN,
    Call,
    Prompts,
    Words,
    at,
    runs,
    seed_places,
    settle,
    speech_of_step,
    voice_ctx,
)

ALL_LANGUAGES = tuple(LANGUAGE_NAMES)
NUMBER = "482177350" + damm_digit("482177350")
CASE = display_case_number(NUMBER)
FREE = "Zebulon hid the dynamite behind Kalunga's shaft"
MESSAGE = "Quartzite committee visits Tuesday with the mining police"
SPOKEN_ANSWER = f"{SPOKEN_PREFIX}rec-7f3a]"
# Main menu 1 → accident → North Kivu → Walikale → Bisie → this week → nobody in danger.
TO_DESCRIPTION = ("1", "2", "1", "1", "1", "2", "2")
FOUND = Outcome(True, {"case": CASE, "status": "routed", "message": MESSAGE})


@pytest.fixture(scope="module")
def voice_catalogs() -> Catalogs:
    return Catalogs.load(ALL_LANGUAGES)


@pytest.fixture(scope="module")
def seeded() -> StaticPlaces:
    return seed_places()


@pytest.fixture(scope="module")
def wide() -> StaticPlaces:
    return lint.representative_places()


@pytest.fixture(scope="module")
def seed_prompts(bundle: Bundle, voice_catalogs: Catalogs, seeded: StaticPlaces) -> Prompts:
    return Prompts(bundle, voice_catalogs, seeded)


@pytest.fixture(scope="module")
def wide_prompts(bundle: Bundle, voice_catalogs: Catalogs, wide: StaticPlaces) -> Prompts:
    return Prompts(bundle, voice_catalogs, wide)


def _call(
    bundle: Bundle,
    catalogs: Catalogs,
    prompts: Prompts,
    *keys: str,
    lang: str = "en",
    outcome: Outcome = FOUND,
    has_language: bool = True,
    **changes: Any,
) -> Call:
    ctx = voice_ctx(catalogs, prompts.places, lang, country="cd", **changes)
    first = settle(bundle, start(bundle, ctx, has_language=has_language), ctx, outcome)
    return Call(bundle, ctx, prompts, first, outcome).send(*keys)


@pytest.fixture
def call(bundle: Bundle, voice_catalogs: Catalogs, seed_prompts: Prompts) -> Any:
    def begin(*keys: str, **changes: Any) -> Call:
        return _call(bundle, voice_catalogs, seed_prompts, *keys, **changes)

    return begin


def _words(bundle: Bundle, catalogs: Catalogs, lang: str = "en") -> Words:
    return Words(bundle, catalogs.translator(lang))


# -- Speech as one line --------------------------------------------------------------------


def test_a_speech_is_one_line_that_reads_back_as_itself() -> None:
    speech = Speech("sw", KEYS, ("t-0123456789", PAUSE, "fr/l-fr", "p-abcdef0123"))
    assert speech.text == "sw keys t-0123456789 , fr/l-fr p-abcdef0123"
    assert Speech.parse(speech.text) == speech
    for waits in INPUTS:
        empty = Speech("en", waits, ())
        assert Speech.parse(empty.text) == empty
    assert Speech("en", FINAL, ()).final
    assert not Speech("en", KEYS, ()).final


@pytest.mark.parametrize(
    "junk",
    ["", "   ", "en", "keys t-0123456789", "en listen t-0123456789", "e1 keys", "sw/x keys",
     "CON Sauti - anonymous reports", "<Response><Hangup/></Response>"],
)  # fmt: skip
def test_parse_refuses_what_is_no_spoken_screen(junk: str) -> None:
    with pytest.raises(ValueError, match="not a spoken screen"):
        Speech.parse(junk)


def test_files_leave_out_pauses_and_play_a_prefixed_stem_from_that_folder() -> None:
    speech = Speech("en", KEYS, ("t-0123456789", PAUSE, "sw/l-sw", PAUSE, PAUSE, "p-abcdef0123"))
    assert list(speech.files()) == [
        ("en", "t-0123456789.wav"),
        ("sw", "l-sw.wav"),
        ("en", "p-abcdef0123.wav"),
    ]


# -- every node, every voice language -------------------------------------------------------


def _notices(bundle: Bundle) -> list[str | None]:
    """Every error line the engine can put on a spoken screen, and none."""
    roles = ("invalid_choice", "empty_text", "too_long", "invalid_case_number")
    return [
        None,
        *(bundle.texts[role] for role in roles),
        voice_text(bundle, "voice.no_key"),
        bundle.texts.get("session_restarted", OPTIONAL_TEXTS["session_restarted"]),
        *{n.error for n in bundle.nodes.values() if isinstance(n, Action) and n.error},
    ]


def _shown(bundle: Bundle) -> list[Shown]:
    return [n for n in bundle.nodes.values() if isinstance(n, Menu | ListNode | TextInput | End)]


def _full_state(bundle: Bundle, catalogs: Catalogs, node: Shown, lang: str, **extra: str) -> State:
    """`node` with the longest answer to every question (typed text in every free-text
    answer, a place on a wide branch), an outcome's values, and a step to go back to."""
    answers = {**lint.representative_answers(bundle, catalogs, lang), **extra}
    answers["description"] = answers["place_text"] = answers["information"] = FREE
    values = {**lint.representative_values(bundle, catalogs, lang), "message": MESSAGE}
    return at(
        bundle,
        node.id,
        lang,
        history=(Entry(MENU_NODE, 0),),
        answers={k: v for k, v in answers.items() if k in bundle.draft_keys},
        extras={k: v for k, v in answers.items() if k not in bundle.draft_keys},
        values=values,
    )


def _pages(node: Shown, state: State, ctx: Context) -> Iterator[State]:
    if not isinstance(node, ListNode):
        yield state
        return
    items = list_items(node, {**state.extras, **state.answers}, ctx)
    yield from (replace(state, offset=first) for first in range(0, len(items) or 1, LIST_PAGE))


def _waits(node: Shown, ctx: Context) -> str:
    if isinstance(node, End):
        return FINAL
    if isinstance(node, TextInput):
        if node.validator == "case_number":
            return DIGITS
        if ctx.record:
            return RECORD
        return GO_ON if node.skip is not None else KEYS
    return KEYS


def _options(
    words: Words, node: Menu | ListNode, state: State, ctx: Context
) -> list[tuple[str, str | None]]:
    """(label, key or None: any one digit) of every option the page must announce, in
    order: a menu's own keys; a list page's items, then "More" when more follow."""
    if isinstance(node, Menu):
        return [(words.text(option.label), option.key) for option in node.options]
    items = list_items(node, {**state.extras, **state.answers}, ctx)
    first, end, more = list_page(items, state.offset)
    found: list[tuple[str, str | None]] = [
        (LANGUAGE_NAMES[code] if node.source == "languages" else place_name(words.tr, name), None)
        for code, name in items[first:end]
    ]
    return found + ([(words.text(words.bundle.texts["more"]), MORE_KEY)] if more else [])


def _check_items(
    words: Words, heard: list[str], node: Menu | ListNode, state: State, ctx: Context
) -> list[tuple[str, str]]:
    """Every option of the page announced as its label, "press" and its key's digits,
    each key one press and none taken twice; return (label, key) of each item."""
    wanted = _options(words, node, state, ctx)
    said = words.announced(heard)
    back = [(words.text(words.bundle.texts["back"]), BACK_KEY)] if state.history else []
    assert said[len(wanted) :] == back, (node.id, said)
    assert [label for label, _ in said[: len(wanted)]] == [label for label, _ in wanted]
    for (_, key), (_, fixed) in zip(said, wanted, strict=False):
        assert key == fixed if fixed else len(key) == 1 and key != BACK_KEY, (node.id, said)
    keys = [key for _, key in said]
    assert len(set(keys)) == len(keys), (node.id, said)
    if isinstance(node, ListNode) and node.other is not None:
        assert words.text(node.other.label) not in heard  # no place name to type by phone
    return said[: len(wanted)]


def _check_screen(
    prompts: Prompts, words: Words, node: Shown, state: State, ctx: Context
) -> list[str]:
    """Check one spoken screen; return what it says."""
    speech = speak(prompts.bundle, state, ctx)
    assert Speech.parse(speech.text) == speech
    assert speech.lang == state.lang
    assert prompts.missing(speech) == [], (node.id, state.notice)
    heard = prompts.heard(speech)
    waits = _waits(node, ctx)
    if waits == KEYS:  # one key each unless an option takes two (98 for more)
        announced = [key for _, key in words.announced(heard)]
        waits = KEY if all(len(key) == 1 for key in announced) else KEYS
    assert speech.input == waits, node.id
    assert not [said for said in heard if "Zebulon" in said or "Quartzite" in said]
    if state.notice and "{" not in state.notice:
        assert heard[0] == words.text(state.notice), node.id
    if isinstance(node, End):
        assert heard[-1] == words.role("voice.goodbye")
        return heard
    if isinstance(node, Menu | ListNode):
        _check_items(words, heard, node, state, ctx)
    back = words.option(words.text(words.bundle.texts["back"]), BACK_KEY)
    assert runs(heard, back) == bool(state.history), (node.id, heard)
    assert heard[-1] == words.role("voice.repeat")
    return heard


@pytest.mark.parametrize("record", [False, True], ids=["keys", "recordings"])
@pytest.mark.parametrize("lang", SPOKEN)
def test_every_node_speaks_only_prompts_its_language_has_and_announces_every_key(
    bundle: Bundle, voice_catalogs: Catalogs, wide_prompts: Prompts, lang: str, record: bool
) -> None:
    ctx = voice_ctx(voice_catalogs, wide_prompts.places, lang, record=record)
    words = _words(bundle, voice_catalogs, lang)
    screens = 0
    for node in _shown(bundle):
        bare = at(bundle, node.id, lang)
        for base in (_full_state(bundle, voice_catalogs, node, lang), bare):
            for notice in _notices(bundle):
                for state in _pages(node, replace(base, notice=notice), ctx):
                    _check_screen(wide_prompts, words, node, state, ctx)
                    screens += 1
    assert screens > 500


@pytest.mark.parametrize("country", ["rw", "bi"])
def test_a_places_list_asks_in_the_word_its_country_uses(
    bundle: Bundle, voice_catalogs: Catalogs, wide_prompts: Prompts, country: str
) -> None:
    branch = lint._place_answers(bundle, lint._branch(country))
    word = LEVEL_NAMES[country]["territory"]
    for lang in SPOKEN:
        ctx = voice_ctx(voice_catalogs, wide_prompts.places, lang)
        words = _words(bundle, voice_catalogs, lang)
        node = bundle.nodes["report.territory"]
        assert isinstance(node, ListNode)
        state = _full_state(bundle, voice_catalogs, node, lang, **branch)
        for page in _pages(node, state, ctx):
            heard = _check_screen(wide_prompts, words, node, page, ctx)
            assert heard[0] == words.text(node.level_text[word][0])


def _left(state: State, after: State) -> bool:
    return after.node != state.node or after.offset != state.offset


def _page(node: ListNode, state: State, ctx: Context) -> list[str]:
    """The values of the items on the shown page of a list."""
    items = list_items(node, {**state.extras, **state.answers}, ctx)
    first, end, _ = list_page(items, state.offset)
    return [value for value, _ in items[first:end]]


def _chosen(bundle: Bundle, node: Menu | ListNode, state: State, key: str, ctx: Context) -> State:
    """The state after pressing `key` at `node`: it must be taken (no error line) and leave
    the node, or show another page of it."""
    after = step(bundle, state, key, ctx).state
    assert after.notice is None, (node.id, key)
    assert after.node != state.node or after.offset != state.offset, (node.id, key)
    return after


@pytest.mark.parametrize("lang", SPOKEN)
def test_every_announced_key_is_taken_and_star_says_the_same_screen(
    bundle: Bundle, voice_catalogs: Catalogs, wide_prompts: Prompts, lang: str
) -> None:
    ctx = voice_ctx(voice_catalogs, wide_prompts.places, lang)
    words = _words(bundle, voice_catalogs, lang)
    for node in _shown(bundle):
        if isinstance(node, End):
            continue
        for state in _pages(node, _full_state(bundle, voice_catalogs, node, lang), ctx):
            speech = speak(bundle, state, ctx)
            if isinstance(node, Menu | ListNode):
                said = _check_items(words, wide_prompts.heard(speech), node, state, ctx)
                for number, (_, key) in enumerate(said):
                    after = _chosen(bundle, node, state, key, ctx)
                    if isinstance(node, ListNode) and key != MORE_KEY:
                        picked = {**after.extras, **after.answers}.get(node.answer)
                        assert picked == _page(node, state, ctx)[number], (node.id, key)
            assert step(bundle, state, BACK_KEY, ctx).state.node == MENU_NODE
            again = speech_of_step(step(bundle, state, REPEAT_KEY, ctx))
            assert again == speech
            refused = replace(state, notice=bundle.texts["invalid_choice"])
            assert speech_of_step(step(bundle, refused, REPEAT_KEY, ctx)) == again


def test_a_long_list_is_read_six_at_a_time_and_98_comes_round_to_the_first_page(
    bundle: Bundle, voice_catalogs: Catalogs, wide_prompts: Prompts
) -> None:
    ctx = voice_ctx(voice_catalogs, wide_prompts.places, "en")
    state = at(bundle, "report.country", history=(Entry(MENU_NODE, 0),))
    offsets = []
    for _ in range(8):
        offsets.append(state.offset)
        state = step(bundle, state, MORE_KEY, ctx).state
    countries = len(wide_prompts.places.children(None))
    assert countries > 4 * LIST_PAGE
    pages = range(0, countries, LIST_PAGE)
    assert offsets == [*pages, *pages][:8]
    assert LIST_PAGE == 6


# -- what is said of answers --------------------------------------------------------------------


def test_free_text_is_never_spoken_only_said_to_be_there(
    bundle: Bundle, voice_catalogs: Catalogs, seed_prompts: Prompts
) -> None:
    for lang in SPOKEN:
        ctx = voice_ctx(voice_catalogs, seed_prompts.places, lang, country="cd")
        words = _words(bundle, voice_catalogs, lang)
        answers = {"category": "accident", "place_code": "cd-nk", "description": FREE}
        summary = speak(bundle, at(bundle, "report.summary", lang, answers=answers), ctx)
        result = speak(bundle, at(bundle, "status.result", lang, values=FOUND.values), ctx)
        for speech in (summary, result):
            heard = seed_prompts.heard(speech)
            assert not [said for said in heard if "Zebulon" in said or "Quartzite" in said]
            assert {text_stem(FREE, 0), text_stem(MESSAGE, 0)}.isdisjoint(speech.prompts)
            written = words.opening(voice_text(bundle, "voice.written"))
            assert heard.count(written) == 1, heard
        assert place_name(words.tr, "North Kivu") in seed_prompts.heard(summary)


def test_a_spoken_answer_is_said_to_be_kept(
    bundle: Bundle, voice_catalogs: Catalogs, seed_prompts: Prompts
) -> None:
    ctx = voice_ctx(voice_catalogs, seed_prompts.places, "en")
    answers = {"category": "accident", "description": SPOKEN_ANSWER}
    heard = seed_prompts.heard(speak(bundle, at(bundle, "report.summary", answers=answers), ctx))
    assert "Your spoken answer is kept." in heard
    assert not [said for said in heard if "rec-7f3a" in said or "written" in said]


def test_places_are_spoken_as_their_name_prompts(
    bundle: Bundle, voice_catalogs: Catalogs, seed_prompts: Prompts
) -> None:
    ctx = voice_ctx(voice_catalogs, seed_prompts.places, "fr")
    answers = {"category": "accident", "place_code": "cd-nk"}
    speech = speak(bundle, at(bundle, "report.summary", "fr", answers=answers), ctx)
    assert place_stem("North Kivu") in speech.prompts
    assert "Nord-Kivu" in seed_prompts.heard(speech)
    listed = speak(bundle, at(bundle, "report.province", "fr", answers={"country": "cd"}), ctx)
    assert "Nord-Kivu" in seed_prompts.heard(listed)


@pytest.mark.parametrize("lang", SPOKEN)
def test_the_case_number_is_read_digit_by_digit_twice_when_a_report_is_sent(
    bundle: Bundle, voice_catalogs: Catalogs, seed_prompts: Prompts, lang: str
) -> None:
    ctx = voice_ctx(voice_catalogs, seed_prompts.places, lang)
    words = _words(bundle, voice_catalogs, lang)
    speech = speak(bundle, at(bundle, "report.sent", lang, values={"case": CASE}), ctx)
    digits = words.digits(CASE)
    assert len([said for said in digits if said != PAUSE]) == 10
    assert digits[3] == digits[7] == PAUSE
    heard = seed_prompts.heard(speech)
    assert runs(heard, digits) == 2
    assert speech.final
    assert heard[-1] == words.role("voice.goodbye")
    status = speak(bundle, at(bundle, "status.result", lang, values=FOUND.values), ctx)
    assert runs(seed_prompts.heard(status), digits) == 1


def test_a_whole_report_by_keys_alone_ends_with_its_case_number(call: Any) -> None:
    c = call(*TO_DESCRIPTION, GO_ON_KEY, "2")
    assert c.state.node == "report.summary"
    assert c.speech.input == KEY  # every option one key: taken as soon as pressed
    c.send("1")
    assert c.state.node == "report.sent"
    assert c.speech.final
    words = Words(c.bundle, c.ctx.translators("en"))
    assert runs(c.heard, words.digits(CASE)) == 2


@pytest.mark.parametrize("role", ["voice.silent", "voice.unavailable"])
def test_a_closing_line_alone_is_a_final_speech_of_known_prompts(
    bundle: Bundle, voice_catalogs: Catalogs, seed_prompts: Prompts, role: str
) -> None:
    for lang in SPOKEN:
        ctx = voice_ctx(voice_catalogs, seed_prompts.places, lang)
        speech = speech_of(bundle, ctx, at(bundle, MENU_NODE, lang), role)
        assert speech.final
        assert Speech.parse(speech.text) == speech
        assert seed_prompts.missing(speech) == []
        words = _words(bundle, voice_catalogs, lang)
        assert seed_prompts.heard(speech)[0] == words.role(role)


# -- the engine's voice keys ------------------------------------------------------------------


def test_silence_at_a_menu_says_no_key_was_heard_and_speaks_the_menu_again(call: Any) -> None:
    c = call()
    before = c.speech
    c.send(GO_ON_KEY)
    assert c.state.node == MENU_NODE
    assert c.heard[0] == "We did not hear a key."
    assert c.speech.prompts[-len(before.prompts) :] == before.prompts
    c.send(REPEAT_KEY)
    assert c.speech == before
    c.send("1", GO_ON_KEY)
    assert c.state.node == "report.category"
    assert c.heard[0] == "We did not hear a key."


def test_a_wrong_key_says_so(call: Any) -> None:
    c = call("9")
    assert c.state.node == MENU_NODE
    assert c.heard[0] == "Wrong choice, try again."
    c.send(MORE_KEY)  # a menu is never paged on the line
    assert c.heard[0] == "Wrong choice, try again."


def test_a_case_number_is_typed_with_the_keys(call: Any) -> None:
    c = call("2")
    assert c.state.node == "status.case_number"
    assert c.speech.input == DIGITS
    assert c.heard[0] == "Press the 10 digits of your case number, then the hash key."
    c.send(GO_ON_KEY)
    assert c.state.node == "status.case_number"
    assert c.heard[0] == "We did not hear a key."
    c.send("12345")
    assert c.heard[0] == "Not a valid case number. Type the 10 digits again."
    c.send(NUMBER)
    assert c.state.node == "status.result"
    assert c.speech.final


def test_a_skippable_question_goes_on_with_the_hash_key_without_recordings(call: Any) -> None:
    c = call(*TO_DESCRIPTION)
    assert c.state.node == "report.description"
    assert c.speech.input == GO_ON
    assert "To go on, press the hash key." in c.heard
    c.send("5")
    assert c.heard[0] == "Wrong choice, try again."
    c.send(GO_ON_KEY)
    assert c.state.node == "report.sms"
    assert "description" not in c.state.answers


def test_a_question_that_needs_words_says_so_and_waits_for_keys(
    bundle: Bundle, voice_catalogs: Catalogs, seed_prompts: Prompts
) -> None:
    ctx = voice_ctx(voice_catalogs, seed_prompts.places, "en")
    state = at(bundle, "report.place_text", history=(Entry("report.province", 0),))
    speech = speak(bundle, state, ctx)
    assert speech.input == KEY  # back (0) and repeat (*) alone
    heard = seed_prompts.heard(speech)
    assert "This needs words: send them by SMS, or dial" in heard
    after = step(bundle, state, GO_ON_KEY, ctx)
    assert after.state.node == "report.place_text"
    assert seed_prompts.heard(speech_of_step(after))[0] == "We did not hear a key."
    assert step(bundle, state, BACK_KEY, ctx).state.node == "report.province"


def test_with_recordings_free_text_waits_for_a_spoken_answer(call: Any) -> None:
    c = call(*TO_DESCRIPTION, record=True)
    assert c.state.node == "report.description"
    assert c.speech.input == RECORD
    assert "Speak after the tone. When you have finished, press the hash key." in c.heard
    assert runs(c.heard, ["Skip", "press", "one", PAUSE]) == 1
    c.send(SPOKEN_ANSWER)
    assert c.state.node == "report.sms"
    assert c.state.answers["description"] == SPOKEN_ANSWER
    c.send("2")
    assert "Your spoken answer is kept." in c.heard


def test_with_recordings_silence_asks_again_and_the_skip_key_skips(call: Any) -> None:
    c = call(*TO_DESCRIPTION, GO_ON_KEY, record=True)
    assert c.state.node == "report.description"  # an empty recording or silence
    assert c.heard[0] == "We did not hear a key."
    c.send(c.bundle.nodes["report.description"].skip.key)
    assert c.state.node == "report.sms"
    assert "description" not in c.state.answers


def test_with_recordings_add_information_takes_a_spoken_answer(call: Any) -> None:
    c = call("3", NUMBER, record=True)
    assert c.state.node == "add_info.information"
    assert c.speech.input == RECORD
    c.send(SPOKEN_ANSWER)
    assert c.state.node == "add_info.added"


@pytest.mark.parametrize(
    ("keys", "node"),
    [(TO_DESCRIPTION, "report.description"), (("3", NUMBER), "add_info.information")],
)
def test_with_recordings_a_free_text_question_asks_its_own_question(
    call: Any, keys: tuple[str, ...], node: str
) -> None:
    c = call(*keys, record=True)
    assert c.state.node == node
    shown = c.bundle.nodes[node]
    own = c.bundle.texts[f"voice:{node}"]
    asked = {literal.strip() for _, literal, _ in segments(shown.text[0]) if literal.strip()}
    assert c.heard[0] == shown.text[0].split("{")[0].strip()
    for _, literal, _ in segments(own):
        if literal.strip() and literal.strip() not in asked:
            assert literal.strip() not in c.heard  # the recordings-off text is not said


def test_a_list_offers_no_name_to_type_on_the_line(call: Any) -> None:
    c = call("1", "2")
    assert c.state.node == "report.province"
    provinces = len(c.ctx.places.children("cd"))
    assert "Not in the list" not in c.heard
    c.send(str(provinces + 1))
    assert c.state.node == "report.province"
    assert c.heard[0] == "Wrong choice, try again."


def test_the_language_list_names_each_language_in_itself_and_switches_the_speech(
    call: Any,
) -> None:
    c = call(has_language=False)
    assert c.state.node == "main.language"
    folders = [prompt for prompt in c.speech.prompts if "/" in prompt]
    assert folders == ["sw/l-sw", "fr/l-fr", "en/l-en"]
    assert runs(c.heard, ["Kiswahili", "press", "one", PAUSE]) == 1
    c.send("2")
    assert c.state.node == MENU_NODE
    assert c.speech.lang == "fr"
    assert c.prompts.missing(c.speech) == []
    c.send("4", "1")
    assert c.speech.lang == "sw"
    assert c.state.lang == "sw"


def test_a_report_begun_by_ussd_is_continued_by_voice(
    bundle: Bundle, voice_catalogs: Catalogs, seed_prompts: Prompts
) -> None:
    ussd = voice_ctx(voice_catalogs, seed_prompts.places, "en", channel="ussd", country="cd")
    found = start(bundle, ussd)
    for key in (*TO_DESCRIPTION, FREE):
        found = step(bundle, found.state, key, ussd)
    draft = found.state.draft()
    assert draft is not None
    assert draft["node"] == "report.sms"
    c = _call(bundle, voice_catalogs, seed_prompts)
    c.last = start(bundle, c.ctx, draft=draft)
    assert c.state.node == "main.offer"
    c.send("1")
    assert c.state.node == "report.sms"
    c.send("2")
    assert c.state.node == "report.summary"
    assert seed_prompts.missing(c.speech) == []
    assert "There is a written answer: read it by SMS, or dial" in c.heard
    assert not [said for said in c.heard if "Zebulon" in said]


def test_00_goes_to_the_main_menu_from_anywhere_on_the_line(call: Any) -> None:
    c = call("1", "2", "1", MAIN_KEY)
    assert c.state.node == MENU_NODE
    c.send("2", MAIN_KEY)
    assert c.state.node == MENU_NODE


# -- what each language must have -----------------------------------------------------------

FILE = re.compile(r"t-[0-9a-f]{10}\.wav|p-[0-9a-f]{10}\.wav|l-[a-z]{2,3}\.wav")


@pytest.mark.parametrize("lang", ALL_LANGUAGES)
def test_prompt_texts_name_every_prompt_once_with_what_it_says(
    bundle: Bundle, voice_catalogs: Catalogs, wide: StaticPlaces, lang: str
) -> None:
    tr = voice_catalogs.translator(lang)
    found = prompt_texts(bundle, lang, voice_catalogs.translator, wide, ALL_LANGUAGES)
    for file, prompt in found.items():
        assert FILE.fullmatch(file), file
        assert prompt.file == file
        assert prompt.text.strip(), file
        assert prompt.text == prompt.text.strip(), file
        assert prompt.context in ("text", "place", "language")
    assert found[f"l-{lang}.wav"].text == LANGUAGE_NAMES[lang]
    parts = {
        (msgid, part)
        for msgid in spoken_messages(bundle)
        for part, literal, _ in segments(tr.gettext(msgid))
        if literal
    }
    stems = {text_stem(msgid, part) for msgid, part in parts}
    assert len(stems) == len(parts)  # no two texts share a file
    assert {f"{stem}.wav" for stem in stems} == {f for f, p in found.items() if p.context == "text"}
    names = {place.name for place in _places(wide)}
    assert {place_stem(name) + ".wav" for name in names} == {
        f for f, p in found.items() if p.context == "place"
    }
    for name in names:
        assert found[place_stem(name) + ".wav"].text == place_name(tr, name)


def _places(places: StaticPlaces) -> list[PlaceLike]:
    found: list[PlaceLike] = []
    frontier: list[str | None] = [None]
    while frontier:
        for place in places.children(frontier.pop()):
            found.append(place)
            frontier.append(place.code)
    return found


def test_place_prompts_say_the_translated_name(
    bundle: Bundle, voice_catalogs: Catalogs, seed_prompts: Prompts
) -> None:
    stem = place_stem("North Kivu") + ".wav"
    assert seed_prompts.of("fr")[stem].text == "Nord-Kivu"
    assert seed_prompts.of("sw")[stem].text == "Kivu Kaskazini"
    assert seed_prompts.of("en")[stem].text == "North Kivu"


def test_a_language_not_on_the_line_has_no_name_prompt(
    bundle: Bundle, voice_catalogs: Catalogs, seeded: StaticPlaces
) -> None:
    found = prompt_texts(bundle, "rw", voice_catalogs.translator, seeded, SPOKEN)
    assert "l-rw.wav" not in found
    assert "l-rw.wav" in prompt_texts(bundle, "rw", voice_catalogs.translator, seeded, ())


def test_kiswahili_needs_hundreds_of_prompts(
    bundle: Bundle, voice_catalogs: Catalogs, wide: StaticPlaces, seeded: StaticPlaces
) -> None:
    wide_count = len(prompt_texts(bundle, "sw", voice_catalogs.translator, wide, SPOKEN))
    seed_count = len(prompt_texts(bundle, "sw", voice_catalogs.translator, seeded, SPOKEN))
    print(f"sw prompts: {wide_count} with the lint's wide places, {seed_count} with the seed")
    assert wide_count > 400
    assert seed_count > len(spoken_messages(bundle))


# -- any keys -------------------------------------------------------------------------------

KEYS_PRESSED = [*map(str, range(10)), REPEAT_KEY, GO_ON_KEY, MORE_KEY, MAIN_KEY, NUMBER]


@settings(max_examples=500, deadline=None)
@given(
    lang=st.sampled_from(SPOKEN),
    record=st.booleans(),
    ok=st.booleans(),
    keys=st.lists(st.sampled_from(KEYS_PRESSED), max_size=12),
)
def test_any_keys_give_a_spoken_screen_of_known_prompts(
    bundle: Bundle,
    voice_catalogs: Catalogs,
    seed_prompts: Prompts,
    lang: str,
    record: bool,
    ok: bool,
    keys: list[str],
) -> None:
    outcome = Outcome(ok, FOUND.values if ok else {})
    c = _call(bundle, voice_catalogs, seed_prompts, lang=lang, outcome=outcome, record=record)
    for key in keys:
        c.send(key)
        assert c.last.screen is not None
        speech = Speech.parse(c.last.screen.text)
        assert speech.lang == c.state.lang
        assert seed_prompts.missing(speech) == []
        seed_prompts.heard(speech)
        if speech.final:
            break
