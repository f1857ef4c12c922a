"""WhatsApp's 24-hour window per person: one Redis key by pseudonym, a marker and a TTL."""

from __future__ import annotations

import pytest
import redis

from storage.whatsapp_window import MARGIN, PREFIX, WINDOW, WhatsAppWindow, window_key

PSEUDONYM = "a" * 64


def test_a_window_opens_for_24_hours_and_the_last_minutes_count_as_closed(
    redis_client: redis.Redis,
) -> None:
    window = WhatsAppWindow(redis_client)
    assert not window.is_open(PSEUDONYM)
    window.opened(PSEUDONYM)
    assert window.is_open(PSEUDONYM)
    key = window_key(PSEUDONYM)
    assert key == PREFIX + PSEUDONYM
    assert WINDOW - 5 <= int(redis_client.ttl(key)) <= WINDOW
    assert redis_client.get(key) == b"1"
    redis_client.expire(key, MARGIN + 5)
    assert window.is_open(PSEUDONYM)
    redis_client.expire(key, MARGIN)
    assert not window.is_open(PSEUDONYM)
    window.opened(PSEUDONYM)  # each message opens it again
    assert int(redis_client.ttl(key)) > WINDOW - 5


def test_the_window_is_keyed_by_pseudonym_only(redis_client: redis.Redis) -> None:
    with pytest.raises(ValueError, match="pseudonym only"):
        WhatsAppWindow(redis_client).opened("+243812345678")
    with pytest.raises(ValueError, match="pseudonym only"):
        WhatsAppWindow(redis_client).is_open("whatsapp:+243812345678")
