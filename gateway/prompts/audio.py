"""One audio prompt made ready for a telephone line: checked, mono, 8 kHz, loudness set.

`prepare` takes what a person uploads (WAV, FLAC or OGG, any rate, any number of
channels) or what text-to-speech wrote, and gives back the 16-bit PCM mono WAV the voice
line plays, at 8000 Hz (what a telephone carries), its loudness normalised to
`TARGET_LUFS` (ITU-R BS.1770 as pyloudnorm measures it). A clip too short for that
measurement (under 0.4 s) is peak-normalised instead, and its loudness is kept as None.
Anything that cannot be used raises `AudioProblem`, whose message says what is wrong in
words an uploader can act on.
"""

from __future__ import annotations

import hashlib
import io
import math
from fractions import Fraction

import numpy as np
import pyloudnorm
import soundfile
from numpy.typing import NDArray
from scipy.signal import resample_poly

from storage.voiceprompts import Audio

RATE = 8000
MAX_SECONDS = 30
TARGET_LUFS = -19.0
PEAK = 0.89  # -1 dBFS: the ceiling after normalising, so nothing clips
SILENT_PEAK = 10 ** (-60 / 20)  # quieter than -60 dBFS everywhere is silence
MIN_LOUDNESS_SECONDS = 0.4  # pyloudnorm's gating block: shorter clips cannot be measured

Samples = NDArray[np.float64]


class AudioProblem(ValueError):
    """Audio that cannot be a prompt; the message says why."""


def _read(data: bytes) -> tuple[Samples, int]:
    if not data:
        raise AudioProblem("the file is empty")
    try:
        with soundfile.SoundFile(io.BytesIO(data)) as sound:
            rate = int(sound.samplerate)
            frames = sound.frames
            if rate <= 0:
                raise AudioProblem("the file gives no sample rate")
            if frames > (MAX_SECONDS + 1) * rate:
                raise AudioProblem(
                    f"the recording is too long: {frames / rate:.1f} s, at most {MAX_SECONDS} s"
                )
            samples = sound.read(dtype="float64", always_2d=True)
    except AudioProblem:
        raise
    except (RuntimeError, TypeError, ValueError, OverflowError) as error:  # libsndfile's refusal
        raise AudioProblem(
            "not a WAV, FLAC or OGG audio file (or an unsupported format)"
        ) from error
    return np.asarray(samples, dtype=np.float64), rate


def _resample(mono: Samples, rate: int) -> Samples:
    if rate == RATE:
        return mono
    ratio = Fraction(RATE, rate).limit_denominator(1000)
    out: Samples = resample_poly(mono, ratio.numerator, ratio.denominator)
    return out


def _normalise(mono: Samples) -> tuple[Samples, float | None]:
    loudness: float | None = None
    if len(mono) >= MIN_LOUDNESS_SECONDS * RATE:
        measured = float(pyloudnorm.Meter(RATE).integrated_loudness(mono))
        if math.isfinite(measured):
            mono = mono * 10 ** ((TARGET_LUFS - measured) / 20)
            loudness = TARGET_LUFS
    peak = float(np.max(np.abs(mono)))
    if loudness is None:
        return mono * (PEAK / peak), None
    if peak > PEAK:  # a loud peak in a quiet recording: limit it rather than clip
        mono = mono * (PEAK / peak)
        loudness = float(pyloudnorm.Meter(RATE).integrated_loudness(mono))
    return mono, loudness


def encode(mono: Samples) -> bytes:
    """16-bit PCM mono WAV at `RATE` of samples in [-1, 1]."""
    buffer = io.BytesIO()
    soundfile.write(buffer, np.clip(mono, -1.0, 1.0), RATE, subtype="PCM_16", format="WAV")
    return buffer.getvalue()


def prepare(data: bytes) -> Audio:
    """The prompt `data` becomes (see the module's text); raise AudioProblem when it is not
    audio, empty, longer than `MAX_SECONDS` or silent."""
    found, rate = _read(data)
    if found.size == 0 or len(found) == 0:
        raise AudioProblem("the recording is empty: it holds no sound")
    return from_samples(found.mean(axis=1), rate)


def from_samples(mono: Samples, rate: int) -> Audio:
    """Mono samples in [-1, 1] at `rate` as a prompt; AudioProblem as for `prepare`."""
    if len(mono) == 0:
        raise AudioProblem("the recording is empty: it holds no sound")
    if not np.all(np.isfinite(mono)):
        raise AudioProblem("the recording holds invalid samples")
    seconds = len(mono) / rate
    if seconds > MAX_SECONDS:
        raise AudioProblem(f"the recording is too long: {seconds:.1f} s, at most {MAX_SECONDS} s")
    mono = _resample(mono, rate)
    if len(mono) == 0 or float(np.max(np.abs(mono))) < SILENT_PEAK:
        raise AudioProblem("the recording is silent: nothing can be heard in it")
    mono, loudness = _normalise(mono)
    wav = encode(mono)
    return Audio(
        wav=wav,
        sha256=hashlib.sha256(wav).hexdigest(),
        duration_ms=round(len(mono) * 1000 / RATE),
        loudness_lufs=None if loudness is None else round(loudness, 2),
    )


__all__ = [
    "MAX_SECONDS",
    "RATE",
    "TARGET_LUFS",
    "Audio",
    "AudioProblem",
    "Samples",
    "encode",
    "from_samples",
    "prepare",
]
