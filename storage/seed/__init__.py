"""Demo data for a fresh database: the 3T areas of eastern DRC, Rwanda and Burundi, and
fictitious stakeholder committees for them."""

from __future__ import annotations

import csv
import io
from importlib import resources

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from storage.committees import CommitteeImportError, import_committees_yaml
from storage.models import Committee, Location
from storage.places import import_locations_csv
from storage.privacy import Crypto

LOCATIONS_CSV = "locations.csv"
COMMITTEES_YAML = "committees.yaml"


def _read(name: str) -> io.StringIO:
    text = resources.files(__name__).joinpath(name).read_text(encoding="utf-8")
    return io.StringIO(text, newline="")


def place_names() -> dict[str, list[str]]:
    """Each demo place name with where it is used (``place cd-nk (province)``), for the
    message template: the catalogs translate them with msgctxt "place"."""
    found: dict[str, list[str]] = {}
    for row in csv.DictReader(_read(LOCATIONS_CSV)):
        found.setdefault(row["name"], []).append(f"place {row['code']} ({row['level']})")
    return found


def _load_places(session: Session) -> bool:
    if session.scalar(select(exists().select_from(Location))):
        return False
    import_locations_csv(session=session, source=_read(LOCATIONS_CSV))
    return True


def _load_committees(session: Session, crypto: Crypto) -> bool:
    if session.scalar(select(exists().select_from(Committee))):
        return False
    try:
        import_committees_yaml(session=session, crypto=crypto, source=_read(COMMITTEES_YAML))
    except CommitteeImportError:
        # Places of the operator's own, without the demo codes: no demo committees fit them.
        return False
    return True


def load_demo_if_empty(*, session: Session, crypto: Crypto | None = None) -> bool:
    """Import the demo places when there are none, and, given `crypto`, the demo committees
    when there are none; return whether anything was loaded.

    Committees need `crypto` for their members' pseudonyms. They are skipped, nothing
    written, when the places in the database lack the demo codes.
    """
    loaded = _load_places(session)
    if crypto is not None:
        loaded = _load_committees(session, crypto) or loaded
    return loaded
