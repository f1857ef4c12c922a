"""Voice prompts for tests without text-to-speech in every test.

`_tts_rows` builds the prompts of sw, fr and en once per test session (the shipped flows,
the demo places), into a database of its own, and keeps the rows; `voice_prompts` copies
them into the test's database (a bulk insert: milliseconds) and refreshes the index of a
running app when there is one. Import the fixtures into a test module (or a conftest).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from gateway.prompts.build import build
from gateway.release import prepare
from storage.db import make_engine, make_sessionmaker
from storage.models import VoicePrompt
from storage.settings import Settings

TTS_LANGUAGES = ("sw", "fr", "en")
COLUMNS = [c.name for c in VoicePrompt.__table__.columns if c.name != "id"]

Rows = list[dict[str, Any]]


@pytest.fixture(scope="session")
def _tts_rows(tmp_path_factory: pytest.TempPathFactory) -> Rows:
    folder = tmp_path_factory.mktemp("voice-template")
    settings = Settings(
        sauti_var_dir=folder / "var",
        database_url=f"sqlite:///{folder / 'prompts.db'}",
        sauti_pseudonym_key="voice-template-pseudonym-key-0123456789",
        sauti_encryption_key="n3ZQzJ6yQ0m2w2rWm9y0cU6f2m5V4k8xS1vJt7cY0aQ=",
    )
    prepare(settings)
    engine = make_engine(settings.db_url)
    sessions = make_sessionmaker(engine)
    build(sessions, settings, TTS_LANGUAGES)
    with sessions() as session:
        rows = [
            {name: getattr(row, name) for name in COLUMNS}
            for row in session.scalars(select(VoicePrompt))
        ]
    engine.dispose()
    return rows


def copy_rows(sessions: sessionmaker[Session], rows: Rows, **changes: Any) -> int:
    """Insert `rows` (each with `changes` applied) into the database of `sessions`."""
    if not rows:
        return 0
    with sessions.begin() as session:
        session.execute(insert(VoicePrompt), [{**row, **changes} for row in rows])
    return len(rows)


@pytest.fixture
def voice_prompts(settings: Settings, _tts_rows: Rows) -> Callable[..., int]:
    """Call it to publish the sw, fr and en text-to-speech prompts in the test database
    (`languages=` to choose; `as_language=` to file one language's rows under another)."""

    def publish(
        languages: tuple[str, ...] = TTS_LANGUAGES,
        as_language: str | None = None,
        app: Any = None,
    ) -> int:
        engine = make_engine(settings.db_url)
        try:
            rows = [row for row in _tts_rows if row["language"] in languages]
            changes = {"language": as_language} if as_language else {}
            count = copy_rows(make_sessionmaker(engine), rows, **changes)
        finally:
            engine.dispose()
        if app is not None:
            app.state.runtime.refresh_prompts()
        return count

    return publish
