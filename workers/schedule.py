"""The one place periodic jobs are registered."""

from __future__ import annotations

import redis
from rq.cron import CronScheduler

from storage.settings import Settings
from workers import queues
from workers.digests import send_digests
from workers.retention import purge_closed_cases
from workers.signals import sweep_signals
from workers.sweep import sweep

# Digest times are minutes of a local clock: look every minute.
DIGEST_CHECK_SECONDS = 60
# Once a day, at a quiet hour of the server's clock; a first purge of years of cases
# may take a while.
RETENTION_CRON = "40 2 * * *"
RETENTION_TIMEOUT_SECONDS = 3600
# Signals are raised as reports are routed; this re-check only catches a check that never
# ran, so every ten minutes is enough.
SIGNAL_SWEEP_SECONDS = 600


def build_scheduler(
    *,
    settings: Settings,
    connection: redis.Redis,
    scheduler_class: type[CronScheduler] = CronScheduler,
) -> CronScheduler:
    """Register every periodic job on a scheduler; `sauti scheduler` starts it.

    - the sweep (escalation, unrouted reports, due and stuck SMS), every
      `SAUTI_SWEEP_INTERVAL` seconds;
    - the daily digests, checked every minute;
    - the signal sweep (the last day's reports checked again for signals), every ten
      minutes;
    - retention, once a day: closed cases lose their personal content after
      `SAUTI_RETENTION_DAYS` days.
    """
    scheduler = scheduler_class(connection=connection, name="sauti-scheduler")
    scheduler.register(sweep, queue_name=queues.MAINTENANCE, interval=settings.sauti_sweep_interval)
    scheduler.register(send_digests, queue_name=queues.MAINTENANCE, interval=DIGEST_CHECK_SECONDS)
    scheduler.register(sweep_signals, queue_name=queues.MAINTENANCE, interval=SIGNAL_SWEEP_SECONDS)
    scheduler.register(
        purge_closed_cases,
        queue_name=queues.MAINTENANCE,
        cron=RETENTION_CRON,
        job_timeout=RETENTION_TIMEOUT_SECONDS,
    )
    return scheduler
