"""The pauses between restarts of a worker or scheduler that lost Redis."""

from __future__ import annotations

import io
import logging

import pytest
from rq.exceptions import StopRequested

from gateway.services import _StopAwareHandler
from workers.supervise import MAX_PAUSE_SECONDS, Restarts, Stop


def test_pauses_double_up_to_the_ceiling_and_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    slept: list[float] = []
    restarts = Restarts("worker", sleep=slept.append)
    with caplog.at_level(logging.WARNING, logger="workers.supervise"):
        for _ in range(8):
            assert restarts.pause(0.1, "ConnectionError") is True
    assert slept == [1, 2, 4, 8, 16, 30, 30, 30]
    assert max(slept) == MAX_PAUSE_SECONDS
    assert caplog.messages[0] == "worker lost Redis (ConnectionError); starting again in 1 s"


def test_a_long_run_between_outages_starts_the_pauses_again_from_one_second() -> None:
    slept: list[float] = []
    restarts = Restarts("scheduler", sleep=slept.append)
    for _ in range(4):
        restarts.pause(0.5, "ConnectionError")
    restarts.pause(MAX_PAUSE_SECONDS + 1, "TimeoutError")
    assert slept == [1, 2, 4, 8, 1]


@pytest.mark.parametrize("signal_exception", [StopRequested, KeyboardInterrupt])
def test_a_stop_asked_for_during_a_pause_ends_the_restarts(
    signal_exception: type[BaseException],
) -> None:
    def interrupted(seconds: float) -> None:
        raise signal_exception

    assert Restarts("worker", sleep=interrupted).pause(0.1, "ConnectionError") is False


def test_no_pause_and_no_restart_once_a_stop_was_asked_for() -> None:
    slept: list[float] = []
    stop = Stop()
    stop.ask()  # e.g. SIGTERM reached RQ's handler, then RQ met a Redis error on its way out
    assert Restarts("worker", stop, sleep=slept.append).pause(0.1, "ConnectionError") is False
    assert slept == []


class _StopWhileWriting(io.StringIO):
    """A stream interrupted by a stop request (a signal handler raising) mid-write."""

    def write(self, text: str) -> int:
        raise StopRequested


def test_a_stop_raised_while_a_log_line_is_written_is_not_swallowed() -> None:
    handler = _StopAwareHandler(_StopWhileWriting())
    logger = logging.getLogger("tests.supervise.stop-while-writing")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        with pytest.raises(StopRequested):
            logger.warning("a line")
    finally:
        logger.removeHandler(handler)


def test_other_errors_while_writing_a_log_line_are_still_reported_not_raised(
    capsys: pytest.CaptureFixture[str],
) -> None:
    class Broken(io.StringIO):
        def write(self, text: str) -> int:
            raise OSError("disk full")

    handler = _StopAwareHandler(Broken())
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "a line", None, None)
    handler.emit(record)  # does not raise
    assert "Logging error" in capsys.readouterr().err
