"""Delivery reports, whichever provider sends them: one `DeliveryEvent` moves its outbox row
forward only.

A provider's `status.py` turns its callback into a `workers.outbound.DeliveryEvent` and
hands it here. Reports come late, repeated and out of order: a final status never changes
(`storage.outbox.apply_status`), and a report for an id the worker has not recorded yet
(the callback raced the commit after the provider's answer) is held for the worker
(`storage.early_status`).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from redis.exceptions import RedisError

from gateway.channels.host import Services
from storage import early_status, outbox
from workers.outbound import DeliveryEvent

log = logging.getLogger(__name__)


def apply_delivery(runtime: Services, event: DeliveryEvent) -> bool:
    """Move the outbox row the provider reports on forward; False for a stale report (a
    final status never changes). A status for an id no row has yet (the worker has not
    recorded it) is held for the worker (storage.early_status), then looked for once more."""

    def apply() -> tuple[bool, bool]:
        with runtime.sessions.begin() as session:
            changed = outbox.apply_status(
                session=session,
                provider_id=event.provider_id,
                status=event.status,
                error_code=event.error_code,
                now=datetime.now(UTC),
                provider=event.provider,
            )
            return changed, changed or outbox.has_provider_id(
                session=session, provider_id=event.provider_id, provider=event.provider
            )

    changed, known = apply()
    if known:
        return changed
    try:
        early_status.hold(runtime.redis, event.provider_id, event.status, event.error_code)
    except RedisError as exc:
        log.warning("early status not held (%s)", type(exc).__name__)
    return apply()[0]
