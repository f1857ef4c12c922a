"""The release step: migrations, then demo data and the shipped flows into an empty database.

`sauti run`, `sauti simulate` and the tests prepare a database this way; `sauti db upgrade`
(the Procfile's release) only migrates.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click

from storage.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker


@contextlib.contextmanager
def database(settings: Settings) -> Iterator[sessionmaker[Session]]:
    """Sessions on DATABASE_URL for one command; the connections are closed after."""
    from storage.db import make_engine, make_sessionmaker

    engine = make_engine(settings.db_url)
    try:
        yield make_sessionmaker(engine)
    finally:
        engine.dispose()


def prepare(settings: Settings) -> None:
    """Migrate, then load demo places, demo committees and the shipped flows into an empty
    database."""
    from flows.loader import shipped_texts
    from storage import flowstore
    from storage.keys import load_crypto
    from storage.migrate import upgrade
    from storage.seed import load_demo_if_empty

    upgrade(settings.db_url)
    crypto = load_crypto(settings)
    with database(settings) as sessions, sessions.begin() as session:
        if load_demo_if_empty(session=session, crypto=crypto):
            click.echo("loaded the demo places and committees")
        if flowstore.published_bundle(session=session) is None:
            texts, version = shipped_texts()
            flowstore.publish_bundle(
                session=session,
                texts=texts,
                version=version,
                note="shipped flows",
                created_by="system",
                now=datetime.now(UTC),
            )
            click.echo(f"published the shipped flows (version {version[:12]})")
