"""Sending the outbox with the console provider: one JSON line per SMS, each message sent
once however often its job runs, the provider's rate limit shared by every worker."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from datetime import timedelta

import pytest
import redis

from storage import outbox
from storage.models import MessageKind, RecipientKind
from storage.settings import Settings
from tests.workers.conftest import NOW, console_lines, outbox_rows
from workers import queues
from workers.context import WorkerContext
from workers.notify import enqueue_sends, send_sms
from workers.outbound import OutboundMessage, Sent
from workers.ratelimit import RateLimit

MEMBER = "+243810000011"
REPORTER = "+243990000042"


def queue(ctx: WorkerContext, key: str = "test:1", *, to: str = MEMBER, kind: str = "alert") -> int:
    with ctx.sessions.begin() as session:
        message = outbox.queue_sms(
            session=session,
            crypto=ctx.crypto,
            dedupe_key=key,
            to_e164=to,
            body="Sauti case 482-177-3506: Accident, Bisie. Reply ACK 4821773506",
            language="en",
            kind=kind,
            recipient_kind=RecipientKind.MEMBER if to == MEMBER else RecipientKind.REPORTER,
            now=NOW,
        )
        assert message is not None
        return message.id


def test_console_appends_one_json_line_and_marks_delivered(
    ctx: WorkerContext, settings: Settings
) -> None:
    message_id = queue(ctx)
    assert send_sms(message_id, now=NOW) == "sent"
    [line] = console_lines(settings.console_outbox)
    assert line["to"] == MEMBER
    # Behind the suite's public URL an alert's text is withheld (test_console_outbox.py).
    assert line["body"] == "[text withheld: 62 characters, kind alert]"
    assert line["at"].endswith("+00:00")
    [row] = outbox_rows(ctx)
    assert (row.status, row.attempts, row.row.provider) == ("delivered", 1, "console")
    assert row.row.provider_id is not None
    assert row.row.provider_id.startswith("console-")
    assert stat.S_IMODE(os.stat(settings.console_outbox).st_mode) == 0o600


def test_a_send_job_run_twice_sends_once(
    ctx: WorkerContext, settings: Settings, run_jobs: Callable[[], None]
) -> None:
    message_id = queue(ctx)
    enqueue_sends([message_id, message_id], connection=ctx.redis)
    run_jobs()
    assert send_sms(message_id, now=NOW + timedelta(hours=1)) == "not due"
    assert len(console_lines(settings.console_outbox)) == 1


def test_a_reporter_number_is_dropped_once_sent(ctx: WorkerContext) -> None:
    message_id = queue(ctx, to=REPORTER, kind=MessageKind.REPORTER_MESSAGE)
    send_sms(message_id, now=NOW)
    [row] = outbox_rows(ctx)
    assert (row.status, row.to, row.row.to_enc) == ("delivered", None, None)


def test_a_message_not_yet_due_is_left_alone(ctx: WorkerContext, settings: Settings) -> None:
    message_id = queue(ctx)
    assert send_sms(message_id, now=NOW - timedelta(seconds=1)) == "not due"
    assert console_lines(settings.console_outbox) == []


def test_an_unwritable_console_outbox_is_retried(
    ctx: WorkerContext, settings: Settings, tmp_path: os.PathLike[str]
) -> None:
    settings.console_outbox.parent.mkdir(parents=True, exist_ok=True)
    settings.console_outbox.mkdir()  # a directory where the file should be
    message_id = queue(ctx)
    assert send_sms(message_id, now=NOW) == "retry"
    [row] = outbox_rows(ctx)
    assert (row.status, row.attempts) == ("queued", 1)
    assert row.row.last_error is not None
    assert "console outbox" in row.row.last_error


def test_a_rate_limited_send_is_deferred_not_claimed(
    ctx: WorkerContext, monkeypatch: pytest.MonkeyPatch, redis_client: redis.Redis
) -> None:
    message_id = queue(ctx)
    monkeypatch.setattr(ctx.rate_limits["console"], "acquire", lambda: False)
    assert send_sms(message_id, now=NOW) == "deferred"
    [row] = outbox_rows(ctx)
    assert (row.status, row.attempts) == ("queued", 0)
    scheduled = queues.queue(queues.SMS, connection=redis_client).scheduled_job_registry
    assert len(scheduled.get_job_ids()) == 1


def test_the_rate_limit_is_shared_and_per_second(redis_client: redis.Redis) -> None:
    one = RateLimit(redis_client, name="twilio", per_second=2)
    two = RateLimit(redis_client, name="twilio", per_second=2)
    other = RateLimit(redis_client, name="console", per_second=2)
    assert one.try_acquire(1000.1) == 0.0
    assert two.try_acquire(1000.2) == 0.0
    assert one.try_acquire(1000.25) == pytest.approx(0.75)
    assert other.try_acquire(1000.3) == 0.0
    assert two.try_acquire(1001.0) == 0.0


def test_acquire_waits_for_the_next_second_and_gives_up_after_max_wait(
    redis_client: redis.Redis,
) -> None:
    limit = RateLimit(redis_client, name="slow", per_second=1)
    clock = [2000.5]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    assert limit.acquire(clock=lambda: clock[0], sleep=sleep)
    assert limit.acquire(clock=lambda: clock[0], sleep=sleep)
    assert slept == [pytest.approx(0.5)]
    assert not limit.acquire(clock=lambda: clock[0], sleep=sleep, max_wait=0.1)


class Broken:
    name = "broken"

    def send(self, message: OutboundMessage) -> Sent:
        raise RuntimeError("a bug in the provider")


@pytest.mark.parametrize("provider", [Broken()])
def test_an_unexpected_error_counts_as_an_attempt_and_fails_the_job(ctx: WorkerContext) -> None:
    message_id = queue(ctx)
    with pytest.raises(RuntimeError):
        send_sms(message_id, now=NOW)
    [row] = outbox_rows(ctx)
    assert (row.status, row.attempts, row.row.last_error) == (
        "queued",
        1,
        "unexpected RuntimeError",
    )
