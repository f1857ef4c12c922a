"""All tables; importing this package registers every model on `storage.db.Base.metadata`."""

from storage.models.actions import OPEN_ACTION, ActionStatus, CaseAction
from storage.models.cases import (
    Case,
    CaseEvent,
    Category,
    Channel,
    EventKind,
    ItsciLevel,
    Occurred,
    Outcome,
    Satisfaction,
    Severity,
    Status,
)
from storage.models.committees import (
    LEVEL_RANK,
    AssignmentReason,
    CaseAssignment,
    Committee,
    CommitteeLevel,
    CommitteeMember,
    DigestRun,
)
from storage.models.flows import BundleStatus, FlowBundle
from storage.models.incidents import (
    CaseDuplicate,
    Incident,
    IncidentCase,
    LinkState,
    Signal,
    SignalCase,
    SignalRule,
    SignalStatus,
)
from storage.models.outbox import (
    MessageChannel,
    MessageKind,
    OutboxMessage,
    OutboxStatus,
    Provider,
    RecipientKind,
)
from storage.models.places import PARENT_LEVEL, Level, Location
from storage.models.prefs import NumberPrefs
from storage.models.recordings import CallRecording, RecordingStatus
from storage.models.users import FREE_TEXT_ROLES, AuditEntry, Role, User, UserScope
from storage.models.voice import PromptSource, PromptStatus, VoicePrompt

__all__ = [
    "FREE_TEXT_ROLES",
    "LEVEL_RANK",
    "OPEN_ACTION",
    "PARENT_LEVEL",
    "ActionStatus",
    "AssignmentReason",
    "AuditEntry",
    "BundleStatus",
    "CallRecording",
    "Case",
    "CaseAction",
    "CaseAssignment",
    "CaseDuplicate",
    "CaseEvent",
    "Category",
    "Channel",
    "Committee",
    "CommitteeLevel",
    "CommitteeMember",
    "DigestRun",
    "EventKind",
    "FlowBundle",
    "Incident",
    "IncidentCase",
    "ItsciLevel",
    "Level",
    "LinkState",
    "Location",
    "MessageChannel",
    "MessageKind",
    "NumberPrefs",
    "Occurred",
    "OutboxMessage",
    "OutboxStatus",
    "Outcome",
    "PromptSource",
    "PromptStatus",
    "Provider",
    "RecipientKind",
    "RecordingStatus",
    "Role",
    "Satisfaction",
    "Severity",
    "Signal",
    "SignalCase",
    "SignalRule",
    "SignalStatus",
    "Status",
    "User",
    "UserScope",
    "VoicePrompt",
]
