"""Translation catalogs uploaded from the console or the API.

An upload is kept whole (the .po text as sent, translator comments included) in
`translation_catalogs`; the newest row of a language replaces the catalog shipped in
flows/locales. The database, not the disk, holds them because the service runs as several
web and worker processes, possibly on several machines: each compares `stamp()` (the newest
row's id) on its periodic refresh and reloads the catalogs when it moved, so an upload is
in use everywhere within one refresh, without a redeploy.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterable, Sequence
from datetime import datetime

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from flows.i18n import Catalogs, catalog_messages, catalog_path, template
from storage.models.flows import TranslationCatalog

log = logging.getLogger(__name__)


def stamp(*, session: Session) -> int | None:
    """Return the id of the newest upload (a cheap check before reloading catalogs)."""
    return session.scalar(select(func.max(TranslationCatalog.id)))


def latest(*, session: Session) -> dict[str, TranslationCatalog]:
    """Return the newest upload of each language."""
    newest = (
        select(func.max(TranslationCatalog.id)).group_by(TranslationCatalog.language).subquery()
    )
    rows = session.scalars(
        select(TranslationCatalog).where(TranslationCatalog.id.in_(select(newest)))
    )
    return {row.language: row for row in rows}


def uploads(*, session: Session, language: str, limit: int = 20) -> Sequence[TranslationCatalog]:
    """Return the uploads of a language, newest first."""
    query = (
        select(TranslationCatalog)
        .where(TranslationCatalog.language == language)
        .order_by(TranslationCatalog.id.desc())
        .limit(limit)
    )
    return session.scalars(query).all()


def store(
    *, session: Session, language: str, po: str, uploaded_by: str, now: datetime
) -> TranslationCatalog:
    """Keep an upload; from now on it is the catalog of `language`."""
    row = TranslationCatalog(language=language, po=po, uploaded_by=uploaded_by, uploaded_at=now)
    session.add(row)
    session.flush()
    return row


def parse_po(text: str) -> Catalog:
    """Parse a .po text; babel's errors (and ValueError) tell what is wrong."""
    return read_po(io.BytesIO(text.encode("utf-8")), abort_invalid=True)


def service_catalogs(*, session: Session, languages: Iterable[str]) -> Catalogs:
    """The catalogs the service uses: the shipped files, each replaced by its newest upload.

    A translation whose placeholders its msgid does not have exactly (a catalog stored
    before the upload checked format specs, or written to the table by hand) is not used:
    English is shown there, and a warning names it at each load.
    """
    wanted = list(languages)
    uploaded = latest(session=session)
    base = Catalogs.load([*wanted, *uploaded])
    found = base.replaced(
        {lang: catalog_messages(parse_po(row.po)) for lang, row in uploaded.items()}
    )
    for lang in dict.fromkeys([*wanted, *uploaded]):
        refused = found.refused(lang)
        if refused:
            log.warning(
                "translations %s: %d message(s) not used, their placeholders differ from "
                "the msgid's (English shown instead): %s",
                lang,
                len(refused),
                "; ".join(repr(msgid[:60]) for msgid in refused[:5]),
            )
    return found


def current_po(*, session: Session, language: str) -> str:
    """The .po text of a language as the service uses it: its newest upload, else the
    shipped file, else an empty catalog of every message to translate."""
    row = latest(session=session).get(language)
    if row is not None:
        return row.po
    path = catalog_path(language)
    if path.is_file():
        return path.read_text(encoding="utf-8")
    catalog = template()
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=100)
    return buffer.getvalue().decode("utf-8")
