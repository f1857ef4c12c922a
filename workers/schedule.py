"""The one place periodic jobs are registered."""

from __future__ import annotations

import redis
from rq.cron import CronScheduler

from gateway.settings import Settings
from workers import queues
from workers.sweep import sweep


def build_scheduler(*, settings: Settings, connection: redis.Redis) -> CronScheduler:
    """Register every periodic job on a scheduler; `sauti scheduler` starts it."""
    scheduler = CronScheduler(connection=connection, name="sauti-scheduler")
    scheduler.register(sweep, queue_name=queues.MAINTENANCE, interval=settings.sauti_sweep_interval)
    return scheduler
