"""What the voice providers share: a call's turns, the keys pressed, one hop of the
conversation, and the prompts' addresses. Each provider writes its own XML around it
(`twilio/voice.py`: TwiML, `africastalking/voice.py`: AT's voice XML).

A call is a conversation like an SMS one (one input a hop), kept under the call's id. Every
answer names the turn that comes next in the address the provider posts back to
(``?t=3``), so a provider's retry of the same request is the same hop, answered from the
session store, with no second effect. When nothing is pressed the provider follows the
answer's fallback address (``?t=3&q=1``, silences in a row); past `SAUTI_VOICE_SILENCES`
the caller hears goodbye, and their unfinished report stays for the next call (by
pseudonym, as on USSD). The language just spoken travels too (``&l=sw``), so the goodbye
and the apology are said in it without reading the session.

No phone number leaves the edge: the caller's number becomes a pseudonym here (a caller
whose number is withheld gets one of the call alone, sharing nothing with anybody), and
travels on only as `InboundMessage.contact`, for the SMS news a caller may ask for.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from flows.engine import Bundle
from flows.voice import AUDIO_SUFFIX, FINAL, PAUSE, SPOKEN_PREFIX, Speech, text_stem, voice_text
from gateway.channels.host import PromptFiles, Replier, Services
from gateway.inbound import Channel, InboundMessage, SessionEvent
from storage import recordings
from storage.db import utcnow
from workers.recordings import enqueue_fetch

log = logging.getLogger(__name__)

MAX_TURN = 10_000
_KEYS = re.compile(r"[0-9*#]{0,64}")
_LANG = re.compile(r"[a-z]{2,3}")
ENDED_GRACE = 120  # seconds a call's session outlives the call
REFUSED_KEYS = "?"  # what a key press that no phone sends is fed as: a wrong choice


@dataclass(frozen=True, slots=True)
class Turn:
    """Where a request stands in its call: the turn it answers, the silences in a row that
    led to it, the language last spoken, and whether it brings a spoken answer."""

    number: int = 0
    silences: int = 0
    lang: str | None = None
    spoken: bool = False


def _count(value: str | None) -> int:
    return int(value) if value and value.isdigit() and len(value) < 6 else 0


def read_turn(request: Request) -> Turn:
    """The turn a provider's request names in its address (nonsense reads as turn 0)."""
    query = request.query_params
    lang = query.get("l") or ""
    return Turn(
        number=min(_count(query.get("t")), MAX_TURN),
        silences=min(_count(query.get("q")), 99),
        lang=lang if _LANG.fullmatch(lang) else None,
        spoken=query.get("r") == "1",
    )


def turn_query(
    token: str | None, turn: int, lang: str, *, silences: int = 0, spoken: bool = False
) -> str:
    """The query of the address the provider posts the next turn to."""
    pairs: list[tuple[str, str]] = []
    if token:
        pairs.append(("token", token))
    pairs += [("t", str(turn)), ("l", lang)]
    if silences:
        pairs.append(("q", str(silences)))
    if spoken:
        pairs.append(("r", "1"))
    return urlencode(pairs)


def keys(raw: str) -> str:
    """The keys pressed, as the engine takes them: digits, ``*``; the hash key that ended
    the input dropped; anything no keypad sends becomes a wrong choice."""
    cleaned = raw.strip()
    if not _KEYS.fullmatch(cleaned):
        return REFUSED_KEYS
    return cleaned.rstrip("#") if cleaned != "#" else ""


def caller(
    runtime: Services, number: str, call_id: str, region: str | None
) -> tuple[str, str | None, str | None]:
    """(pseudonym, region, contact) of the caller: a number's pseudonym, or for a caller
    whose number is withheld one of this call alone (no contact to send news to)."""
    digits = sum(char.isdigit() for char in number)
    if digits < 7:  # withheld (each provider says which numbers are): "" here
        return runtime.crypto.pseudonym(f"withheld-call|{call_id}"), None, None
    pseudonym, found = runtime.pseudonyms(number, region)
    return pseudonym, found, number


def call_key(runtime: Services, provider: str, call_id: str) -> str:
    """A call's name in the session store: keyed like a pseudonym, so the provider's call
    log (which names the number beside the call id) does not lead to it."""
    return runtime.crypto.pseudonym(f"call|{provider}|{call_id}")[:32]


def session_key(runtime: Services, provider: str, call_id: str) -> str:
    return f"voice:{call_key(runtime, provider, call_id)}"


async def ended(runtime: Services, *, provider: str, call_id: str) -> None:
    """The call is over: its session goes within `ENDED_GRACE` seconds, time for a spoken
    answer the provider posts after the hang-up to be taken (an unfinished report stays
    the caller's draft, by pseudonym, for the next call)."""
    await runtime.store.expire_soon(session_key(runtime, provider, call_id), ENDED_GRACE)


def call_message(
    runtime: Services,
    *,
    provider: str,
    call_id: str,
    number: str,
    turn: Turn,
    pressed: str | None,
    region: str | None = None,
) -> InboundMessage:
    """The hop of one request: no input on the call's first, ``""`` for silence (or the
    hash key alone), a kept recording's spoken answer (`keep_recording`) on a turn that
    brings one, else the keys pressed."""
    pseudonym, found, contact = caller(runtime, number, call_id, region)
    call = call_key(runtime, provider, call_id)
    if turn.number == 0 and not pressed:
        inputs: tuple[str, ...] = ()
    elif turn.spoken and pressed and pressed.startswith(SPOKEN_PREFIX):
        inputs = (pressed,)
    else:
        inputs = (keys(pressed or ""),)
    return InboundMessage(
        channel=Channel.VOICE,
        provider=provider,
        event=SessionEvent.NEW if not inputs else SessionEvent.RESUME,
        session_key=session_key(runtime, provider, call_id),
        pseudonym=pseudonym,
        region=found,
        inputs=inputs,
        message_id=f"{call}:{turn.number}:{turn.silences}:{int(turn.spoken)}",
        contact=contact,
        network_region=region,
    )


def fixed_speech(bundle: Bundle, lang: str, role: str) -> Speech:
    """A final spoken screen of one voice text with no placeholder (the apology, goodbye
    after silence): its prompt is named by the text the published flows give it."""
    return Speech(lang, FINAL, (text_stem(voice_text(bundle, role), 0),))


async def answer(
    runtime: Services,
    conversation: Replier,
    msg: InboundMessage,
    turn: Turn,
) -> Speech:
    """The spoken answer to one request: goodbye past the silences allowed, else the
    conversation's next screen; an apology when the service fails (the caller's report,
    if any, stays as their draft)."""
    settings = runtime.settings
    lang = turn.lang or settings.sauti_default_language
    if turn.silences > settings.sauti_voice_silences:
        return fixed_speech(runtime.bundle, lang, "voice.silent")
    started = time.perf_counter()
    try:
        screen = await conversation.hop(msg)
        speech = Speech.parse(screen.text)
    except Exception:
        log.exception("voice hop failed")
        runtime.metrics.errors.labels(where="voice").inc()
        return fixed_speech(runtime.bundle, lang, "voice.unavailable")
    runtime.metrics.hops.labels(channel="voice", provider=msg.provider).inc()
    runtime.metrics.hop_seconds.labels(channel="voice").observe(time.perf_counter() - started)
    return speech


@dataclass(frozen=True, slots=True)
class Spoken:
    """One spoken answer as a provider's XML is written from it: the screen, its prompts'
    addresses (None: a pause), where the provider posts back, and the waits."""

    speech: Speech
    urls: Sequence[str | None]
    base_url: str
    turn: Turn
    timeout: int
    record_seconds: int


async def spoken(
    runtime: Services, conversation: Replier, msg: InboundMessage, turn: Turn
) -> Spoken:
    """The next spoken screen of a call with its prompts' addresses (`answer`)."""
    speech = await answer(runtime, conversation, msg, turn)
    settings = runtime.settings
    base = settings.sauti_public_url
    return Spoken(
        speech=speech,
        urls=prompt_urls(base, speech, runtime.voice_prompts),
        base_url=base,
        turn=turn,
        timeout=settings.sauti_voice_timeout,
        record_seconds=settings.sauti_voice_record_seconds,
    )


def xml_response(root: ET.Element, media_type: str) -> Response:
    """An XML document as the provider takes it."""
    body = ET.tostring(root, encoding="unicode", short_empty_elements=True)
    return Response('<?xml version="1.0" encoding="UTF-8"?>' + body, media_type=media_type)


def prompt_urls(base_url: str, speech: Speech, files: PromptFiles | None) -> list[str | None]:
    """The address of each prompt in order (None for a pause); a prompt no language folder
    has is left out, and the answer's missing prompts logged once, by file name."""
    base = base_url.rstrip("/")
    urls: list[str | None] = []
    missing: list[str] = []
    for prompt in speech.prompts:
        if prompt == PAUSE:
            urls.append(None)
            continue
        lang, _, stem = prompt.rpartition("/")
        lang = lang or speech.lang
        file = stem + AUDIO_SUFFIX
        folder = files.where(lang, file) if files is not None else lang
        if folder is None:
            missing.append(f"{lang}/{file}")
            continue
        urls.append(f"{base}/voice/prompts/{folder}/{file}")
    if missing:
        log.warning("%d voice prompt(s) missing, left out: %s", len(missing), " ".join(missing[:5]))
    return urls


def plays(urls: Sequence[str | None]) -> list[str]:
    """The addresses alone, without pauses (for XML that has no pause)."""
    return [url for url in urls if url is not None]


def _accept(
    session: Session,
    runtime: Services,
    provider: str,
    provider_id: str | None,
    url: str,
    duration_seconds: int | None,
    owner: str,
) -> str:
    ref = recordings.accept(
        session=session,
        crypto=runtime.crypto,
        provider=provider,
        provider_id=provider_id,
        url=url,
        duration_seconds=duration_seconds,
        now=utcnow(),
        owner=owner,
    )
    session.commit()
    return ref


def _accepted(
    runtime: Services,
    provider: str,
    provider_id: str | None,
    url: str,
    duration_seconds: int | None,
    owner: str,
) -> str:
    with runtime.sessions() as session:
        return _accept(session, runtime, provider, provider_id, url, duration_seconds, owner)


async def keep_recording(
    runtime: Services,
    *,
    provider: str,
    provider_id: str | None,
    url: str,
    duration_seconds: int | None,
    owner: str,
) -> str | None:
    """The spoken answer a finished recording gives the flows (``[spoken answer <ref>]``),
    the recording kept pending and its fetch enqueued; None for a recording that is not
    one the provider makes (read as silence: the question is asked again)."""
    try:
        ref = await runtime.db(
            _accepted, runtime, provider, provider_id, url, duration_seconds, owner
        )
    except recordings.InvalidRecording as exc:
        log.warning("recording refused: %s", exc)
        runtime.metrics.refused.labels(reason="recording").inc()
        return None
    except SQLAlchemyError as exc:  # the question is asked again; the call goes on
        log.warning("recording not kept (%s)", type(exc).__name__)
        runtime.metrics.errors.labels(where="recording").inc()
        return None
    await asyncio.to_thread(enqueue_fetch, ref, connection=runtime.redis)
    return recordings.spoken_text(ref)
