"""Published sets of flow definitions."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.db import Base, UtcDateTime, one_of


class BundleStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    RETIRED = "retired"


class FlowBundle(Base):
    """A set of flow YAML documents, identified by the hash of their texts.

    Lifecycle: DRAFT > PUBLISHED > RETIRED. At most one bundle is published; publishing
    another retires it. Retired bundles stay so sessions started on them can finish.
    """

    __tablename__ = "flow_bundles"
    __table_args__ = (one_of("status", BundleStatus),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(64), unique=True)
    texts: Mapped[dict[str, str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default=BundleStatus.DRAFT)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(64))


class TranslationCatalog(Base):
    """A language's .po catalog as uploaded from the console or the API.

    Lifecycle: appended only. The newest row of a language is the catalog the service uses
    (over the file shipped in flows/locales); older rows are the history of what changed.
    Kept in the database, next to the flow bundles, so that every web and worker process
    picks an upload up on its next refresh without a redeploy or a shared disk.
    """

    __tablename__ = "translation_catalogs"

    id: Mapped[int] = mapped_column(primary_key=True)
    language: Mapped[str] = mapped_column(String(16), index=True)
    po: Mapped[str] = mapped_column(Text)
    uploaded_by: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(UtcDateTime)
