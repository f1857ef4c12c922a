"""The worker and scheduler processes, kept going while Redis comes and goes.

RQ's worker quits at a Redis error met outside a job's own code (saving a job's result,
a heartbeat), and RQ's cron scheduler at any Redis error. A restart of Redis, a failover
to another master or a network blip would then leave a machine without workers or
without sweeps until someone starts them again. Here each is started again after a pause
that grows while Redis stays away (1 s, 2, 4 … 30 s), on the same connection, which for a
redis+sentinel:// URL finds the new master. A job interrupted that way is taken care of
as after any crash: its effects are idempotent and the sweep re-enqueues what is due.

A stop (SIGTERM, Ctrl-C) always wins: it is remembered whichever handler receives it
(RQ's, during a run, or this module's, before a run and during a pause), so neither a
Redis error met while RQ says goodbye nor a pause turns it into a restart.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import time
from collections.abc import Callable
from types import FrameType
from typing import cast

import redis
from rq import Queue, SimpleWorker
from rq.cron import CronScheduler
from rq.exceptions import StopRequested
from rq.job import Job

from storage.settings import Settings
from workers import queues
from workers.schedule import build_scheduler

MAX_PAUSE_SECONDS = 30.0

log = logging.getLogger(__name__)


class Stop:
    """Whether this process was asked to stop, by whichever signal handler got it."""

    def __init__(self) -> None:
        self.asked = False
        self.worker: SimpleWorker | None = None

    def ask(self) -> None:
        self.asked = True
        if self.worker is not None:
            # RQ's own flag too: its loop then ends even where the StopRequested raised by
            # its handler is swallowed (a signal arriving while a log line is written).
            self.worker._stop_requested = True

    def handle(self, signum: int, frame: FrameType | None) -> None:
        """The handler outside RQ's runs: remember, and unwind to the supervising loop."""
        self.ask()
        raise StopRequested

    def install(self) -> None:
        signal.signal(signal.SIGTERM, self.handle)
        signal.signal(signal.SIGINT, self.handle)


class _Worker(SimpleWorker):
    """RQ's SimpleWorker, telling the process's Stop when SIGTERM or Ctrl-C reach it: RQ's
    `work()` returns the same way after a stop and after quitting on an error."""

    stop: Stop | None = None

    def request_stop(self, signum: int, frame: FrameType | None) -> None:
        if self.stop is not None:
            self.stop.ask()
        super().request_stop(signum, frame)  # type: ignore[no-untyped-call]

    def dequeue_job_and_maintain_ttl(
        self, timeout: int | None, max_idle_time: int | None = None
    ) -> tuple[Job, Queue] | None:
        """Nothing more once a stop was asked for (RQ's loop then ends): RQ looks at its
        own flag only between jobs, not before it waits for the next one."""
        if self.stop is not None and self.stop.asked:
            return None
        return super().dequeue_job_and_maintain_ttl(timeout, max_idle_time)


class _Cron(CronScheduler):
    """RQ's cron scheduler, telling the process's Stop when SIGTERM or Ctrl-C reach it."""

    stop: Stop | None = None

    def _request_stop(self, signum: int, frame: FrameType | None) -> None:
        if self.stop is not None:
            self.stop.ask()
        super()._request_stop(signum, frame)  # type: ignore[no-untyped-call]


class Restarts:
    """Pauses between restarts: doubling from 1 s up to MAX_PAUSE_SECONDS, and back to 1 s
    after a run that lasted longer than the longest pause (a new outage, not the same)."""

    def __init__(
        self, what: str, stop: Stop | None = None, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.what = what
        self.stop = stop or Stop()
        self.sleep = sleep
        self.delay = 1.0

    def pause(self, ran_for: float, reason: str) -> bool:
        """Wait before the next start; False when a stop was asked for, before or during."""
        if self.stop.asked:
            return False
        if ran_for > MAX_PAUSE_SECONDS:
            self.delay = 1.0
        log.warning("%s lost Redis (%s); starting again in %.0f s", self.what, reason, self.delay)
        try:
            self.sleep(self.delay)
        except (StopRequested, KeyboardInterrupt):
            self.stop.ask()
        self.delay = min(self.delay * 2, MAX_PAUSE_SECONDS)
        return not self.stop.asked


def _end_children(grace: float = 5.0) -> None:
    """Stop what RQ forked (its scheduler process) and did not stop itself: a stop that
    arrives while RQ starts up leaves before RQ's own clean-up is in place."""
    children = multiprocessing.active_children()
    for child in children:
        child.terminate()
    deadline = time.monotonic() + grace
    for child in children:
        child.join(max(0.0, deadline - time.monotonic()))
        if child.is_alive():
            child.kill()
            child.join()


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
    stop = restarts.stop
    stop.install()
    try:
        while not stop.asked:
            started = time.monotonic()
            try:
                worker = _Worker(  # it names itself to Redis already
                    [queues.queue(name, connection=connection) for name in queues.ALL],
                    connection=connection,
                )
                worker.stop = stop
                stop.worker = worker
                worker.work(
                    burst=burst,
                    with_scheduler=True,
                    logging_level=settings.sauti_log_level.upper(),
                )
            except StopRequested:
                return  # asked before RQ's handlers were in place
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                reason = type(exc).__name__  # met while RQ was starting or saying goodbye
            else:
                if burst:
                    return
                reason = "the worker quit"
            stop.install()  # the handlers of the run that ended may still be in place
            _end_children()
            if not restarts.pause(time.monotonic() - started, reason):
                return
    finally:
        _end_children()


def run_scheduler(
    *,
    settings: Settings,
    connection: redis.Redis,
    restarts: Restarts | None = None,
) -> None:
    """Enqueue the periodic jobs until SIGTERM or Ctrl-C, starting the schedule again
    whenever RQ's cron scheduler stops on a lost Redis."""
    restarts = restarts or Restarts("scheduler")
    stop = restarts.stop
    stop.install()
    while not stop.asked:
        started = time.monotonic()
        try:
            cron = cast(
                _Cron,
                build_scheduler(settings=settings, connection=connection, scheduler_class=_Cron),
            )
            cron.stop = stop
            cron.start()  # type: ignore[no-untyped-call]
        except StopRequested:
            return
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            reason = type(exc).__name__
        else:
            return  # stopped by SIGTERM or Ctrl-C
        stop.install()  # the handlers of the run that ended may still be in place
        if not restarts.pause(time.monotonic() - started, reason):
            return
