"""The one place periodic jobs are registered."""

from __future__ import annotations

import redis
from rq.cron import CronScheduler

from gateway.settings import Settings
from workers import queues
from workers.digests import send_digests
from workers.sweep import sweep

# Digest times are minutes of a local clock: look every minute.
DIGEST_CHECK_SECONDS = 60


def build_scheduler(*, settings: Settings, connection: redis.Redis) -> CronScheduler:
    """Register every periodic job on a scheduler; `sauti scheduler` starts it.

    - the sweep (escalation, unrouted reports, due and stuck SMS), every
      `SAUTI_SWEEP_INTERVAL` seconds;
    - the daily digests, checked every minute.
    """
    scheduler = CronScheduler(connection=connection, name="sauti-scheduler")
    scheduler.register(sweep, queue_name=queues.MAINTENANCE, interval=settings.sauti_sweep_interval)
    scheduler.register(send_digests, queue_name=queues.MAINTENANCE, interval=DIGEST_CHECK_SECONDS)
    return scheduler
