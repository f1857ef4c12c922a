"""Africa's Talking Voice: the call and every key press, answered with AT's voice XML.

AT posts `sessionId, isActive, callerNumber, destinationNumber, direction` to the voice
callback (with `?token=`, as every AT callback: AT signs nothing), and `dtmfDigits` to
the `callbackUrl` of a `<GetDigits>`. Each answer is one spoken screen
(`gateway.channels.voicecall`): its prompts played inside a `<GetDigits>` whose
callbackUrl names the next turn. AT goes on silently when nothing is pressed, so a
`<Redirect>` follows, naming the same turn as a silence, and the caller hears that no key
came and the screen again. A final screen plays its prompts and the call ends with them.
The last request of a call (`isActive=0`) lets its session go.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from redis.exceptions import RedisError
from starlette.datastructures import ImmutableMultiDict

from flows.voice import DIGITS, FINAL, GO_ON, KEY, RECORD, VOICE_TEXTS, text_stem
from gateway.channels import voicecall
from gateway.channels.africastalking.callbacks import checked_form
from gateway.channels.africastalking.fields import voice_problem
from gateway.channels.africastalking.settings import PROVIDER
from gateway.channels.host import Services, replier, services
from gateway.forms import clean

log = logging.getLogger(__name__)
router = APIRouter()

VOICE_PATH = "/voice/africastalking"
DIGITS_TIMEOUT = 10  # seconds for the keys of a case number
# The line a spoken answer follows ("Speak after the tone…"): played inside <Record>, which
# AT then records after (a <Record> with nothing in it would record the rest of the call).
RECORD_LINE = text_stem(VOICE_TEXTS["voice.record"], 0)


MEDIA_TYPE = "application/xml"


def _play(parent: ET.Element, urls: Sequence[str]) -> None:
    for url in urls:
        ET.SubElement(parent, "Play", url=url)


def _is(url: str, stem: str) -> bool:
    return url.endswith("/" + stem + ".wav")


def voice_xml(said: voicecall.Spoken, *, token: str | None) -> ET.Element:
    """AT's voice XML of one spoken screen (AT has no pause: pauses are left out)."""
    speech, turn, timeout = said.speech, said.turn, said.timeout
    root = ET.Element("Response")
    plays = voicecall.plays(said.urls)
    if speech.input == FINAL:
        _play(root, plays)
        return root
    address = said.base_url.rstrip("/") + VOICE_PATH + "?"
    following = turn.number + 1
    gather = ET.SubElement(
        root,
        "GetDigits",
        callbackUrl=address + voicecall.turn_query(token, following, speech.lang),
    )
    if speech.input in (RECORD, GO_ON, KEY):
        gather.set("numDigits", "1")  # taken as soon as it is pressed
        gather.set("timeout", "1" if speech.input == RECORD else str(timeout))
        gather.set("finishOnKey", "")
    else:
        gather.set("timeout", str(DIGITS_TIMEOUT if speech.input == DIGITS else timeout))
        gather.set("finishOnKey", "#")
    if speech.input != RECORD:
        _play(gather, plays)
    else:
        # The question and its keys first (skip, back, repeat), then the line that asks
        # for the answer inside <Record>: AT plays it, beeps, and records after it.
        _play(gather, [url for url in plays if not _is(url, RECORD_LINE)])
        record = ET.SubElement(
            root,
            "Record",
            finishOnKey="#",
            maxLength=str(said.record_seconds),
            trimSilence="true",
            playBeep="true",
            callbackUrl=address + voicecall.turn_query(token, following, speech.lang, spoken=True),
        )
        _play(record, [url for url in plays if _is(url, RECORD_LINE)])
    silent = voicecall.turn_query(token, following, speech.lang, silences=turn.silences + 1)
    ET.SubElement(root, "Redirect").text = address + silent
    return root


@router.post(VOICE_PATH)
async def call(request: Request) -> Response:
    """Answer the call, or one key press of it, with AT's voice XML."""
    runtime, conversation = services(request), replier(request)
    form = await checked_form(request, runtime)
    if isinstance(form, Response):
        return form
    problem = voice_problem(form)
    if problem:
        runtime.metrics.refused.labels(reason="at_fields").inc()
        return PlainTextResponse(problem, status_code=400)
    session_id = form["sessionId"]
    if form["isActive"] == "0":
        try:
            await voicecall.ended(runtime, provider=PROVIDER, call_id=session_id)
        except RedisError as exc:
            log.warning("call end not recorded (%s)", type(exc).__name__)
        runtime.metrics.calls.labels(provider=PROVIDER, status="completed").inc()
        return voicecall.xml_response(ET.Element("Response"), MEDIA_TYPE)
    turn = voicecall.read_turn(request)
    pressed = clean(form.get("dtmfDigits", ""), limit=64).strip()
    number = clean(form.get("callerNumber", ""), limit=40).strip()
    number = number if any(char.isdigit() for char in number) else ""  # "" when withheld
    if turn.spoken:
        owner, _, _ = voicecall.caller(runtime, number, session_id, None)
        pressed = await _spoken(runtime, form, owner) or ""
    msg = voicecall.call_message(
        runtime,
        provider=PROVIDER,
        call_id=session_id,
        number=number,
        turn=turn,
        pressed=pressed,
    )
    said = await voicecall.spoken(runtime, conversation, msg, turn)
    token = runtime.settings.sauti_at_token or None
    return voicecall.xml_response(voice_xml(said, token=token), MEDIA_TYPE)


async def _spoken(runtime: Services, form: ImmutableMultiDict[str, str], owner: str) -> str | None:
    """The answer a `<Record>` brings: its recording kept (recordings on) as a spoken
    answer, or None (read as silence)."""
    url = form.get("recordingUrl", "")
    if not url or not runtime.settings.sauti_voice_recording:
        return None
    return await voicecall.keep_recording(
        runtime,
        provider=PROVIDER,
        provider_id=None,
        url=url,
        duration_seconds=None,
        owner=owner,
    )
