"""A translation uploaded in the console reaches the workers' texts without a restart."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session, sessionmaker

from gateway.messages import STATUS_LIMIT
from storage import translations
from storage.db import make_engine, make_sessionmaker
from storage.settings import Settings
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


def test_a_stored_catalog_with_a_format_spec_is_never_used_for_that_message(
    settings: Settings, sessions: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    """A catalog stored before uploads checked format specs cannot make a text huge: the
    message shows in English, the rest of the catalog is used."""
    live = LiveCatalogs(settings.languages)
    shipped = live.refresh(sessions).translator("fr").gettext(MSGID)
    with sessions.begin() as session:
        po = translations.current_po(session=session, language="fr")
        bad = po.replace(shipped, "Dossier {case:>300000000} pris en charge.")
        bad = bad.replace("Réessayez dans {minutes} min.", "Réessayez dans {minutes!r} min.")
        translations.store(
            session=session, language="fr", po=bad, uploaded_by="ada", now=datetime.now(UTC)
        )
    live._checked = 0.0
    with caplog.at_level(logging.WARNING, logger="storage.translations"):
        fr = live.refresh(sessions).translator("fr")
    assert fr.gettext(MSGID) == MSGID
    started = time.process_time()
    assert fr.gettext(MSGID).format(case="482-177-3506").startswith("Case 482-177-3506 ack")
    assert time.process_time() - started < 0.1
    assert fr.gettext(STATUS_LIMIT) == STATUS_LIMIT
    assert fr.gettext("Back") != "Back"  # the rest of the catalog is in use
    [warning] = [r.getMessage() for r in caplog.records if "not used" in r.getMessage()]
    assert warning.startswith("translations fr: 2 message(s) not used")
    with sessions() as session:
        catalogs = translations.service_catalogs(session=session, languages=settings.languages)
    assert sorted(catalogs.refused("fr")) == sorted([MSGID, STATUS_LIMIT])
