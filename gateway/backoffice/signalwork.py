"""Acknowledging and closing a signal, as the console and the API both do it."""

from __future__ import annotations

from gateway.runtime import Runtime
from storage import signals
from storage.db import utcnow
from storage.users import audit, user_scope


class SignalNotFound(LookupError):
    """No signal with this id in the user's scope."""


def change_signal(
    runtime: Runtime, signal_id: int, username: str, note: str | None, ip_hash: str | None = None
) -> bool:
    """Acknowledge (`note` None) or close with `note` the signal `signal_id` as `username`,
    with its audit entry when it changed; whether it changed (SignalNotFound outside the
    user's scope)."""
    now = utcnow()
    actor = f"user:{username}"
    with runtime.sessions.begin() as session:
        scope = user_scope(session=session, username=username)
        signal = signals.get_signal(session=session, signal_id=signal_id, scope=scope)
        if signal is None:
            raise SignalNotFound(signal_id)
        if note is None:
            changed = signals.acknowledge_signal(
                session=session, signal=signal, actor=actor, now=now
            )
        else:
            changed = signals.close_signal(
                session=session,
                crypto=runtime.crypto,
                signal=signal,
                actor=actor,
                note=note,
                now=now,
            )
        if changed:
            audit(
                session=session,
                actor=username,
                action="signal.acknowledge" if note is None else "signal.close",
                target=str(signal.id),
                ip_hash=ip_hash,
                now=now,
            )
        return changed
