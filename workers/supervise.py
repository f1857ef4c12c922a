"""The worker and scheduler processes, kept going while Redis comes and goes.

RQ's worker quits at a Redis error met outside a job's own code (saving a job's result,
a heartbeat), and RQ's cron scheduler at any Redis error. A restart of Redis, a failover
to another master or a network blip would then leave a machine without workers or
without sweeps until someone starts them again. Here each is started again after a pause
that grows while Redis stays away (1 s, 2, 4 … 30 s), on the same connection, which for a
redis+sentinel:// URL finds the new master. A job interrupted that way is taken care of
as after any crash: its effects are idempotent and the sweep re-enqueues what is due.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from types import FrameType

import redis
from rq import SimpleWorker
from rq.exceptions import StopRequested

from gateway.settings import Settings
from workers import queues
from workers.schedule import build_scheduler

MAX_PAUSE_SECONDS = 30.0

log = logging.getLogger(__name__)


class _Worker(SimpleWorker):
    """RQ's SimpleWorker, remembering whether SIGTERM or Ctrl-C asked it to stop: RQ's
    `work()` returns the same way after such a request and after quitting on an error."""

    stop_asked = False

    def request_stop(self, signum: int, frame: FrameType | None) -> None:
        self.stop_asked = True
        super().request_stop(signum, frame)  # type: ignore[no-untyped-call]


class Restarts:
    """Pauses between restarts: doubling from 1 s up to MAX_PAUSE_SECONDS, and back to 1 s
    after a run that lasted longer than the longest pause (a new outage, not the same)."""

    def __init__(self, what: str, sleep: Callable[[float], None] = time.sleep) -> None:
        self.what = what
        self.sleep = sleep
        self.delay = 1.0

    def pause(self, ran_for: float, reason: str) -> bool:
        """Wait before the next start; False when asked to stop while waiting."""
        if ran_for > MAX_PAUSE_SECONDS:
            self.delay = 1.0
        log.warning("%s lost Redis (%s); starting again in %.0f s", self.what, reason, self.delay)
        try:
            self.sleep(self.delay)
        except (StopRequested, KeyboardInterrupt):
            return False
        self.delay = min(self.delay * 2, MAX_PAUSE_SECONDS)
        return True


def run_worker(
    *,
    settings: Settings,
    connection: redis.Redis,
    burst: bool = False,
    restarts: Restarts | None = None,
) -> None:
    """Run jobs from every queue until SIGTERM or Ctrl-C (or, with `burst`, until the
    queues are empty), starting a new worker whenever RQ's quits on a lost Redis.

    Jobs are short (a few queries, one provider call): forking a process for each would
    cost more than the job and its fresh database connection, hence RQ's SimpleWorker. Job
    timeouts still apply; run more worker processes for more throughput."""
    restarts = restarts or Restarts("worker")
    while True:
        started = time.monotonic()
        worker: _Worker | None = None
        try:
            worker = _Worker(  # it names itself to Redis already
                [queues.queue(name, connection=connection) for name in queues.ALL],
                connection=connection,
            )
            worker.work(
                burst=burst, with_scheduler=True, logging_level=settings.sauti_log_level.upper()
            )
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            reason = type(exc).__name__  # raised while saying goodbye to a Redis that is gone
        else:
            if burst or worker.stop_asked:
                return
            reason = "the worker quit"
        if not restarts.pause(time.monotonic() - started, reason):
            return


def run_scheduler(
    *,
    settings: Settings,
    connection: redis.Redis,
    restarts: Restarts | None = None,
) -> None:
    """Enqueue the periodic jobs until SIGTERM or Ctrl-C, starting the schedule again
    whenever RQ's cron scheduler stops on a lost Redis."""
    restarts = restarts or Restarts("scheduler")
    while True:
        started = time.monotonic()
        try:
            build_scheduler(settings=settings, connection=connection).start()  # type: ignore[no-untyped-call]
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            if not restarts.pause(time.monotonic() - started, type(exc).__name__):
                return
        else:
            return  # stopped by SIGTERM or Ctrl-C
