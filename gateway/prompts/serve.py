"""The prompts, served to phones and checkers: no sign-in, cacheable.

``GET /voice/prompts/<language>/<file>`` answers the WAV published in that language's own
folder (a fallback language's audio is named by its own folder: `PromptIndex.where` says
which), with its sha256 as ETag: a phone that already has it gets 304, from the index
alone. The audio itself is read from the database once (in a thread) and then kept in
memory by sha256 (`PromptIndex.audio`, bounded in bytes). A file name is one
of the three shapes the renderer makes (``t-<10 hex>.wav``, ``p-<10 hex>.wav``,
``l-<code>.wav``) and a language one of those enabled; anything else is 404 before any
lookup. ``GET /voice/prompts/<language>/manifest.json`` lists every prompt the language
needs (`PromptIndex.manifest`): what it says, where it comes from, whether it is there;
computed in a thread when the sources or the published prompts changed, else kept.
"""

from __future__ import annotations

import asyncio
import re

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from flows.voice import AUDIO_SUFFIX
from gateway.prompts.index import PromptIndex
from storage import voiceprompts

FILE = re.compile(r"(?:[tp]-[0-9a-f]{10}|l-[a-z]{2,3})" + re.escape(AUDIO_SUFFIX))
LANGUAGE = re.compile(r"[a-z]{2,3}")
MAX_AGE = 600  # a re-recorded prompt keeps its address: phones check back within minutes
CACHE = f"public, max-age={MAX_AGE}"
MANIFEST = "manifest.json"

router = APIRouter(prefix="/voice/prompts", tags=["voice"], include_in_schema=False)


def _not_found() -> Response:
    return Response("not found\n", status_code=404, media_type="text/plain")


def _language(request: Request, language: str) -> str | None:
    if not LANGUAGE.fullmatch(language):
        return None
    return language if language in request.app.state.runtime.settings.languages else None


def _matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return "*" in tags or etag in tags


@router.get("/{language}/manifest.json")
async def manifest(request: Request, language: str) -> Response:
    lang = _language(request, language)
    if lang is None:
        return _not_found()
    index: PromptIndex = request.app.state.runtime.voice_prompts
    found = index.cached_manifest(lang)
    if found is None:
        found = await asyncio.to_thread(index.manifest, lang)
    return JSONResponse(found, headers={"Cache-Control": "no-cache"})


@router.get("/{language}/{file}")
async def prompt(request: Request, language: str, file: str) -> Response:
    lang = _language(request, language)
    if lang is None or not FILE.fullmatch(file):
        return _not_found()
    runtime = request.app.state.runtime
    index: PromptIndex = runtime.voice_prompts
    known = index.digest(lang, file)
    if known is not None:
        headers = {"ETag": f'"{known}"', "Cache-Control": CACHE}
        if _matches(request.headers.get("if-none-match"), f'"{known}"'):
            return Response(status_code=304, headers=headers)
        wav = index.audio.get(known)
        if wav is not None:
            return Response(wav, media_type="audio/wav", headers=headers)

    def read() -> tuple[bytes, str] | None:
        with runtime.sessions() as session:
            return voiceprompts.audio(session=session, language=lang, file=file)

    found = await asyncio.to_thread(read)
    if found is None:
        return _not_found()
    wav, digest = found
    index.audio.put(digest, wav)
    etag = f'"{digest}"'
    headers = {"ETag": etag, "Cache-Control": CACHE}
    if _matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return Response(wav, media_type="audio/wav", headers=headers)


__all__ = ["router"]
