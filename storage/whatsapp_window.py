"""WhatsApp's 24-hour window, per person.

WhatsApp takes a free-form message to a person only within 24 hours of their last message
to the service; after that, only an approved template. Each inbound WhatsApp message opens
the window again (`opened`, by the Twilio webhook) and the sender asks whether it is still
open (`is_open`) before it chooses a free-form message, a template or an SMS.

One Redis key per person, keyed by the pseudonym of the bare number (the one every channel
gives the same phone, reporter or committee member alike), holding nothing but a marker,
and expiring with the window. The last `MARGIN` seconds count as closed: Twilio measures
the window from when WhatsApp took the person's message, a little before it reached us,
and a message accepted just before the end may reach WhatsApp just after it.
"""

from __future__ import annotations

import redis

from storage.privacy import is_pseudonym

PREFIX = "sauti:whatsapp-window:"
WINDOW = 24 * 3600
MARGIN = 600


def window_key(pseudonym: str) -> str:
    """The Redis key of a person's window."""
    if not is_pseudonym(pseudonym):
        raise ValueError("the WhatsApp window is keyed by pseudonym only")
    return PREFIX + pseudonym


class WhatsAppWindow:
    """Whether a person wrote by WhatsApp recently enough to be answered free-form."""

    def __init__(self, client: redis.Redis) -> None:
        self._redis = client

    def opened(self, pseudonym: str) -> None:
        """The person just wrote by WhatsApp: the window runs 24 hours from now."""
        self._redis.set(window_key(pseudonym), b"1", ex=WINDOW)

    def is_open(self, pseudonym: str) -> bool:
        """Whether a free-form message reaches the person (more than `MARGIN` seconds of
        the window left). Raises RedisError when Redis cannot be asked."""
        left = self._redis.ttl(window_key(pseudonym))
        return isinstance(left, int) and left > MARGIN
