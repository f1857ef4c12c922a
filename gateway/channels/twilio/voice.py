"""Twilio Voice: the incoming call and every key press, answered with TwiML.

Twilio posts `CallSid, AccountSid, From, To, CallStatus` (and `Digits` after a
`<Gather>`, `RecordingUrl, RecordingSid, RecordingDuration` after a `<Record>`), signed
exactly as SMS webhooks are. Each answer is one spoken screen (`gateway.channels.
voicecall`): its prompts played inside a `<Gather>` whose action names the next turn, then
a `<Redirect>` that Twilio follows when nothing was pressed; a final screen plays and
hangs up. A screen that takes a spoken answer (recordings on) offers its keys first, then
records after the tone.

`POST /voice/twilio/status` takes the call's status callback: a call that ended lets its
session go at once (an unfinished report stays the caller's draft, by pseudonym).
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from redis.exceptions import RedisError
from starlette.datastructures import ImmutableMultiDict

from flows.voice import DIGITS, FINAL, GO_ON, KEY, RECORD
from gateway.channels import voicecall
from gateway.channels.host import Services, replier, services
from gateway.channels.twilio.fields import call_problem, call_status_problem
from gateway.channels.twilio.settings import PROVIDER
from gateway.channels.twilio.signature import refused, signed_form
from gateway.forms import clean
from gateway.phones import country_region

log = logging.getLogger(__name__)
router = APIRouter()

VOICE_PATH = "/voice/twilio"
STATUS_PATH = "/voice/twilio/status"
# Call statuses after which Twilio posts nothing more for the call.
ENDED = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})
DIGITS_TIMEOUT = 10  # seconds between the keys of a case number
RECORD_SILENCE = 10  # seconds of silence that end a spoken answer
# What Twilio sends as `From` for a caller whose number is withheld: the word, or the
# word spelled on a keypad (ANONYMOUS, RESTRICTED, UNKNOWN, BLOCKED, UNAVAILABLE), which
# would otherwise read as numbers, two of them valid ones.
WITHHELD = frozenset({"+266696687", "+7378742833", "+8656696", "+2562533", "+86282452253"})


MEDIA_TYPE = "text/xml; charset=utf-8"


def _play(parent: ET.Element, urls: Sequence[str | None]) -> None:
    for url in urls:
        if url is None:
            ET.SubElement(parent, "Pause", length="1")
        else:
            ET.SubElement(parent, "Play").text = url


def twiml(said: voicecall.Spoken) -> ET.Element:
    """The TwiML document of one spoken screen."""
    speech, urls, turn, timeout = said.speech, said.urls, said.turn, said.timeout
    root = ET.Element("Response")
    if speech.input == FINAL:
        _play(root, urls)
        ET.SubElement(root, "Hangup")
        return root
    action = said.base_url.rstrip("/") + VOICE_PATH + "?"
    following = turn.number + 1
    next_turn = action + voicecall.turn_query(None, following, speech.lang)
    gather = ET.SubElement(root, "Gather", input="dtmf", action=next_turn, method="POST")
    if speech.input == RECORD:
        # A key while the question is read (repeat, back, skip); then the answer itself.
        gather.set("numDigits", "1")
        gather.set("timeout", "1")
        gather.set("finishOnKey", "")
    elif speech.input in (GO_ON, KEY):
        gather.set("numDigits", "1")  # taken as soon as it is pressed
        gather.set("timeout", str(timeout))
        gather.set("finishOnKey", "")
    else:
        gather.set("timeout", str(DIGITS_TIMEOUT if speech.input == DIGITS else timeout))
        gather.set("finishOnKey", "#")
    _play(gather, urls)
    if speech.input == RECORD:
        ET.SubElement(
            root,
            "Record",
            action=action + voicecall.turn_query(None, following, speech.lang, spoken=True),
            method="POST",
            maxLength=str(said.record_seconds),
            timeout=str(RECORD_SILENCE),
            finishOnKey="#",
            playBeep="true",
            trim="trim-silence",
        )
    silent = voicecall.turn_query(None, following, speech.lang, silences=turn.silences + 1)
    ET.SubElement(root, "Redirect", method="POST").text = action + silent
    return root


def _number(form: ImmutableMultiDict[str, str]) -> str:
    """The caller's number, or "" when it is withheld."""
    number = clean(form.get("From", ""), limit=40)
    return "" if number in WITHHELD or not any(c.isdigit() for c in number) else number


@router.post(VOICE_PATH)
async def call(request: Request) -> Response:
    """Answer the incoming call, or one key press of it, with TwiML."""
    runtime, conversation = services(request), replier(request)
    form = await signed_form(request, runtime)
    if isinstance(form, Response):
        return form
    problem = call_problem(form, account_sid=runtime.settings.twilio_account_sid)
    if problem:
        return refused(runtime, problem)
    turn = voicecall.read_turn(request)
    number, region = _number(form), country_region(clean(form.get("FromCountry", ""), limit=8))
    pressed = clean(form.get("Digits", ""), limit=64)
    if turn.spoken:
        owner, _, _ = voicecall.caller(runtime, number, form["CallSid"], region)
        pressed = await _spoken(runtime, form, owner) or ""
    msg = voicecall.call_message(
        runtime,
        provider=PROVIDER,
        call_id=form["CallSid"],
        number=number,
        turn=turn,
        pressed=pressed,
        region=region,
    )
    said = await voicecall.spoken(runtime, conversation, msg, turn)
    return voicecall.xml_response(twiml(said), MEDIA_TYPE)


async def _spoken(runtime: Services, form: ImmutableMultiDict[str, str], owner: str) -> str | None:
    """The answer a `<Record>` brings: its recording kept (recordings on) as a spoken
    answer, or None for an empty one (read as silence)."""
    url = form.get("RecordingUrl", "")
    duration = form.get("RecordingDuration", "")
    if not url or not runtime.settings.sauti_voice_recording:
        return None
    seconds = int(duration) if duration.lstrip("-").isdigit() else None
    if seconds is not None and seconds <= 0:
        return None
    return await voicecall.keep_recording(
        runtime,
        provider=PROVIDER,
        provider_id=form.get("RecordingSid") or None,
        url=url,
        duration_seconds=seconds,
        owner=owner,
    )


@router.post(STATUS_PATH)
async def call_status(request: Request) -> Response:
    """Take a call's status: an ended call's session is let go at once."""
    runtime = services(request)
    form = await signed_form(request, runtime)
    if isinstance(form, Response):
        return form
    problem = call_status_problem(form, account_sid=runtime.settings.twilio_account_sid)
    if problem:
        return refused(runtime, problem)
    status = form["CallStatus"]
    if status in ENDED:
        try:
            await voicecall.ended(runtime, provider=PROVIDER, call_id=form["CallSid"])
        except RedisError as exc:
            log.warning("call end not recorded (%s)", type(exc).__name__)
    runtime.metrics.calls.labels(
        provider=PROVIDER, status=status if status in ENDED else "other"
    ).inc()
    return PlainTextResponse("OK")
