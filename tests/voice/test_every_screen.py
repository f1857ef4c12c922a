"""Every screen of every shipped flow, spoken in every voice language, as both providers'
documents: well-formed, of the verbs and attributes each provider documents, TwiML the
same as Twilio's own library writes for it, every prompt one the language must have,
and every option reached with one key.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import replace

import pytest
from twilio.twiml.voice_response import Gather, Record, VoiceResponse

from flows.engine import Bundle, End, ListNode, Menu, TextInput
from flows.i18n import Catalogs
from flows.lint import representative_answers, representative_places, representative_values
from flows.loader import shipped_bundle
from flows.state import Context, Entry, State
from flows.voice import FINAL, LIST_PAGE, RECORD, Speech, prompt_texts, speak
from gateway.channels import voicecall
from gateway.channels.africastalking.voice import RECORD_LINE as RECORD_STEM
from gateway.channels.africastalking.voice import voice_xml
from gateway.channels.twilio.voice import twiml
from tests.voice.calls import KEY_FILES, PRESS

BASE = "https://sauti.example.org"
TOKEN = "tok"
LANGUAGES = ("sw", "fr", "en")
MENU = "main.menu"

# The verbs and attributes each provider documents (TwiML <Gather>, <Play>, <Pause>,
# <Record>, <Redirect>, <Hangup>; AT's <GetDigits>, <Play>, <Record>, <Redirect>).
TWIML = {
    "Response": set(),
    "Gather": {"input", "action", "method", "timeout", "finishOnKey", "numDigits"},
    "Play": set(),
    "Pause": {"length"},
    "Record": {"action", "method", "maxLength", "timeout", "finishOnKey", "playBeep", "trim"},
    "Redirect": {"method"},
    "Hangup": set(),
}
AT_XML = {
    "Response": set(),
    "GetDigits": {"timeout", "finishOnKey", "numDigits", "callbackUrl"},
    "Play": {"url"},
    "Record": {"finishOnKey", "maxLength", "trimSilence", "playBeep", "callbackUrl"},
    "Redirect": set(),
}
RECORD_LINE = RECORD_STEM + ".wav"
CHILDREN = {"Gather": {"Play", "Pause"}, "GetDigits": {"Play"}, "Record": {"Play"}}


@pytest.fixture(scope="module")
def bundle() -> Bundle:
    return shipped_bundle()


@pytest.fixture(scope="module")
def catalogs() -> Catalogs:
    return Catalogs.load(LANGUAGES)


def _states(
    bundle: Bundle, catalogs: Catalogs, lang: str, record: bool
) -> Iterator[tuple[str, State, Context]]:
    places = representative_places()
    ctx = Context(
        lang=lang,
        translators=catalogs.translator,
        channel="voice",
        places=places,
        languages=LANGUAGES,
        service_code="*384*123#",
        record=record,
    )
    answers = representative_answers(bundle, catalogs, lang)
    values = representative_values(bundle, catalogs, lang)
    drafts = {k: v for k, v in answers.items() if k in bundle.draft_keys}
    extras = {k: v for k, v in answers.items() if k not in bundle.draft_keys}
    for node in bundle.nodes.values():
        if not isinstance(node, Menu | ListNode | TextInput | End):
            continue
        state = State(
            version=bundle.version,
            lang=lang,
            node=node.id,
            history=(Entry(MENU, 0),),
            answers=drafts,
            extras=extras,
            values=values,
        )
        pages = 12 if isinstance(node, ListNode) else 1
        for page in range(pages):
            yield (
                f"{node.id} [{lang}, page {page + 1}]",
                replace(state, offset=page * LIST_PAGE),
                ctx,
            )


def _spoken(bundle: Bundle, catalogs: Catalogs, record: bool) -> Iterator[tuple[str, Speech]]:
    for lang in LANGUAGES:
        seen: set[str] = set()
        for where, state, ctx in _states(bundle, catalogs, lang, record):
            speech = speak(bundle, state, ctx)
            if speech.text in seen:
                continue  # a list past its last page says its last page again
            seen.add(speech.text)
            yield where, speech


def _check_shape(root: ET.Element, allowed: dict[str, set[str]], where: str) -> None:
    assert root.tag == "Response", where
    for element in root.iter():
        assert element.tag in allowed, f"{where}: <{element.tag}>"
        assert set(element.attrib) <= allowed[element.tag], (
            f"{where}: <{element.tag}> {element.attrib}"
        )
        if element.tag in CHILDREN:
            assert {child.tag for child in element} <= CHILDREN[element.tag], where
        for child in element:
            if element.tag == "Response":
                continue
            assert element.tag in CHILDREN, f"{where}: <{child.tag}> inside <{element.tag}>"


def _twilio_reference(speech: Speech, urls: list[str | None], turn: voicecall.Turn) -> str:
    """The same screen written with Twilio's own TwiML library."""
    response = VoiceResponse()
    if speech.final:
        for url in urls:
            response.pause(length=1) if url is None else response.play(url)
        response.hangup()
        return str(response)
    action = BASE + "/voice/twilio?"
    following = voicecall.turn_query(None, turn.number + 1, speech.lang)
    if speech.input == RECORD:
        gather = Gather(
            input="dtmf",
            action=action + following,
            method="POST",
            num_digits=1,
            timeout=1,
            finish_on_key="",
        )
    elif speech.input in ("go_on", "key"):
        gather = Gather(
            input="dtmf",
            action=action + following,
            method="POST",
            num_digits=1,
            timeout=5,
            finish_on_key="",
        )
    else:
        timeout = 10 if speech.input == "digits" else 5
        gather = Gather(
            input="dtmf",
            action=action + following,
            method="POST",
            timeout=timeout,
            finish_on_key="#",
        )
    for url in urls:
        gather.pause(length=1) if url is None else gather.play(url)
    response.append(gather)
    if speech.input == RECORD:
        spoken = voicecall.turn_query(None, turn.number + 1, speech.lang, spoken=True)
        response.append(
            Record(
                action=action + spoken,
                method="POST",
                max_length=60,
                timeout=10,
                finish_on_key="#",
                play_beep=True,
                trim="trim-silence",
            )
        )
    silent = voicecall.turn_query(None, turn.number + 1, speech.lang, silences=turn.silences + 1)
    response.redirect(action + silent, method="POST")
    return str(response)


def _canonical(text: str) -> str:
    root = ET.fromstring(text.split("?>", 1)[-1])  # noqa: S314 (documents written here)
    for element in root.iter():
        for name, value in list(element.attrib.items()):
            element.set(name, value.lower() if value in ("True", "False") else value)
    return ET.canonicalize(ET.tostring(root, encoding="unicode"), strip_text=True)


def _keys(speech: Speech) -> list[str]:
    """The key of each option, as the screen says it (label, "press", key clips)."""
    files = [stem + ".wav" if stem != "," else "," for stem in speech.prompts]
    found, run = [], []
    for file in (*files, ","):
        if file != ",":
            run.append(file)
            continue
        if PRESS in run:
            at = run.index(PRESS)
            found.append("".join(KEY_FILES[f] for f in run[at + 1 :] if f in KEY_FILES))
        run = []
    return found


@pytest.mark.parametrize("record", [False, True], ids=["recordings off", "recordings on"])
def test_every_screen_is_a_valid_document_for_both_providers(
    bundle: Bundle, catalogs: Catalogs, record: bool
) -> None:
    places = representative_places()
    needed = {
        lang: prompt_texts(bundle, lang, catalogs.translator, places, LANGUAGES)
        for lang in LANGUAGES
    }
    turn = voicecall.Turn(number=3, silences=1, lang="sw")
    screens = 0
    for where, speech in _spoken(bundle, catalogs, record):
        screens += 1
        for lang, file in speech.files():
            assert file in needed[lang], f"{where}: {lang}/{file} is no prompt {lang} has"
        urls = voicecall.prompt_urls(BASE, speech, None)
        assert all(
            url is None
            or re.fullmatch(rf"{BASE}/voice/prompts/[a-z]{{2}}/[lpt]-[0-9a-z]+\.wav", url)
            for url in urls
        ), where
        said = voicecall.Spoken(speech, urls, BASE, turn, timeout=5, record_seconds=60)
        tw = twiml(said)
        _check_shape(tw, TWIML, where)
        body = ET.tostring(tw, encoding="unicode")
        assert _canonical(body) == _canonical(_twilio_reference(speech, urls, turn)), where
        at = voice_xml(said, token=TOKEN)
        _check_shape(at, AT_XML, where)
        plays = [e.get("url") for e in at.iter("Play")]
        if speech.input == RECORD:  # the line asking for the answer is played by <Record>
            record = at.find("Record")
            assert record is not None, where
            assert [e.get("url", "").rsplit("/", 1)[1] for e in record] == [RECORD_LINE], where
            assert sorted(plays) == sorted(url for url in urls if url is not None), where
        else:
            assert plays == [url for url in urls if url is not None], where
        if speech.input == FINAL:
            assert tw[-1].tag == "Hangup", where
            assert at.find("GetDigits") is None, where
            continue
        callbacks = [e.get("callbackUrl") for e in at.iter() if e.get("callbackUrl")]
        callbacks.append(at.find("Redirect").text)  # type: ignore[union-attr]
        assert all(voicecall_token(url) == TOKEN for url in callbacks), where
        keys = _keys(speech)
        assert len(keys) == len(set(keys)), f"{where}: two options share a key: {keys}"
        for key in keys:
            assert key in {"98", "00"} or len(key) == 1, f"{where}: option key {key!r}"
    print(
        f"{screens} spoken screens checked as TwiML and AT XML"
        f" (recordings {'on' if record else 'off'})"
    )
    assert screens > 100


def voicecall_token(url: str | None) -> str | None:
    from tests.voice.calls import query_of

    return query_of(url or "").get("token")
