"""Text-to-speech for the languages espeak-ng speaks (`VOICES`): starter prompts.

The library and its voice data come with the `espeakng-loader` package, so no system
package is needed; it is called through ctypes (the C API of ``speak_lib.h``), once per
process, behind a lock (the library keeps one global state). What it says is 16-bit
samples at its own rate (22050 Hz); `audio.from_samples` makes them a prompt like any
upload (mono, 8 kHz, -19 LUFS, 16-bit PCM WAV).
"""

from __future__ import annotations

import ctypes
import threading
from pathlib import Path
from typing import Any

import numpy as np

from gateway.prompts.audio import Audio, Samples, from_samples

# Language -> espeak-ng voice. Kinyarwanda, Kirundi and Lingala have none: recorded only.
VOICES: dict[str, str] = {"sw": "sw", "fr": "fr", "en": "en"}
WORDS_PER_MINUTE = 150  # a little slower than the library's 175: clearer on a phone line

_OUTPUT_SYNCHRONOUS = 2  # espeak_AUDIO_OUTPUT: synthesise into the callback, then return
_CHARS_UTF8 = 1
_END_PAUSE = 0x1000
_POS_CHARACTER = 1
_RATE = 1  # espeak_PARAMETER espeakRATE
_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


class SynthError(RuntimeError):
    """The library could not be loaded, or would not speak."""


def has_voice(lang: str) -> bool:
    """Tell whether text-to-speech can speak `lang`."""
    return lang in VOICES


class _Engine:
    """The loaded library, its sample rate, and what the callback collects."""

    def __init__(self) -> None:
        try:
            import espeakng_loader
        except ImportError as error:  # pragma: no cover - a dependency of the project
            raise SynthError("the espeakng-loader package is not installed") from error
        library = Path(espeakng_loader.get_library_path())
        data = Path(espeakng_loader.get_data_path())
        try:
            self.lib: Any = ctypes.CDLL(str(library))
        except OSError as error:
            raise SynthError(f"cannot load {library.name}: {error}") from error
        self.lib.espeak_Initialize.argtypes = [
            ctypes.c_int,
            ctypes.c_int,
            ctypes.c_char_p,
            ctypes.c_int,
        ]
        self.lib.espeak_Initialize.restype = ctypes.c_int
        self.lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        self.lib.espeak_SetVoiceByName.restype = ctypes.c_int
        self.lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        self.lib.espeak_SetSynthCallback.argtypes = [_CALLBACK]
        self.lib.espeak_SetSynthCallback.restype = None
        self.lib.espeak_Synth.argtypes = [
            ctypes.c_char_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        self.lib.espeak_Synth.restype = ctypes.c_int
        self.lib.espeak_Synchronize.restype = ctypes.c_int
        rate = self.lib.espeak_Initialize(_OUTPUT_SYNCHRONOUS, 0, str(data.parent).encode(), 0)
        if rate <= 0:
            raise SynthError(f"espeak-ng would not start with the voice data in {data}")
        self.rate = int(rate)
        self.chunks: list[bytes] = []
        self.callback = _CALLBACK(self._collect)  # kept: the library holds only a pointer
        self.lib.espeak_SetSynthCallback(self.callback)
        self.voice: str | None = None

    def _collect(self, wav: Any, count: int, _events: Any) -> int:
        if count > 0 and wav:
            self.chunks.append(ctypes.string_at(wav, count * 2))
        return 0

    def say(self, text: str, voice: str) -> Samples:
        if voice != self.voice:
            if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise SynthError(f"espeak-ng has no voice {voice!r}")
            self.lib.espeak_SetParameter(_RATE, WORDS_PER_MINUTE, 0)
            self.voice = voice
        self.chunks = []
        encoded = text.encode()
        status = self.lib.espeak_Synth(
            encoded, len(encoded) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8 | _END_PAUSE, None, None
        )
        if status != 0:
            raise SynthError(f"espeak-ng refused the text (error {status})")
        self.lib.espeak_Synchronize()
        pcm = np.frombuffer(b"".join(self.chunks), dtype="<i2")
        self.chunks = []
        samples: Samples = pcm.astype(np.float64) / 32768.0
        return samples


_LOCK = threading.Lock()
_ENGINE: _Engine | None = None


def samples(text: str, lang: str) -> tuple[Samples, int]:
    """What espeak-ng says for `text` in `lang`: (mono samples in [-1, 1], sample rate)."""
    global _ENGINE
    voice = VOICES.get(lang)
    if voice is None:
        raise SynthError(f"no text-to-speech voice for {lang!r}")
    with _LOCK:
        if _ENGINE is None:
            _ENGINE = _Engine()
        return _ENGINE.say(text, voice), _ENGINE.rate


def speak(text: str, lang: str) -> Audio:
    """`text` in `lang` as a prompt (16-bit PCM mono WAV at 8 kHz, loudness set)."""
    found, rate = samples(text, lang)
    return from_samples(found, rate)


__all__ = ["VOICES", "SynthError", "has_voice", "samples", "speak"]
