"""The prompts of each language: built, kept, served, listed, counted, and what publishing
a flow asks of them."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from flows.loader import load_bundle, shipped_texts
from flows.voice import PromptText
from gateway import cli
from gateway.prompts import publishing, synth
from gateway.prompts.build import SHEET, build, kit_folder
from gateway.prompts.index import PromptIndex
from gateway.prompts.needed import Sources, load_sources
from storage import voiceprompts
from storage.db import utcnow
from storage.models import PromptSource, PromptStatus, VoicePrompt
from storage.settings import Settings
from tests.voice import prompt_rows

_tts_rows = prompt_rows._tts_rows  # the fixtures, found by pytest here
voice_prompts = prompt_rows.voice_prompts
RECORDING = voiceprompts.Audio(b"RIFF-recorded", "r" * 64, 1200, -19.0)


@pytest.fixture
def prepared(settings: Settings, db: sessionmaker[Session]) -> sessionmaker[Session]:
    from gateway.release import prepare

    prepare(settings)
    return db


def _sources(db: sessionmaker[Session], settings: Settings) -> Sources:
    with db() as session:
        return load_sources(session, settings)


def _published(db: sessionmaker[Session], lang: str) -> dict[str, voiceprompts.Stored]:
    with db() as session:
        return voiceprompts.stored(session=session, language=lang)


def test_build_writes_every_prompt_and_a_kit_for_the_rest(
    prepared: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    found = {built.language: built for built in build(prepared, settings, kit=tmp_path / "kit")}
    sources = _sources(prepared, settings)
    for lang in ("sw", "fr", "en"):
        needed = sources.needed(lang)
        have = _published(prepared, lang)
        assert set(have) == set(needed)
        assert all(have[f].text == p.text and have[f].source == "tts" for f, p in needed.items())
        assert found[lang].built == len(needed) > 100
        assert found[lang].kit is None
    for lang in ("rw", "rn", "ln"):
        needed = sources.needed(lang)
        assert found[lang].kit == tmp_path / "kit" / lang
        with (tmp_path / "kit" / lang / SHEET).open(encoding="utf-8") as sheet:
            rows = list(csv.DictReader(sheet))
        assert len(rows) == len(needed)
        assert {row["file"]: row["text"] for row in rows} == {f: p.text for f, p in needed.items()}
        assert {row["status"] for row in rows} == {"missing"}
        readme = (tmp_path / "kit" / lang / "README.txt").read_text(encoding="utf-8")
        assert "How to record" in readme
        assert "How to upload" in readme
        assert not _published(prepared, lang)
    assert kit_folder(settings, "rw") == settings.var_dir / "voice-kit" / "rw"


def test_rebuild_changes_nothing_and_never_replaces_a_recording(
    prepared: sessionmaker[Session], settings: Settings
) -> None:
    build(prepared, settings, ["sw"])
    before = _published(prepared, "sw")
    again = build(prepared, settings, ["sw"])
    assert (again[0].built, again[0].kept) == (0, len(before))
    assert _published(prepared, "sw") == before
    file = sorted(before)[0]
    with prepared.begin() as session:  # a person's recording, and a translation changed
        row = session.scalar(select(VoicePrompt).where(VoicePrompt.file == file))
        assert row is not None
        prompt = PromptText(file, row.message_id, row.context, row.part, row.text)
        voiceprompts.save(
            session=session,
            language="sw",
            prompt=prompt,
            audio=RECORDING,
            source=PromptSource.RECORDED,
            status=PromptStatus.PUBLISHED,
            now=utcnow(),
        )
        stale = sorted(before)[1]
        session.execute(
            update(VoicePrompt).where(VoicePrompt.file == stale).values(text="an older text")
        )
    rebuilt = build(prepared, settings, ["sw"], force=False)[0]
    assert (rebuilt.built, rebuilt.recorded) == (1, 1)  # only the stale one
    after = _published(prepared, "sw")
    assert after[file].source == "recorded"
    assert after[file].sha256 == RECORDING.sha256
    assert after[stale].text == before[stale].text
    forced = build(prepared, settings, ["sw"], force=True)[0]
    assert forced.built == len(before) - 1
    assert _published(prepared, "sw")[file].sha256 == RECORDING.sha256


def test_serve_answers_the_wav_with_its_etag_and_304(
    app_client: TestClient, voice_prompts: Callable[..., int]
) -> None:
    assert voice_prompts(app=app_client.app) > 300
    manifest = app_client.get("/voice/prompts/sw/manifest.json")
    assert manifest.status_code == 200
    first = manifest.json()["prompts"][0]
    url = f"/voice/prompts/sw/{first['file']}"
    response = app_client.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"] == "audio/wav"
    assert response.content[:4] == b"RIFF"
    assert response.headers["etag"] == f'"{first["sha256"]}"'
    assert "public" in response.headers["cache-control"]
    again = app_client.get(url, headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304
    assert not again.content
    other = app_client.get(url, headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200


def test_manifest_lists_every_needed_file_with_its_text(
    app_client: TestClient, voice_prompts: Callable[..., int], settings: Settings
) -> None:
    voice_prompts(app=app_client.app)
    runtime = app_client.app.state.runtime
    sources = Sources(runtime.bundle, runtime.catalogs, runtime.places)
    for lang in ("sw", "fr", "en", "rw"):
        body = app_client.get(f"/voice/prompts/{lang}/manifest.json").json()
        needed = sources.needed(lang)
        listed = {row["file"]: row for row in body["prompts"]}
        assert set(listed) == set(needed)
        for file, prompt in needed.items():
            row = listed[file]
            assert (row["message_id"], row["context"], row["part"], row["text"]) == (
                prompt.message_id,
                prompt.context,
                prompt.part,
                prompt.text,
            )
        if lang == "rw":
            assert {row["status"] for row in listed.values()} == {"missing"}
            assert body["coverage"]["unplayable"] == len(needed)
        else:
            assert {row["status"] for row in listed.values()} == {"present"}
            assert all(row["tts"] and row["source"] == "tts" for row in listed.values())
            assert body["coverage"]["tts"] == len(needed)


@pytest.mark.parametrize(
    "path",
    [
        "/voice/prompts/xx/t-0123456789.wav",
        "/voice/prompts/sw/t-0123456789.wav",
        "/voice/prompts/sw/..%2F..%2Fsauti.db",
        "/voice/prompts/sw/../../etc/passwd",
        "/voice/prompts/..%2Fsw/t-0123456789.wav",
        "/voice/prompts/sw/t-0123456789.wav%00",
        "/voice/prompts/sw/T-0123456789.WAV",
        "/voice/prompts/sw/p-" + "a" * 300 + ".wav",
        "/voice/prompts/SW/manifest.json",
        "/voice/prompts/xx/manifest.json",
        "/voice/prompts/%C3%A9/l-sw.wav",
        "/voice/prompts/sw/l-.wav",
    ],
)
def test_unknown_or_crafted_addresses_are_404(
    app_client: TestClient, voice_prompts: Callable[..., int], path: str
) -> None:
    voice_prompts(app=app_client.app)
    assert app_client.get(path).status_code == 404


def test_the_fallback_language_plays_what_a_language_lacks(
    prepared: sessionmaker[Session], settings: Settings, voice_prompts: Callable[..., int]
) -> None:
    voice_prompts(languages=("en",))
    fallback = Settings(sauti_voice_fallback="rw=en").voice_fallback
    assert fallback == {"rw": "en"}
    sources = _sources(prepared, settings)
    plain, helped = PromptIndex(), PromptIndex(fallback)
    with prepared() as session:
        assert plain.refresh(session, sources)
        assert helped.refresh(session, sources)
        assert not helped.refresh(session, sources)  # nothing changed since
    file = sorted(sources.needed("en"))[0]
    assert helped.where("en", file) == "en"
    assert helped.where("rw", file) == "en"
    assert plain.where("rw", file) is None
    assert helped.where("sw", file) is None  # no fallback named for sw
    assert helped.where("rw", "t-0000000000.wav") is None
    statuses = {row["status"] for row in helped.manifest("rw")["prompts"]}
    assert statuses <= {"fallback:en", "missing"}
    assert "fallback:en" in statuses
    assert [
        row["file"] for row in helped.manifest("rw")["prompts"] if row["status"] == "missing"
    ] == [
        "l-rw.wav"  # its own name, said in itself, no other language has
    ]


def test_voice_lint_fails_while_a_voice_language_has_unplayable_prompts(
    run_cli: CliRunner, voice_prompts: Callable[..., int], monkeypatch: pytest.MonkeyPatch
) -> None:
    failed = run_cli.invoke(cli.main, ["voice", "lint"])
    assert failed.exit_code == 1
    assert "sw: 0/" in failed.output
    assert "cannot be played: sw" in failed.output
    voice_prompts()
    passed = run_cli.invoke(cli.main, ["voice", "lint"])
    assert passed.exit_code == 0, passed.output
    assert [line.split(":")[0] for line in passed.output.splitlines()] == ["sw", "fr", "en"]
    assert ", 0 missing" in passed.output
    monkeypatch.setenv("SAUTI_VOICE_LANGUAGES", "sw,rw")
    assert run_cli.invoke(cli.main, ["voice", "lint"]).exit_code == 1
    monkeypatch.setenv("SAUTI_VOICE_LANGUAGES", "")
    assert run_cli.invoke(cli.main, ["voice", "lint"]).exit_code == 0
    linted = run_cli.invoke(cli.main, ["flows", "lint", "--languages", "en"])
    assert "voice prompts" not in linted.output
    monkeypatch.setenv("SAUTI_VOICE_LANGUAGES", "sw,fr,en")
    linted = run_cli.invoke(cli.main, ["flows", "lint", "--languages", "en"])
    assert "voice prompts:\n  sw: " in linted.output, linted.output


def _changed_flows() -> dict[str, str]:
    texts = dict(shipped_texts()[0])
    old = "Press the 10 digits of your case number, then the hash key."
    assert old in texts["status"]
    texts["status"] = texts["status"].replace(old, "Press the ten digits, then the hash key.")
    return texts


def test_publishing_synthesises_what_it_can_and_refuses_a_language_left_worse(
    prepared: sessionmaker[Session], settings: Settings, voice_prompts: Callable[..., int]
) -> None:
    voice_prompts()
    voice_prompts(languages=("en",), as_language="rw")  # rw fully "recorded" (en audio)
    with prepared.begin() as session:
        session.execute(
            update(VoicePrompt).where(VoicePrompt.language == "rw").values(source="recorded")
        )
    new = load_bundle(_changed_flows())
    offered = settings.model_copy(update={"sauti_voice_languages": "sw,fr,en,rw"})
    with prepared.begin() as session:
        current = load_sources(session, offered)
        short = publishing.check(session, offered, current, new)
        assert [(s.language, s.new_unplayable) for s in short] == [("rw", 1)]
        message = publishing.refusal(short)
        assert "rw: 1 prompt(s)" in message
        added = set(Sources(new, current.catalogs, current.places).needed("sw")) - set(
            current.needed("sw")
        )
        assert len(added) == 1
        for lang in ("sw", "fr", "en"):  # synthesised already
            assert added <= set(voiceprompts.stored(session=session, language=lang))
    helped = offered.model_copy(update={"sauti_voice_fallback": "rw=en"})
    with prepared.begin() as session:
        assert publishing.check(session, helped, load_sources(session, helped), new) == []
    unvoiced = settings.model_copy(update={"sauti_voice_languages": ""})
    with prepared.begin() as session:
        assert publishing.check(session, unvoiced, load_sources(session, unvoiced), new) == []


def test_flows_publish_is_refused_naming_the_language_and_count(
    run_cli: CliRunner,
    voice_prompts: Callable[..., int],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    voice_prompts(languages=("en",), as_language="rw")
    status = tmp_path / "status.yaml"
    status.write_text(_changed_flows()["status"], encoding="utf-8")
    monkeypatch.setenv("SAUTI_VOICE_LANGUAGES", "rw")
    refused = run_cli.invoke(cli.main, ["flows", "publish", str(status)])
    assert refused.exit_code == 1
    assert "not published" in refused.output
    assert "rw: 1 prompt(s)" in refused.output
    monkeypatch.setenv("SAUTI_VOICE_LANGUAGES", "")
    published = run_cli.invoke(cli.main, ["flows", "publish", str(status)])
    assert published.exit_code == 0, published.output
    assert synth.has_voice("sw")
