"""Rotating the two keys: re-encrypting stored text, and re-keying pseudonyms.

Encryption key: the operator puts a new key in front of SAUTI_ENCRYPTION_KEY (the first
encrypts, all decrypt), runs `rotate_encryption`, then removes the old key. Every value is
rewritten under the first key; values already under it are skipped, so a run that stopped
half-way resumes where it was.

Pseudonym key: a pseudonym is an HMAC of a phone number, and reporters' numbers are not
kept, so pseudonyms made with the old key cannot be recomputed. `rotate_pseudonyms`
recomputes committee members' pseudonyms from their stored numbers, moves their
preferences along, and deletes every other preference row (reporters' languages and STOP
entries), which the new key would never find again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Row, delete, or_, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session, sessionmaker

from storage.models import (
    CallRecording,
    Case,
    CaseEvent,
    CommitteeMember,
    NumberPrefs,
    OutboxMessage,
    Signal,
)
from storage.privacy import Crypto, DecryptionFailed
from storage.users import audit

BATCH = 500

# Every encrypted column, by table. A new encrypted column belongs here.
ENCRYPTED: tuple[tuple[Any, tuple[str, ...]], ...] = (
    (Case, ("place_text_enc", "description_enc", "contact_enc")),
    (CaseEvent, ("body_enc",)),
    (OutboxMessage, ("to_enc", "body_enc")),
    (CallRecording, ("url_enc", "audio_enc")),
    (Signal, ("note_enc",)),
)


class KeyUnchanged(RuntimeError):
    """Every member's pseudonym already matches the configured key: nothing was rotated."""


@dataclass(slots=True)
class Rewrite:
    """What a re-encryption run did to one table's values."""

    table: str
    rewritten: int = 0
    current: int = 0
    unreadable: int = 0
    changed: int = 0

    def as_dict(self) -> dict[str, int | str]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Rekeyed:
    """What a pseudonym rotation did."""

    members: int
    member_prefs: int
    prefs_dropped: int
    messages: int


def _rows(
    session: Session, model: Any, columns: tuple[str, ...], after: int, limit: int
) -> list[Row[Any]]:
    attrs = [getattr(model, name) for name in columns]
    query = (
        select(model.id, *attrs)
        .where(model.id > after, or_(*(attr.is_not(None) for attr in attrs)))
        .order_by(model.id)
        .limit(limit)
    )
    return list(session.execute(query))


def _new_values(
    crypto: Crypto, row: Row[Any], columns: tuple[str, ...], tally: Rewrite
) -> dict[str, tuple[bytes, bytes]]:
    """Return {column: (old, new)} for the values of `row` not yet under the first key."""
    changes: dict[str, tuple[bytes, bytes]] = {}
    tokens: tuple[bytes | None, ...] = tuple(row[1:])
    for name, token in zip(columns, tokens, strict=True):
        if token is None:
            continue
        if crypto.is_current(token):
            tally.current += 1
            continue
        try:
            changes[name] = (token, crypto.rotate(token))
        except DecryptionFailed:
            tally.unreadable += 1
    return changes


def _write(
    session: Session, model: Any, row_id: int, changes: dict[str, tuple[bytes, bytes]]
) -> bool:
    """Write the new values unless the row changed since it was read (an erasure, say)."""
    attrs: dict[str, InstrumentedAttribute[Any]] = {n: getattr(model, n) for n in changes}
    statement = (
        update(model)
        .where(model.id == row_id, *(attrs[n] == old for n, (old, _) in changes.items()))
        .values({n: new for n, (_, new) in changes.items()})
        .execution_options(synchronize_session=False)
    )
    return cast(CursorResult[Any], session.execute(statement)).rowcount == 1


def rewrite_batch(
    *,
    session: Session,
    crypto: Crypto,
    model: Any,
    columns: tuple[str, ...],
    after: int,
    limit: int,
    tally: Rewrite,
) -> int | None:
    """Re-encrypt the values of up to `limit` rows with ids above `after`; return the last
    id seen, or None when the table is done."""
    rows = _rows(session, model, columns, after, limit)
    for row in rows:
        changes = _new_values(crypto, row, columns, tally)
        if not changes:
            continue
        if _write(session, model, row[0], changes):
            tally.rewritten += len(changes)
        else:
            tally.changed += 1
    return rows[-1][0] if len(rows) == limit else None


def _table_rewrites(
    sessions: sessionmaker[Session],
    crypto: Crypto,
    model: Any,
    columns: tuple[str, ...],
    batch: int,
) -> Rewrite:
    tally = Rewrite(table=model.__tablename__)
    after: int | None = 0
    while after is not None:
        with sessions.begin() as session:
            after = rewrite_batch(
                session=session,
                crypto=crypto,
                model=model,
                columns=columns,
                after=after,
                limit=batch,
                tally=tally,
            )
    return tally


def rotate_encryption(
    *,
    sessions: sessionmaker[Session],
    crypto: Crypto,
    now: datetime,
    batch: int = BATCH,
    progress: Callable[[Rewrite], None] | None = None,
) -> list[Rewrite]:
    """Re-encrypt every stored value under the first configured key, table by table.

    Values no configured key opens are counted as unreadable and left untouched; one audit
    entry (actor "cli") records the counts.
    """
    tallies = []
    for model, columns in ENCRYPTED:
        tally = _table_rewrites(sessions, crypto, model, columns, batch)
        tallies.append(tally)
        if progress is not None:
            progress(tally)
    with sessions.begin() as session:
        data = {t.table: {k: v for k, v in t.as_dict().items() if k != "table"} for t in tallies}
        audit(session=session, actor="cli", action="keys.rotate_encryption", now=now, data=data)
    return tallies


def _members(session: Session) -> Iterator[CommitteeMember]:
    return iter(session.scalars(select(CommitteeMember).order_by(CommitteeMember.id)).all())


def _rekey_members(session: Session, crypto: Crypto) -> tuple[dict[str, str], int, int]:
    """Recompute members' pseudonyms; return old > new, how many changed, and how many of
    their outbox rows were re-keyed."""
    mapping: dict[str, str] = {}
    changed = messages = 0
    for member in _members(session):
        new = crypto.pseudonym(member.phone)
        mapping[member.phone_pseudonym] = new
        if member.phone_pseudonym == new:
            continue
        member.phone_pseudonym, changed = new, changed + 1
        statement = (
            update(OutboxMessage)
            .where(OutboxMessage.member_id == member.id)
            .values(to_pseudonym=new)
            .execution_options(synchronize_session=False)
        )
        messages += cast(CursorResult[Any], session.execute(statement)).rowcount
    session.flush()
    return mapping, changed, messages


def _rekey_prefs(session: Session, mapping: dict[str, str]) -> tuple[int, int]:
    """Move members' preference rows to their new pseudonyms, delete every other row;
    return how many were moved and how many deleted."""
    keep = set(mapping.values())
    moved = 0
    for prefs in session.scalars(select(NumberPrefs).where(NumberPrefs.pseudonym.in_(mapping))):
        new = mapping[prefs.pseudonym]
        if new == prefs.pseudonym or session.get(NumberPrefs, new) is not None:
            continue
        prefs.pseudonym, moved = new, moved + 1
    session.flush()
    dropped = delete(NumberPrefs).where(NumberPrefs.pseudonym.not_in(keep))
    count = cast(CursorResult[Any], session.execute(dropped)).rowcount
    session.expire_all()
    return moved, count


def rotate_pseudonyms(*, session: Session, crypto: Crypto, now: datetime) -> Rekeyed:
    """Re-key pseudonyms after the pseudonym key changed: see the module docstring.

    Raise `KeyUnchanged` when there are members and all of them already match the key, so
    running the command twice, or without changing the key, never drops the STOP list.
    """
    mapping, changed, messages = _rekey_members(session, crypto)
    if mapping and not changed:
        raise KeyUnchanged("every member's pseudonym already matches the configured key")
    moved, dropped = _rekey_prefs(session, mapping)
    result = Rekeyed(members=changed, member_prefs=moved, prefs_dropped=dropped, messages=messages)
    audit(
        session=session, actor="cli", action="keys.rotate_pseudonym", now=now, data=asdict(result)
    )
    return result
