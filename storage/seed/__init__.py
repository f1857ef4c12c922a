"""Demo data for a fresh database: the 3T areas of eastern DRC, Rwanda and Burundi."""

from __future__ import annotations

import io
from importlib import resources

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from storage.models import Location
from storage.places import import_locations_csv

LOCATIONS_CSV = "locations.csv"


def load_demo_if_empty(*, session: Session) -> bool:
    """Import the demo places when there are none; return whether anything was loaded."""
    if session.scalar(select(exists().select_from(Location))):
        return False
    text = resources.files(__name__).joinpath(LOCATIONS_CSV).read_text(encoding="utf-8")
    import_locations_csv(session=session, source=io.StringIO(text, newline=""))
    return True
