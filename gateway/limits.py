"""Abuse limits on reporters: reports a day, case status checks and inbound SMS (and, apart
from them, inbound WhatsApp messages) an hour.

A flood from one number must not bury the committees under reports or run up the SMS
bill, and must not let anyone walk through case numbers. Each limit is a fixed window in
Redis keyed by the caller's pseudonym (never the number): the first use starts the window
and sets its TTL, later ones do not extend it, so the TTL says when the caller may go on.

Reports and status checks keep, for the window, the set of hops they counted: a gateway
retrying the same hop (the same submission key) is not counted twice, and a refused
attempt is not counted at all. Inbound SMS are counted with a plain counter: a repeated
delivery of one message is already answered from the de-duplication cache, before this.
WhatsApp messages have a counter of their own, with the same allowance: a person who
writes by both is answered on each. Reports and status checks are one person's, whatever
the channel (the pseudonym is the bare number's).
When Redis cannot be asked, a check lets the caller through: a report is never refused
because the counter was out of reach.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from enum import StrEnum

from redis.asyncio import Redis
from redis.exceptions import RedisError

from storage.privacy import is_pseudonym
from storage.settings import Settings

log = logging.getLogger(__name__)

PREFIX = "sauti:limit:"
HOUR = 3600
DAY = 24 * HOUR
MEMBER_CHARS = 16


class Limit(StrEnum):
    REPORTS = "reports"
    STATUS = "status"
    SMS_IN = "sms_in"
    WHATSAPP_IN = "whatsapp_in"


# The inbound messages counted with a plain counter (`Limits.count_sms`).
INBOUND = frozenset({Limit.SMS_IN, Limit.WHATSAPP_IN})
WINDOWS: dict[Limit, int] = {
    Limit.REPORTS: DAY,
    Limit.STATUS: HOUR,
    Limit.SMS_IN: HOUR,
    Limit.WHATSAPP_IN: HOUR,
}

# KEYS[1]: the set of hops counted in the window. ARGV: this hop, the limit, the window.
# Returns {1 when the hop is allowed (counted now or before), seconds left in the window}.
COUNT_ONCE = """
local key = KEYS[1]
local allowed = 1
if redis.call('SISMEMBER', key, ARGV[1]) == 0 then
  if redis.call('SCARD', key) >= tonumber(ARGV[2]) then
    allowed = 0
  else
    redis.call('SADD', key, ARGV[1])
  end
end
local ttl = redis.call('TTL', key)
if ttl < 0 then
  redis.call('EXPIRE', key, ARGV[3])
  ttl = tonumber(ARGV[3])
end
return {allowed, ttl}
"""

# KEYS[1]: the window's counter. ARGV: the window. Returns {count, seconds left}.
COUNT = """
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('TTL', KEYS[1])
if ttl < 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
"""


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether a use is within its limit, and how long until the window ends.

    `notice` is set on the first use past the limit only: the one that is told about it.
    """

    allowed: bool
    retry_after: int
    notice: bool = False

    @property
    def hours(self) -> int:
        """The wait in whole hours, rounded up (a reporter reads "in 3 h", not seconds)."""
        return max(1, -(-self.retry_after // HOUR))

    @property
    def minutes(self) -> int:
        """The wait in whole minutes, rounded up."""
        return max(1, -(-self.retry_after // 60))


def window_key(limit: Limit, pseudonym: str) -> str:
    """The Redis key of a pseudonym's window for one limit."""
    if not is_pseudonym(pseudonym):
        raise ValueError("limits are keyed by pseudonym only")
    return f"{PREFIX}{limit.value}:{pseudonym}"


def _member(hop: str) -> str:
    return hashlib.sha256(hop.encode()).hexdigest()[:MEMBER_CHARS]


class Limits:
    """The reporters' limits, read from the settings; one Redis command per check."""

    def __init__(self, redis: Redis, settings: Settings) -> None:
        self._redis = redis
        self._numbers = {
            Limit.REPORTS: settings.sauti_limit_reports,
            Limit.STATUS: settings.sauti_limit_status,
            Limit.SMS_IN: settings.sauti_limit_sms_in,
            Limit.WHATSAPP_IN: settings.sauti_limit_sms_in,
        }
        self._count_once = redis.register_script(COUNT_ONCE)
        self._count = redis.register_script(COUNT)

    def number(self, limit: Limit) -> int:
        return self._numbers[limit]

    async def take(self, limit: Limit, pseudonym: str, hop: str) -> Verdict:
        """Count one report or status check for `hop` (a retry of it counts nothing more)."""
        key = window_key(limit, pseudonym)
        args: list[str | int] = [_member(hop), self._numbers[limit], WINDOWS[limit]]
        try:
            allowed, ttl = await self._count_once(keys=[key], args=args)
        except RedisError as exc:
            log.warning("limit not checked limit=%s (%s)", limit.value, type(exc).__name__)
            return Verdict(allowed=True, retry_after=0)
        verdict = Verdict(allowed=bool(allowed), retry_after=max(int(ttl), 1))
        if not verdict.allowed:
            log.info("limit reached limit=%s retry_after=%s", limit.value, verdict.retry_after)
        return verdict

    async def give_back(self, limit: Limit, pseudonym: str, hop: str) -> None:
        """Uncount a hop whose work did not happen (a report that could not be stored)."""
        try:
            await self._redis.srem(window_key(limit, pseudonym), _member(hop))
        except RedisError as exc:
            log.warning("limit not given back limit=%s (%s)", limit.value, type(exc).__name__)

    async def give_back_sms(self, pseudonym: str, limit: Limit = Limit.SMS_IN) -> None:
        """Uncount an inbound SMS (or, with `Limit.WHATSAPP_IN`, WhatsApp message) that could
        not be handled (the provider will send it again)."""
        _inbound(limit)
        try:
            await self._redis.decr(window_key(limit, pseudonym))
        except RedisError as exc:
            log.warning("limit not given back limit=%s (%s)", limit.value, type(exc).__name__)

    async def count_sms(self, pseudonym: str, limit: Limit = Limit.SMS_IN) -> Verdict:
        """Count one inbound SMS (or, with `Limit.WHATSAPP_IN`, WhatsApp message); past the
        limit only the first one gets a `notice`."""
        _inbound(limit)
        key = window_key(limit, pseudonym)
        try:
            count, ttl = await self._count(keys=[key], args=[WINDOWS[limit]])
        except RedisError as exc:
            log.warning("limit not checked limit=%s (%s)", limit.value, type(exc).__name__)
            return Verdict(allowed=True, retry_after=0)
        number = self._numbers[limit]
        verdict = Verdict(
            allowed=int(count) <= number,
            retry_after=max(int(ttl), 1),
            notice=int(count) == number + 1,
        )
        if verdict.notice:
            log.info("limit reached limit=%s retry_after=%s", limit.value, ttl)
        return verdict


def _inbound(limit: Limit) -> None:
    if limit not in INBOUND:
        raise ValueError(f"{limit.value} is not counted by inbound message")
