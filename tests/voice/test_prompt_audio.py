"""Prompts made ready for the line: text-to-speech in sw, fr and en, and uploads checked,
made mono at 8 kHz and normalised to -19 LUFS."""

from __future__ import annotations

import io

import numpy as np
import pyloudnorm
import pytest
import soundfile

from gateway.prompts import synth
from gateway.prompts.audio import MAX_SECONDS, RATE, TARGET_LUFS, AudioProblem, prepare


def _wav_info(data: bytes) -> tuple[np.ndarray, int, str, int]:
    info = soundfile.info(io.BytesIO(data))
    samples, rate = soundfile.read(io.BytesIO(data))
    return samples, rate, info.subtype, info.channels


@pytest.mark.parametrize(
    ("lang", "text"),
    [("sw", "Karibu Sauti."), ("fr", "Bienvenue sur Sauti."), ("en", "Welcome to Sauti.")],
)
def test_synth_speaks_each_language_as_a_telephone_wav(lang: str, text: str) -> None:
    audio = synth.speak(text, lang)
    samples, rate, subtype, channels = _wav_info(audio.wav)
    assert (rate, subtype, channels) == (RATE, "PCM_16", 1)
    assert 500 < audio.duration_ms < 5000
    assert audio.duration_ms == round(len(samples) * 1000 / RATE)
    assert np.max(np.abs(samples)) > 0.1
    assert audio.loudness_lufs is not None
    # Peaks are capped at -1 dBFS, which can leave a short synthesised clip a little under
    # the target (espeak-ng's output differs slightly from run to run).
    assert TARGET_LUFS - 1.5 <= audio.loudness_lufs <= TARGET_LUFS + 1


def test_synth_has_no_voice_for_kinyarwanda_kirundi_lingala() -> None:
    assert [lang for lang in ("sw", "fr", "en", "rw", "rn", "ln") if synth.has_voice(lang)] == [
        "sw",
        "fr",
        "en",
    ]
    with pytest.raises(synth.SynthError, match="no text-to-speech voice"):
        synth.speak("Murakaza neza", "rw")


def _encoded(samples: np.ndarray, rate: int, fmt: str) -> bytes:
    out = io.BytesIO()
    soundfile.write(out, samples, rate, format=fmt)
    return out.getvalue()


@pytest.mark.parametrize("fmt", ["WAV", "FLAC", "OGG"])
@pytest.mark.parametrize("gain", [0.01, 0.5])
def test_prepare_makes_mono_8khz_at_minus_19_lufs(fmt: str, gain: float) -> None:
    t = np.arange(44100 * 3) / 44100
    stereo = np.stack([np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 220 * t)], axis=1) * gain
    audio = prepare(_encoded(stereo, 44100, fmt))
    samples, rate, subtype, channels = _wav_info(audio.wav)
    assert (rate, subtype, channels) == (8000, "PCM_16", 1)
    measured = pyloudnorm.Meter(rate).integrated_loudness(samples)
    assert abs(measured - TARGET_LUFS) <= 1
    assert audio.loudness_lufs is not None
    assert abs(audio.loudness_lufs - TARGET_LUFS) <= 1
    assert abs(audio.duration_ms - 3000) <= 2
    assert len(audio.sha256) == 64


def test_a_clip_too_short_to_measure_is_peak_normalised() -> None:
    short = 0.1 * np.sin(2 * np.pi * 440 * np.arange(1600) / 16000)  # 0.1 s
    audio = prepare(_encoded(short, 16000, "WAV"))
    samples, _rate, _, _ = _wav_info(audio.wav)
    assert audio.loudness_lufs is None
    assert 0.8 < np.max(np.abs(samples)) <= 0.9
    assert audio.duration_ms == 100


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "empty"),
        (b"this is not audio at all" * 20, "not a WAV, FLAC or OGG"),
        (_encoded(np.zeros((0, 1)), 8000, "WAV"), "empty"),
        (_encoded(np.zeros(8000), 8000, "WAV"), "silent"),
        (_encoded(np.full(8000 * (MAX_SECONDS + 5), 0.1), 8000, "WAV"), "too long"),
    ],
)
def test_prepare_refuses_what_cannot_be_a_prompt(data: bytes, words: str) -> None:
    with pytest.raises(AudioProblem, match=words):
        prepare(data)
