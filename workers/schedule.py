"""The one place periodic jobs are registered."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import redis
from rq.cron import CronScheduler
from rq.exceptions import StopRequested

from gateway.settings import Settings
from workers import queues
from workers.digests import send_digests
from workers.retention import purge_closed_cases
from workers.sweep import sweep

# Digest times are minutes of a local clock: look every minute.
DIGEST_CHECK_SECONDS = 60
# Once a day, at a quiet hour of the server's clock; a first purge of years of cases
# may take a while.
RETENTION_CRON = "40 2 * * *"
RETENTION_TIMEOUT_SECONDS = 3600
# After Redis is lost, start again after 1 s, then 2, 4 … at most this many seconds.
RESTART_MAX_SECONDS = 30

log = logging.getLogger(__name__)


def build_scheduler(*, settings: Settings, connection: redis.Redis) -> CronScheduler:
    """Register every periodic job on a scheduler; `sauti scheduler` starts it.

    - the sweep (escalation, unrouted reports, due and stuck SMS), every
      `SAUTI_SWEEP_INTERVAL` seconds;
    - the daily digests, checked every minute;
    - retention, once a day: closed cases lose their personal content after
      `SAUTI_RETENTION_DAYS` days.
    """
    scheduler = CronScheduler(connection=connection, name="sauti-scheduler")
    scheduler.register(sweep, queue_name=queues.MAINTENANCE, interval=settings.sauti_sweep_interval)
    scheduler.register(send_digests, queue_name=queues.MAINTENANCE, interval=DIGEST_CHECK_SECONDS)
    scheduler.register(
        purge_closed_cases,
        queue_name=queues.MAINTENANCE,
        cron=RETENTION_CRON,
        job_timeout=RETENTION_TIMEOUT_SECONDS,
    )
    return scheduler


def run_scheduler(
    *,
    settings: Settings,
    connection: redis.Redis,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Run the periodic jobs until SIGTERM or Ctrl-C, riding over Redis outages.

    RQ's CronScheduler stops at the first Redis error; a restart, a failover or a network
    blip would then leave no sweep, digest or purge until someone restarts the process.
    Here the scheduler is built and started again after a growing pause, on the same
    connection (which, for a redis+sentinel:// URL, finds the new master)."""
    delay = 1.0
    while True:
        started = time.monotonic()
        try:
            build_scheduler(settings=settings, connection=connection).start()  # type: ignore[no-untyped-call]
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            if time.monotonic() - started > RESTART_MAX_SECONDS:
                delay = 1.0  # it ran a while: a new outage, not the same one
            log.warning(
                "scheduler lost Redis (%s); starting again in %.0f s", type(exc).__name__, delay
            )
            try:
                sleep(delay)
            except (StopRequested, KeyboardInterrupt):
                return
            delay = min(delay * 2, RESTART_MAX_SECONDS)
        else:
            return  # stopped by SIGTERM or Ctrl-C
