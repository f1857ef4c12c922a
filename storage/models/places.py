"""Places reports are filed against: country > province > territory > site."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import Boolean, Float, ForeignKey, String, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.db import Base, one_of


class Level(StrEnum):
    COUNTRY = "country"
    PROVINCE = "province"
    TERRITORY = "territory"
    SITE = "site"


# Each level sits exactly one step below its parent.
PARENT_LEVEL: dict[Level, Level | None] = {
    Level.COUNTRY: None,
    Level.PROVINCE: Level.COUNTRY,
    Level.TERRITORY: Level.PROVINCE,
    Level.SITE: Level.TERRITORY,
}


class Location(Base):
    """A place in the tree, imported from CSV and updated by code.

    Lifecycle: imported active; a later import may rename or re-parent it; it is deactivated
    (never deleted, since cases keep pointing at it) when it should no longer be offered.
    `path` is the materialised chain of codes, e.g. "/cd/cd-nk/cd-nk-walikale/", so a
    subtree is one prefix match.
    """

    __tablename__ = "locations"
    __table_args__ = (one_of("level", Level),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    level: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"), index=True)
    path: Mapped[str] = mapped_column(String(512), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # WGS 84 degrees, from the places import's optional `lat,lon` columns (for the map).
    lat: Mapped[float | None] = mapped_column(Float, default=None)
    lon: Mapped[float | None] = mapped_column(Float, default=None)

    parent: Mapped[Location | None] = relationship(remote_side=[id])
