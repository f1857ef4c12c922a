"""Committees and their focal points: the YAML import and the lookups built on them.

The import reads the file as YAML nodes (`flows.safeyaml.compose`: bounded in size and
depth, no aliases), so every problem is reported with the line it sits on, and checks
every committee before writing any: a bad file is refused whole and nothing is
half-written.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
import yaml
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from flows import safeyaml
from storage.db import utcnow
from storage.models import (
    Case,
    CaseAssignment,
    Category,
    Committee,
    CommitteeLevel,
    CommitteeMember,
    Level,
    Location,
    MessageChannel,
    Severity,
    Status,
)
from storage.places import ImportResult, Problem
from storage.privacy import Crypto, InvalidPhone, normalize_phone

__all__ = [
    "DEADLINE_FIELDS",
    "DEFAULT_ACK_DEADLINES",
    "DEFAULT_ACTION_DEADLINES",
    "DEFAULT_CLOSE_DEADLINES",
    "CommitteeImportError",
    "EditRefused",
    "ImportResult",
    "Problem",
    "ack_deadline",
    "action_deadline",
    "add_member",
    "check_committee",
    "close_deadline",
    "committee_by_code",
    "create_committee",
    "deactivate_committee",
    "deadlines_of",
    "duration_text",
    "import_committees_yaml",
    "list_committees",
    "mask_phone",
    "member_by_id",
    "member_counts",
    "members_for_pseudonym",
    "open_case_counts",
    "set_committee_active",
    "set_member_active",
    "update_committee",
    "update_member",
]

DEFAULT_ACK_DEADLINES: dict[str, int] = {
    Severity.CRITICAL: 2 * 3600,
    Severity.HIGH: 24 * 3600,
    Severity.MEDIUM: 3 * 86400,
    Severity.LOW: 7 * 86400,
}
# How long a committee has, by default, to take a first action on a case and to close it.
DEFAULT_ACTION_DEADLINES: dict[str, int] = {
    Severity.CRITICAL: 2 * 86400,
    Severity.HIGH: 7 * 86400,
    Severity.MEDIUM: 14 * 86400,
    Severity.LOW: 30 * 86400,
}
DEFAULT_CLOSE_DEADLINES: dict[str, int] = {
    Severity.CRITICAL: 7 * 86400,
    Severity.HIGH: 30 * 86400,
    Severity.MEDIUM: 60 * 86400,
    Severity.LOW: 90 * 86400,
}
# Each stage's field (in the import, the forms and on `Committee`) and its defaults.
DEADLINE_FIELDS: dict[str, dict[str, int]] = {
    "ack_deadlines": DEFAULT_ACK_DEADLINES,
    "action_deadlines": DEFAULT_ACTION_DEADLINES,
    "close_deadlines": DEFAULT_CLOSE_DEADLINES,
}
ALL_CATEGORIES = "all"
MAX_CODE = 64
MAX_NAME = 128
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"([0-9]{1,7})\s*([smhd]?)")
_CLOCK = re.compile(r"([0-9]{1,2}):([0-9]{2})")
_CODE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_LANGUAGE = re.compile(r"[a-z]{2,3}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_NULL_TAG = "tag:yaml.org,2002:null"
_COMMITTEE_FIELDS = frozenset(
    {
        "code",
        "name",
        "level",
        "location",
        "categories",
        "language",
        "timezone",
        *DEADLINE_FIELDS,
        "digest_at",
        "members",
    }
)
_MEMBER_FIELDS = frozenset({"name", "phone", "language", "channel"})


class CommitteeImportError(ValueError):
    """The file was refused as a whole; nothing was written."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = tuple(sorted(problems, key=lambda problem: problem.line))
        super().__init__("committees refused: " + "; ".join(map(str, self.problems)))


@dataclass(frozen=True, slots=True)
class _MemberSpec:
    name: str
    phone: str
    language: str
    channel: str


@dataclass(frozen=True, slots=True)
class _CommitteeSpec:
    line: int
    code: str
    name: str
    level: str
    location_code: str
    categories: list[str] | None
    language: str
    timezone: str
    ack_deadlines: dict[str, int]
    action_deadlines: dict[str, int]
    close_deadlines: dict[str, int]
    digest_at: str
    members: tuple[_MemberSpec, ...]


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


@dataclass(slots=True)
class _Fields:
    """The fields of one YAML mapping, each with its node, and the problems found in them.

    Readers return a value even when it is wrong (after recording a problem): any problem
    refuses the whole file, so a wrong value is never written.
    """

    line: int
    nodes: dict[str, yaml.Node]
    problems: list[Problem]
    prefix: str = ""
    quiet: bool = False  # not a mapping at all: that one problem says it all

    def problem(self, key: str, message: str, node: yaml.Node | None = None) -> None:
        if self.quiet:
            return
        line = self.line if node is None else _line(node)
        self.problems.append(Problem(line, self.prefix + key, message))

    def text(self, key: str, *, default: str | None = None) -> str:
        """Return the stripped scalar text of `key`; a missing one is `default` or a problem."""
        node = self.nodes.get(key)
        if node is None or node.tag == _NULL_TAG:
            if default is None:
                self.problem(key, "missing")
            return default or ""
        if not isinstance(node, yaml.ScalarNode):
            self.problem(key, "expected a single value", node)
            return ""
        value = str(node.value).strip()
        if not value:
            self.problem(key, "empty", node)
        return value

    def matching(self, key: str, pattern: re.Pattern[str], message: str) -> str:
        value = self.text(key)
        if value and not pattern.fullmatch(value):
            self.problem(key, message, self.nodes.get(key))
        return value


def _fields(
    node: yaml.Node, allowed: frozenset[str], problems: list[Problem], prefix: str = ""
) -> _Fields:
    fields = _Fields(_line(node), {}, problems, prefix)
    if not isinstance(node, yaml.MappingNode):
        fields.problem(prefix.rstrip(".") or "committee", "expected a mapping", node)
        fields.quiet = True
        return fields
    for key_node, value_node in node.value:
        key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "?"
        if key not in allowed:
            expected = ", ".join(sorted(allowed))
            fields.problem(key, f"unknown field; expected one of {expected}", key_node)
        elif key in fields.nodes:
            fields.problem(key, "appears twice", key_node)
        else:
            fields.nodes[key] = value_node
    return fields


def _name(fields: _Fields) -> str:
    value = fields.text("name")
    if len(value) > MAX_NAME or _CONTROL.search(value):
        fields.problem("name", f"give a name of 1 to {MAX_NAME} characters", fields.nodes["name"])
    return value


def _code(fields: _Fields) -> str:
    value = fields.matching("code", _CODE, "use lower-case letters, digits and dashes")
    if len(value) > MAX_CODE:
        fields.problem("code", f"at most {MAX_CODE} characters", fields.nodes["code"])
    return value


def _language(fields: _Fields) -> str:
    return fields.matching("language", _LANGUAGE, "a language code such as sw or fr")


def _level(fields: _Fields) -> str:
    value = fields.text("level")
    if value and value not in set(CommitteeLevel):
        fields.problem("level", "one of " + ", ".join(CommitteeLevel), fields.nodes["level"])
    return value


def _timezone(fields: _Fields) -> str:
    value = fields.text("timezone")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        if value:
            fields.problem("timezone", "not an IANA time zone name", fields.nodes["timezone"])
    return value


def _digest_at(fields: _Fields) -> str:
    value = fields.text("digest_at")
    match = _CLOCK.fullmatch(value)
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        if value:
            fields.problem("digest_at", 'a local time "HH:MM"', fields.nodes["digest_at"])
        return value
    return f"{int(match[1]):02d}:{match[2]}"


def _category_list(fields: _Fields, node: yaml.SequenceNode) -> list[str]:
    codes: list[str] = []
    for item in node.value:
        code = str(item.value).strip() if isinstance(item, yaml.ScalarNode) else ""
        if code not in set(Category):
            fields.problem("categories", "unknown category; one of " + ", ".join(Category), item)
        elif code in codes:
            fields.problem("categories", f"{code!r} appears twice", item)
        else:
            codes.append(code)
    if not node.value:
        fields.problem("categories", f"list at least one category, or write {ALL_CATEGORIES}", node)
    return codes


def _categories(fields: _Fields) -> list[str] | None:
    node = fields.nodes.get("categories")
    if isinstance(node, yaml.SequenceNode):
        return _category_list(fields, node)
    if fields.text("categories", default=ALL_CATEGORIES) != ALL_CATEGORIES:
        fields.problem("categories", f"{ALL_CATEGORIES} or a list of category codes", node)
    return None


def _seconds(node: yaml.Node) -> int | None:
    match = (
        _DURATION.fullmatch(str(node.value).strip()) if isinstance(node, yaml.ScalarNode) else None
    )
    if match is None or int(match[1]) == 0:
        return None
    return int(match[1]) * _UNIT_SECONDS[match[2] or "s"]


def _deadlines(fields: _Fields, key: str) -> dict[str, int]:
    """One stage's deadlines: the severities the file sets, the defaults for the others."""
    deadlines = dict(DEADLINE_FIELDS[key])
    node = fields.nodes.get(key)
    if node is None or node.tag == _NULL_TAG:
        return deadlines
    if not isinstance(node, yaml.MappingNode):
        fields.problem(key, "expected a mapping of severity to duration", node)
        return deadlines
    for key_node, value_node in node.value:
        severity, seconds = str(key_node.value), _seconds(value_node)
        if severity not in set(Severity):
            fields.problem(key, "severity one of " + ", ".join(Severity), key_node)
        elif seconds is None:
            fields.problem(key, "a duration such as 90m, 2h or 3d", value_node)
        else:
            deadlines[severity] = seconds
    return deadlines


def _country_region(location: Location | None) -> str | None:
    """The phone region of the country a location sits in ("cd" -> "CD"), for local numbers."""
    root = "" if location is None else location.path.strip("/").split("/")[0]
    return root.upper() if len(root) == 2 else None


def _regions(location: Location | None, default_region: str | None) -> tuple[str, ...]:
    """Where a member's number written without its country code is read: the committee's
    country, then SAUTI_DEFAULT_REGION (storage.privacy.normalize_phone has the rule)."""
    return tuple(r for r in (_country_region(location), default_region) if r)


def _phone(fields: _Fields, regions: tuple[str, ...]) -> str:
    raw = fields.text("phone")
    if not raw:
        return ""
    try:
        return normalize_phone(raw, *regions).e164
    except InvalidPhone as exc:
        fields.problem("phone", f"{exc} (write it as +243 81 234 5678)", fields.nodes["phone"])
        return ""


def _channel(fields: _Fields) -> str:
    """How the member is reached: sms (the default) or whatsapp."""
    value = fields.text("channel", default=MessageChannel.SMS.value)
    if value and value not in set(MessageChannel):
        fields.problem("channel", "one of " + ", ".join(MessageChannel), fields.nodes["channel"])
    return value


def _member(
    node: yaml.Node, problems: list[Problem], regions: tuple[str, ...], language: str
) -> _MemberSpec:
    fields = _fields(node, _MEMBER_FIELDS, problems, "members.")
    return _MemberSpec(
        name=_name(fields),
        phone=_phone(fields, regions),
        language=_language(fields) if "language" in fields.nodes else language,
        channel=_channel(fields),
    )


def _members(fields: _Fields, regions: tuple[str, ...], language: str) -> tuple[_MemberSpec, ...]:
    node = fields.nodes.get("members")
    if not isinstance(node, yaml.SequenceNode) or not node.value:
        fields.problem("members", "list at least one member", node)
        return ()
    members: list[_MemberSpec] = []
    for item in node.value:
        member = _member(item, fields.problems, regions, language)
        if member.phone and member.phone in {known.phone for known in members}:
            fields.problem("members.phone", f"{member.phone} is listed twice", item)
        members.append(member)
    return tuple(members)


def _location(fields: _Fields, level: str, locations: Mapping[str, Location]) -> Location | None:
    code = fields.text("location")
    location = locations.get(code)
    if location is None:
        if code:
            fields.problem("location", f"unknown location {code!r}", fields.nodes["location"])
        return None
    if level == CommitteeLevel.NATIONAL and location.level != Level.COUNTRY:
        fields.problem(
            "location", "a national committee covers a country", fields.nodes["location"]
        )
    return location


def _committee(
    node: yaml.Node,
    problems: list[Problem],
    locations: Mapping[str, Location],
    *,
    with_members: bool = True,
    default_region: str | None = None,
) -> _CommitteeSpec:
    fields = _fields(node, _COMMITTEE_FIELDS, problems)
    level = _level(fields)
    language = _language(fields)
    location = _location(fields, level, locations)
    return _CommitteeSpec(
        line=fields.line,
        code=_code(fields),
        name=_name(fields),
        level=level,
        location_code="" if location is None else location.code,
        categories=_categories(fields),
        language=language,
        timezone=_timezone(fields),
        ack_deadlines=_deadlines(fields, "ack_deadlines"),
        action_deadlines=_deadlines(fields, "action_deadlines"),
        close_deadlines=_deadlines(fields, "close_deadlines"),
        digest_at=_digest_at(fields),
        members=_members(fields, _regions(location, default_region), language)
        if with_members
        else (),
    )


def _compose(source: TextIO) -> yaml.Node:
    try:
        root = safeyaml.compose(source.read(safeyaml.MAX_CHARS + 1))
    except UnicodeDecodeError as exc:
        raise CommitteeImportError(
            [Problem(1, "file", f"not UTF-8 text (byte {exc.start})")]
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = 1 if mark is None else int(mark.line) + 1
        raise CommitteeImportError([Problem(line, "yaml", str(exc.problem or exc))]) from None
    except yaml.YAMLError as exc:
        raise CommitteeImportError([Problem(1, "yaml", str(exc))]) from None
    if not isinstance(root, yaml.SequenceNode):
        line = 1 if root is None else _line(root)
        raise CommitteeImportError([Problem(line, "file", "expected a list of committees")])
    return root


def _parse(
    source: TextIO, locations: Mapping[str, Location], default_region: str | None = None
) -> list[_CommitteeSpec]:
    root = _compose(source)
    problems: list[Problem] = []
    specs: list[_CommitteeSpec] = []
    for node in root.value:
        spec = _committee(node, problems, locations, default_region=default_region)
        if spec.code and spec.code in {known.code for known in specs}:
            problems.append(Problem(spec.line, "code", f"{spec.code!r} appears twice"))
        specs.append(spec)
    if problems:
        raise CommitteeImportError(problems)
    return specs


def _committee_fields(spec: _CommitteeSpec, location: Location) -> dict[str, object]:
    return {
        "name": spec.name,
        "level": spec.level,
        "location_id": location.id,
        "categories": spec.categories,
        "language": spec.language,
        "timezone": spec.timezone,
        "ack_deadlines": spec.ack_deadlines,
        "action_deadlines": spec.action_deadlines,
        "close_deadlines": spec.close_deadlines,
        "digest_at": spec.digest_at,
        "active": True,
    }


def _update(target: object, values: Mapping[str, object]) -> bool:
    """Set each attribute that differs; return whether any did."""
    changed = [key for key, value in values.items() if getattr(target, key) != value]
    for key in changed:
        setattr(target, key, values[key])
    return bool(changed)


def _sync_members(
    session: Session,
    crypto: Crypto,
    committee: Committee,
    specs: tuple[_MemberSpec, ...],
    now: datetime,
) -> bool:
    existing = {member.phone: member for member in committee.members}
    changed = False
    for spec in specs:
        values = {
            "name": spec.name,
            "language": spec.language,
            "channel": spec.channel,
            "active": True,
        }
        member = existing.pop(spec.phone, None)
        if member is None:
            member = CommitteeMember(
                phone=spec.phone,
                phone_pseudonym=crypto.pseudonym(spec.phone),
                created_at=now,
                **values,
            )
            committee.members.append(member)
            session.add(member)
        elif not _update(member, values):
            continue
        member.updated_at, changed = now, True
    for member in existing.values():
        if _update(member, {"active": False}):
            member.updated_at, changed = now, True
    return changed


def _apply(
    session: Session,
    crypto: Crypto,
    spec: _CommitteeSpec,
    existing: dict[str, Committee],
    locations: Mapping[str, Location],
    now: datetime,
) -> str:
    values = _committee_fields(spec, locations[spec.location_code])
    committee = existing.get(spec.code)
    if committee is None:
        committee = Committee(code=spec.code, created_at=now, updated_at=now, **values)
        session.add(committee)
        _sync_members(session, crypto, committee, spec.members, now)
        return "created"
    changed = _update(committee, values)
    changed = _sync_members(session, crypto, committee, spec.members, now) or changed
    if not changed:
        return "unchanged"
    committee.updated_at = now
    return "updated"


def import_committees_yaml(
    *,
    session: Session,
    crypto: Crypto,
    source: TextIO,
    now: datetime | None = None,
    default_region: str | None = None,
) -> ImportResult:
    """Create or update committees and their members from the committees.yaml format.

    Committees update by code; members by phone, and members no longer listed become
    inactive. Committees absent from the file are left as they are. Every committee is
    checked before anything is written; any problem refuses the whole file. A member's
    number written without its country code is read in the committee's country, then in
    `default_region` (SAUTI_DEFAULT_REGION).
    """
    locations = {location.code: location for location in session.scalars(select(Location))}
    specs = _parse(source, locations, default_region)
    at = now or utcnow()
    existing = {committee.code: committee for committee in session.scalars(select(Committee))}
    with session.begin_nested():
        outcomes = [_apply(session, crypto, spec, existing, locations, at) for spec in specs]
    session.flush()
    return ImportResult(
        created=outcomes.count("created"),
        updated=outcomes.count("updated"),
        unchanged=outcomes.count("unchanged"),
    )


def list_committees(*, session: Session, active_only: bool = True) -> list[Committee]:
    """Return committees ordered by code."""
    query = select(Committee).order_by(Committee.code)
    if active_only:
        query = query.where(Committee.active.is_(True))
    return list(session.scalars(query))


def committee_by_code(*, session: Session, code: str) -> Committee | None:
    """Return the committee with `code`, active or not."""
    return session.scalar(select(Committee).where(Committee.code == code))


def deactivate_committee(*, session: Session, code: str, now: datetime) -> bool:
    """Stop routing new cases to a committee; return False when there was nothing to do.

    Its existing assignments stay, so its cases remain visible and can be reassigned.
    """
    committee = committee_by_code(session=session, code=code)
    if committee is None or not committee.active:
        return False
    committee.active, committee.updated_at = False, now
    session.flush()
    return True


def members_for_pseudonym(*, session: Session, pseudonym: str) -> list[CommitteeMember]:
    """Return the active memberships, in active committees, of the number with `pseudonym`.

    One official may sit on several committees (local and provincial, say).
    """
    query = (
        select(CommitteeMember)
        .join(Committee, CommitteeMember.committee_id == Committee.id)
        .where(
            CommitteeMember.phone_pseudonym == pseudonym,
            CommitteeMember.active.is_(True),
            Committee.active.is_(True),
        )
        .order_by(CommitteeMember.id)
    )
    return list(session.scalars(query))


def ack_deadline(committee: Committee, severity: str) -> timedelta:
    """Return how long `committee` has to acknowledge a case of `severity`."""
    seconds = committee.ack_deadlines.get(severity, DEFAULT_ACK_DEADLINES[severity])
    return timedelta(seconds=seconds)


def action_deadline(committee: Committee, severity: str) -> timedelta:
    """Return how long `committee` has to take a first action on a case of `severity`."""
    own = committee.action_deadlines or {}
    return timedelta(seconds=own.get(severity, DEFAULT_ACTION_DEADLINES[severity]))


def close_deadline(committee: Committee, severity: str) -> timedelta:
    """Return how long `committee` has to close a case of `severity`."""
    own = committee.close_deadlines or {}
    return timedelta(seconds=own.get(severity, DEFAULT_CLOSE_DEADLINES[severity]))


def deadlines_of(committee: Committee, field: str) -> dict[str, int]:
    """One stage's deadlines of `committee` (a key of DEADLINE_FIELDS), in seconds by
    severity, the defaults filling in the severities it does not set."""
    own: Mapping[str, int] = getattr(committee, field) or {}
    return {
        severity.value: own.get(severity, DEADLINE_FIELDS[field][severity]) for severity in Severity
    }


# -- one committee or member at a time: the console's and the API's forms --------------------


class EditRefused(CommitteeImportError):
    """Values for one committee or member were refused; nothing was written.

    The values go through the import's own validators, so a form and a file accept exactly
    the same things; each problem names the field (its line is meaningless here).
    """


def _node(values: Mapping[str, object]) -> yaml.Node:
    """The values as the YAML node the import reads, so one set of validators checks both."""
    node = safeyaml.compose(yaml.safe_dump(dict(values), allow_unicode=True))
    if node is None:
        raise EditRefused([Problem(1, "form", "nothing was filled in")])
    return node


def _check_language(
    problems: list[Problem], field: str, value: str, languages: Collection[str] | None
) -> None:
    if languages is not None and value and value not in languages:
        problems.append(Problem(1, field, "one of " + ", ".join(languages)))


def _locations_named(session: Session, values: Mapping[str, object]) -> dict[str, Location]:
    code = str(values.get("location") or "")[:MAX_CODE]
    location = session.scalar(select(Location).where(Location.code == code))
    return {} if location is None else {code: location}


def check_committee(
    *, session: Session, values: Mapping[str, object], languages: Collection[str] | None = None
) -> _CommitteeSpec:
    """Validate a committee's settings as the import would (members aside), or EditRefused.

    `values` has the import's keys: code, name, level, location, categories ("all" or a
    list), language, timezone, ack_deadlines, action_deadlines and close_deadlines (each
    severity to "2h"-style text), digest_at.
    """
    problems: list[Problem] = []
    node = _node(values)
    spec = _committee(node, problems, _locations_named(session, values), with_members=False)
    _check_language(problems, "language", spec.language, languages)
    if problems:
        raise EditRefused(problems)
    return spec


def _location_of(session: Session, spec: _CommitteeSpec) -> Location:
    return session.scalars(select(Location).where(Location.code == spec.location_code)).one()


def create_committee(
    *,
    session: Session,
    values: Mapping[str, object],
    now: datetime,
    languages: Collection[str] | None = None,
) -> Committee:
    """Create a committee without members yet; EditRefused when a value or the code is wrong."""
    spec = check_committee(session=session, values=values, languages=languages)
    taken = Problem(1, "code", f"{spec.code!r} is already a committee's code")
    if committee_by_code(session=session, code=spec.code) is not None:
        raise EditRefused([taken])
    fields = _committee_fields(spec, _location_of(session, spec))
    committee = Committee(code=spec.code, created_at=now, updated_at=now, **fields)
    try:
        with session.begin_nested():
            session.add(committee)
    except IntegrityError:
        raise EditRefused([taken]) from None
    return committee


def update_committee(
    *,
    session: Session,
    committee: Committee,
    values: Mapping[str, object],
    now: datetime,
    languages: Collection[str] | None = None,
) -> list[str]:
    """Change a committee's settings (never its code); return the names of changed fields."""
    spec = check_committee(
        session=session, values={**values, "code": committee.code}, languages=languages
    )
    fields = _committee_fields(spec, _location_of(session, spec))
    del fields["active"]
    changed = sorted(key for key, value in fields.items() if getattr(committee, key) != value)
    if changed:
        _update(committee, fields)
        committee.updated_at = now
        session.flush()
    return changed


def set_committee_active(
    *, session: Session, committee: Committee, active: bool, now: datetime
) -> bool:
    """Start or stop routing new cases to a committee; False when it already was so."""
    if committee.active == active:
        return False
    committee.active, committee.updated_at = active, now
    session.flush()
    return True


def _member_spec(
    committee: Committee,
    values: Mapping[str, object],
    languages: Collection[str] | None,
    default_region: str | None,
) -> _MemberSpec:
    problems: list[Problem] = []
    regions = _regions(committee.location, default_region)
    spec = _member(_node(values), problems, regions, committee.language)
    _check_language(problems, "members.language", spec.language, languages)
    if problems:
        raise EditRefused(problems)
    return spec


def _same_phone(committee: Committee, phone: str) -> CommitteeMember | None:
    return next((member for member in committee.members if member.phone == phone), None)


def add_member(
    *,
    session: Session,
    crypto: Crypto,
    committee: Committee,
    values: Mapping[str, object],
    now: datetime,
    languages: Collection[str] | None = None,
    default_region: str | None = None,
) -> CommitteeMember:
    """Add a focal point (name, phone, language, channel: sms unless given), or bring back an
    inactive one by phone."""
    spec = _member_spec(committee, values, languages, default_region)
    member = _same_phone(committee, spec.phone)
    if member is not None and member.active:
        raise EditRefused([Problem(1, "members.phone", "this number is already a member")])
    if member is None:
        member = CommitteeMember(
            phone=spec.phone, phone_pseudonym=crypto.pseudonym(spec.phone), created_at=now
        )
        committee.members.append(member)
        session.add(member)
    member.name, member.language, member.active = spec.name, spec.language, True
    member.channel = spec.channel
    member.updated_at = now
    session.flush()
    return member


def update_member(
    *,
    session: Session,
    crypto: Crypto,
    member: CommitteeMember,
    values: Mapping[str, object],
    now: datetime,
    languages: Collection[str] | None = None,
    default_region: str | None = None,
) -> list[str]:
    """Change a member's name, phone, language or channel; return the names of changed
    fields. A channel left out of `values` stays as it is."""
    values = {"channel": str(member.channel), **values}
    spec = _member_spec(member.committee, values, languages, default_region)
    other = _same_phone(member.committee, spec.phone)
    if other is not None and other.id != member.id:
        raise EditRefused([Problem(1, "members.phone", "another member has this number")])
    fields = {
        "name": spec.name,
        "phone": spec.phone,
        "language": spec.language,
        "channel": spec.channel,
    }
    changed = sorted(key for key, value in fields.items() if getattr(member, key) != value)
    if changed:
        _update(member, fields)
        member.phone_pseudonym = crypto.pseudonym(spec.phone)
        member.updated_at = now
        session.flush()
    return changed


def set_member_active(
    *, session: Session, member: CommitteeMember, active: bool, now: datetime
) -> bool:
    """Stop or restart alerts to a member; False when it already was so."""
    if member.active == active:
        return False
    member.active, member.updated_at = active, now
    session.flush()
    return True


def member_by_id(*, committee: Committee, member_id: int) -> CommitteeMember | None:
    """Return the committee's member with `member_id`, active or not."""
    return next((member for member in committee.members if member.id == member_id), None)


def member_counts(*, session: Session) -> dict[int, int]:
    """Return how many active members each committee has, by committee id."""
    query = (
        select(CommitteeMember.committee_id, func.count())
        .where(CommitteeMember.active.is_(True))
        .group_by(CommitteeMember.committee_id)
    )
    return {row[0]: row[1] for row in session.execute(query).all()}


def open_case_counts(*, session: Session) -> dict[int, int]:
    """Return how many open cases sit in each committee's inbox, by committee id."""
    query = (
        select(CaseAssignment.committee_id, func.count())
        .join(Case, Case.id == CaseAssignment.case_id)
        .where(CaseAssignment.active.is_(True), Case.status != Status.CLOSED)
        .group_by(CaseAssignment.committee_id)
    )
    return {row[0]: row[1] for row in session.execute(query).all()}


def mask_phone(e164: str) -> str:
    """Show a number as "+243 ••• ••• 678": enough to tell numbers apart, not to dial one."""
    try:
        country = phonenumbers.parse(e164).country_code
    except phonenumbers.NumberParseException:
        return "•••"
    return f"+{country} ••• ••• {e164[-3:]}"


def duration_text(seconds: int) -> str:
    """Write a deadline in the import's units, largest first ("2h", "3d", "90m")."""
    for unit, size in sorted(_UNIT_SECONDS.items(), key=lambda item: -item[1]):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
