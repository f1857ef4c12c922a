"""All tables; importing this package registers every model on `storage.db.Base.metadata`."""

from storage.models.cases import (
    Case,
    CaseEvent,
    Category,
    Channel,
    EventKind,
    Occurred,
    Outcome,
    Severity,
    Status,
)
from storage.models.flows import BundleStatus, FlowBundle
from storage.models.places import PARENT_LEVEL, Level, Location
from storage.models.prefs import NumberPrefs

__all__ = [
    "PARENT_LEVEL",
    "BundleStatus",
    "Case",
    "CaseEvent",
    "Category",
    "Channel",
    "EventKind",
    "FlowBundle",
    "Level",
    "Location",
    "NumberPrefs",
    "Occurred",
    "Outcome",
    "Severity",
    "Status",
]
