"""A translation uploaded in the console reaches the workers' texts without a restart."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session, sessionmaker

from gateway.settings import Settings
from storage import translations
from storage.db import make_engine, make_sessionmaker
from workers.context import LiveCatalogs

MSGID = "Case {case} acknowledged. The reporter sees it in the status."


@pytest.fixture
def sessions(settings: Settings) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(settings.db_url)
    yield make_sessionmaker(engine)
    engine.dispose()


def test_an_upload_replaces_the_shipped_text_at_the_next_check(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    live = LiveCatalogs(settings.languages)
    shipped = live.refresh(sessions).translator("fr").gettext(MSGID)
    assert shipped != MSGID
    with sessions.begin() as session:
        po = translations.current_po(session=session, language="fr")
        assert shipped.replace('"', '\\"') in po
        changed = po.replace(shipped, "Dossier {case} pris en charge.")
        translations.store(
            session=session, language="fr", po=changed, uploaded_by="ada", now=datetime.now(UTC)
        )
    # Within the check interval the catalogs in use stay as they were ...
    assert live.refresh(sessions).translator("fr").gettext(MSGID) == shipped
    # ... and at the next check the upload is in use.
    live._checked = 0.0
    assert (
        live.refresh(sessions).translator("fr").gettext(MSGID) == "Dossier {case} pris en charge."
    )
    assert live.refresh(sessions).translator("sw").gettext(MSGID) != MSGID
