"""What the line keeps of its prompts in memory: the audio served (no query once read),
the published prompts (read again only when the stamp says they changed), and the
manifests (kept while the flows, catalogs and place names are the same)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from flows.voice import PromptText
from gateway.prompts.index import AudioCache, PromptIndex
from gateway.prompts.needed import Sources, load_sources
from storage import voiceprompts
from storage.db import utcnow
from storage.models import Location, PromptSource, PromptStatus, VoicePrompt
from storage.places import PlaceTree
from storage.settings import Settings
from tests.voice import prompt_rows

_tts_rows = prompt_rows._tts_rows  # the fixtures, found by pytest here
voice_prompts = prompt_rows.voice_prompts


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    """The queries run on `engine` meanwhile (not counting BEGIN and the like)."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not statement.startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _engine(client: TestClient) -> Engine:
    engine: Engine = client.app.state.runtime.sessions.kw["bind"]  # type: ignore[attr-defined]
    return engine


@pytest.fixture
def prepared(settings: Settings, db: sessionmaker[Session]) -> sessionmaker[Session]:
    from gateway.release import prepare

    prepare(settings)
    return db


def _audio(tag: str) -> voiceprompts.Audio:
    return voiceprompts.Audio(b"RIFF" + tag.encode(), tag[:1] * 64, 900, -19.0)


def _save(
    db: sessionmaker[Session], lang: str, file: str, audio: voiceprompts.Audio, status: str
) -> None:
    with db.begin() as session:
        voiceprompts.save(
            session=session,
            language=lang,
            prompt=PromptText(file, "msg", "text", 0, f"text of {audio.sha256[:1]}"),
            audio=audio,
            source=PromptSource.RECORDED,
            status=status,
            now=utcnow(),
        )


def test_a_prompt_once_served_is_served_again_without_a_query(
    app_client: TestClient, voice_prompts: Callable[..., int]
) -> None:
    voice_prompts(app=app_client.app)
    index: PromptIndex = app_client.app.state.runtime.voice_prompts  # type: ignore[attr-defined]
    file = sorted(index._digests["sw"])[0]
    url = f"/voice/prompts/sw/{file}"
    with statements(_engine(app_client)) as seen:
        first = app_client.get(url)
    assert first.status_code == 200
    assert len(seen) == 1  # read once, then kept
    with statements(_engine(app_client)) as seen:
        again = app_client.get(url)
        not_modified = app_client.get(url, headers={"If-None-Match": first.headers["etag"]})
    assert seen == []
    assert again.status_code == 200
    assert again.content == first.content
    assert again.headers["etag"] == first.headers["etag"] == f'"{index.digest("sw", file)}"'
    assert again.headers["content-type"] == "audio/wav"
    assert not_modified.status_code == 304
    assert index.audio.get(index.digest("sw", file) or "") == first.content


def test_the_audio_kept_is_bounded_in_bytes_dropping_the_least_recently_played() -> None:
    cache = AudioCache(limit=10)
    cache.put("a", b"1234")
    cache.put("b", b"1234")
    assert cache.get("a") == b"1234"  # a is now the most recent
    cache.put("c", b"1234")
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (b"1234", None, b"1234")
    assert cache.size == 8
    cache.put("huge", b"x" * 11)
    assert cache.get("huge") is None
    assert len(cache) == 2


def test_a_refresh_with_nothing_new_runs_one_aggregate_and_reads_no_prompt(
    prepared: sessionmaker[Session], voice_prompts: Callable[..., int]
) -> None:
    voice_prompts()
    index = PromptIndex(sessions=prepared)
    assert index.refresh()
    engine = prepared.kw["bind"]
    with statements(engine) as seen:
        assert not index.refresh()
    assert len(seen) == 1
    assert "sha256" not in seen[0]
    assert "audio" not in seen[0].split("FROM")[0]


def test_every_change_to_what_is_published_is_seen(prepared: sessionmaker[Session]) -> None:
    index = PromptIndex(sessions=prepared)
    index.refresh()
    steps: list[tuple[str, str, str]] = []  # (what was done, file, the sha256 expected)

    def check(what: str, file: str, audio: voiceprompts.Audio) -> None:
        assert index.refresh(), what
        assert index.digest("en", file) == audio.sha256, what
        assert not index.refresh(), what
        steps.append((what, file, audio.sha256))

    _save(prepared, "en", "t-0000000001.wav", _audio("a"), PromptStatus.PUBLISHED)
    check("a new prompt", "t-0000000001.wav", _audio("a"))
    _save(prepared, "en", "t-0000000002.wav", _audio("b"), PromptStatus.PUBLISHED)
    check("another", "t-0000000002.wav", _audio("b"))
    # The newest row replaced: on SQLite a deleted highest id is given again.
    _save(prepared, "en", "t-0000000002.wav", _audio("c"), PromptStatus.PUBLISHED)
    check("the newest replaced", "t-0000000002.wav", _audio("c"))
    _save(prepared, "en", "t-0000000001.wav", _audio("d"), PromptStatus.PUBLISHED)
    check("an older one replaced", "t-0000000001.wav", _audio("d"))
    # A draft uploaded before, published over a prompt (as many published as replaced).
    _save(prepared, "en", "t-0000000001.wav", _audio("e"), PromptStatus.DRAFT)
    assert not index.refresh()  # a draft plays nowhere
    with prepared.begin() as session:
        assert voiceprompts.publish_drafts(
            session=session, language="en", actor="admin", now=utcnow()
        )
    check("a draft published", "t-0000000001.wav", _audio("e"))
    with prepared() as session:
        rows = session.execute(
            select(VoicePrompt.file, VoicePrompt.status, VoicePrompt.sha256).order_by(
                VoicePrompt.file
            )
        ).all()
        assert session.scalar(select(func.count()).select_from(VoicePrompt)) == 2
    assert [tuple(row) for row in rows] == [
        ("t-0000000001.wav", "published", "e" * 64),
        ("t-0000000002.wav", "published", "c" * 64),
    ]
    with prepared() as session:
        kept = voiceprompts.audio(session=session, language="en", file="t-0000000001.wav")
    assert kept == (b"RIFFe", "e" * 64)
    assert len(steps) == 5


def _sources(db: sessionmaker[Session], settings: Settings, sources: Sources) -> Sources:
    """The same flows and catalogs, with the place tree read again."""
    with db() as session:
        return Sources(sources.bundle, sources.catalogs, PlaceTree.load(session))


def test_a_place_tree_read_again_keeps_the_manifest_unless_a_name_changed(
    prepared: sessionmaker[Session], settings: Settings, voice_prompts: Callable[..., int]
) -> None:
    voice_prompts(languages=("en",))
    with prepared() as session:
        sources = load_sources(session, settings)
    index = PromptIndex(sessions=prepared)
    index.refresh(sources=sources)
    manifest = index.manifest("en")
    assert index.cached_manifest("en") is manifest
    same = _sources(prepared, settings, sources)
    assert same.places is not sources.places
    assert not index.refresh(sources=same)
    assert index.manifest("en") is manifest
    with prepared.begin() as session:
        session.execute(
            update(Location)
            .where(Location.code == "cd-nk-walikale-bisie")
            .values(name="Bisie Hill")
        )
    renamed = _sources(prepared, settings, sources)
    assert index.refresh(sources=renamed)
    assert index.cached_manifest("en") is None
    texts = {row["text"] for row in index.manifest("en")["prompts"]}
    assert "Bisie Hill" in texts
    assert "Bisie" not in texts


def test_what_a_language_needs_is_computed_once_per_version_and_language(
    prepared: sessionmaker[Session], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    with prepared() as session:
        sources = load_sources(session, settings)
    index = PromptIndex(sessions=prepared)
    calls: list[str] = []
    computed = Sources.needed

    def counted(self: Sources, lang: str) -> dict[str, PromptText]:
        calls.append(lang)
        return computed(self, lang)

    monkeypatch.setattr(Sources, "needed", counted)
    first = index.needed(sources, "en")
    assert index.needed(sources, "en") is first
    assert index.needed(_sources(prepared, settings, sources), "en") is first
    index.needed(sources, "fr")
    assert calls == ["en", "fr"]
