"""Redis clients from a URL: a plain Redis (`redis://`, `rediss://`, `unix://`) or the
master of a Redis Sentinel group (`redis+sentinel://`).

    redis+sentinel://[[USER]:PASSWORD@]HOST[:PORT][,HOST[:PORT]...]/SERVICE[/DB]
        [?sentinel_password=...&sentinel_username=...&ssl=true]

The hosts are the sentinels (port 26379 unless given); SERVICE is the master's name in
their configuration; USER and PASSWORD are the master's and replicas' ACL user and password
(the sentinels' own go in the query). Every command goes to the master the sentinels name
at that moment: after a failover the next connection is made to the new master, so a
process rides over a failover with the same errors as over a short Redis outage (a hop in
flight gets the apology screen, a job is retried), and needs no restart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import unquote

import redis
import redis.asyncio as aredis
from redis.asyncio.sentinel import Sentinel as AsyncSentinel
from redis.connection import parse_url
from redis.sentinel import Sentinel

SENTINEL_SCHEME = "redis+sentinel"
SENTINEL_PORT = 26379
_QUERY = {"sentinel_password", "sentinel_username", "ssl"}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class RedisUrlError(ValueError):
    """A Redis URL that cannot be used, with what is wrong with it (never its password)."""


@dataclass(frozen=True)
class SentinelUrl:
    sentinels: tuple[tuple[str, int], ...]
    service: str
    db: int = 0
    username: str | None = None
    password: str | None = None
    sentinel_username: str | None = None
    sentinel_password: str | None = None
    ssl: bool = False

    def sentinel_kwargs(self, options: dict[str, Any]) -> dict[str, Any]:
        """Options for the connections to the sentinels: their own credentials, the
        caller's timeouts."""
        kwargs = {k: v for k, v in options.items() if k.startswith("socket_")}
        if self.ssl:
            kwargs["ssl"] = True
        if self.sentinel_username:
            kwargs["username"] = self.sentinel_username
        if self.sentinel_password:
            kwargs["password"] = self.sentinel_password
        return kwargs

    def master_kwargs(self, options: dict[str, Any]) -> dict[str, Any]:
        kwargs = {**options, "db": self.db}
        if self.username:
            kwargs["username"] = self.username
        if self.password:
            kwargs["password"] = self.password
        if self.ssl:
            kwargs["ssl"] = True
        return kwargs


def is_sentinel(url: str) -> bool:
    return url.lower().startswith(SENTINEL_SCHEME + "://")


# Messages never quote the URL or a piece of it: a password typed with a character that
# should have been percent-encoded would end up in a log.
_ENCODE = "percent-encode '/', '?', '#', '@' and '%' in a user name or password"


def _split(url: str) -> tuple[str, str, str, str]:
    """(user info, address part, path, query) of `scheme://…`, split without guessing:
    the address part ends at the first '/' after the last '@' of the part before '?'."""
    if "#" in url:
        raise RedisUrlError(f"the URL holds a '#': {_ENCODE}")
    rest = url.split("://", 1)[1]
    before_query, _, query = rest.partition("?")
    userinfo, at, after = before_query.rpartition("@")
    if not at:
        userinfo, after = "", before_query
    if "/" in userinfo:
        raise RedisUrlError(f"the user or password holds a '/': {_ENCODE}")
    address, slash, path = after.partition("/")
    return userinfo, address, path if slash else "", query


def _query(text: str) -> dict[str, str]:
    """Query options, percent-decoded ('+' stays '+'), each name at most once."""
    options: dict[str, str] = {}
    for pair in filter(None, text.split("&")):
        name, _, value = pair.partition("=")
        name = unquote(name)
        if name not in _QUERY:
            raise RedisUrlError(f"unknown option {name!r} (known: {', '.join(sorted(_QUERY))})")
        if name in options:
            raise RedisUrlError(f"option {name!r} is given twice")
        options[name] = unquote(value)
    return options


def parse_sentinel(url: str) -> SentinelUrl:
    """The parts of a `redis+sentinel://` URL; RedisUrlError says what is wrong."""
    if not is_sentinel(url):
        raise RedisUrlError(f"not a {SENTINEL_SCHEME}:// URL")
    userinfo, address, path_text, query_text = _split(url)
    username, _, password = userinfo.partition(":")
    sentinels = tuple(_host_port(part, number) for number, part in enumerate(address.split(","), 1))
    path = [part for part in path_text.split("/") if part]
    if not path:
        raise RedisUrlError("the master's service name is missing (…/SERVICE[/DB])")
    if len(path) > 2:
        raise RedisUrlError("the path has more than a service name and a database number")
    db = 0
    if len(path) == 2:
        if not path[1].isdigit():
            raise RedisUrlError("the database number (…/SERVICE/DB) is not a whole number")
        db = int(path[1])
    query = _query(query_text)
    ssl = query.get("ssl", "false").lower()
    if ssl not in _TRUE | _FALSE:
        raise RedisUrlError("option 'ssl' takes true or false")
    return SentinelUrl(
        sentinels=sentinels,
        service=unquote(path[0]),
        db=db,
        username=unquote(username) or None,
        password=unquote(password) or None,
        sentinel_username=query.get("sentinel_username") or None,
        sentinel_password=query.get("sentinel_password") or None,
        ssl=ssl in _TRUE,
    )


def _host_port(text: str, number: int) -> tuple[str, int]:
    """HOST, HOST:PORT, [IPv6] or [IPv6]:PORT; errors name the address by its position."""
    text = text.strip()
    where = f"sentinel address {number}"
    if not text:
        raise RedisUrlError(f"{where} is empty (HOST[:PORT],HOST[:PORT]...)")
    if text.startswith("["):
        host, bracket, after = text[1:].partition("]")
        if not bracket:
            raise RedisUrlError(f"{where} opens a '[' it does not close")
        if after and not after.startswith(":"):
            raise RedisUrlError(f"{where} has something after its ']' other than :PORT")
        port_text = after[1:]
    elif text.count(":") > 1:
        raise RedisUrlError(f"{where} looks like an IPv6 address: write it as [ADDRESS]:PORT")
    else:
        host, _, port_text = text.partition(":")
        if ":" in text and not port_text:
            raise RedisUrlError(f"{where} has no valid port")
    if not host:
        raise RedisUrlError(f"{where} has no host")
    if not port_text:
        return host, SENTINEL_PORT
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise RedisUrlError(f"{where} has no valid port")
    return host, int(port_text)


def check_url(url: str) -> None:
    """Raise RedisUrlError when `url` cannot give a client (checked at start-up)."""
    if is_sentinel(url):
        parse_sentinel(url)
        return
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in {"redis", "rediss", "unix"}:
        raise RedisUrlError(
            "a Redis URL starts with redis://, rediss://, unix:// or redis+sentinel://"
        )
    _split(url)
    try:
        parse_url(url)  # type: ignore[no-untyped-call]
    except ValueError:
        # redis-py's own message quotes what it could not read, maybe a password.
        raise RedisUrlError(f"the host, port or database cannot be read ({_ENCODE})") from None


class _SentinelMaster(redis.Redis):
    """The master's client; closing it closes the connections to the sentinels too."""

    def close(self) -> None:
        super().close()
        manager = getattr(self.connection_pool, "sentinel_manager", None)
        for sentinel in getattr(manager, "sentinels", ()):
            sentinel.close()


class _AsyncSentinelMaster(aredis.Redis):
    """The asyncio master's client; closing it closes the connections to the sentinels."""

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        await super().aclose(close_connection_pool)
        manager = getattr(self.connection_pool, "sentinel_manager", None)
        for sentinel in getattr(manager, "sentinels", ()):
            await sentinel.aclose()


def connect(url: str, **options: Any) -> redis.Redis:
    """A client of the Redis at `url` (of the sentinels' current master for
    redis+sentinel://); `options` are redis-py connection options such as timeouts."""
    if not is_sentinel(url):
        return redis.Redis.from_url(url, **options)
    parsed = parse_sentinel(url)
    manager = Sentinel(  # type: ignore[no-untyped-call]
        list(parsed.sentinels),
        sentinel_kwargs=parsed.sentinel_kwargs(options),
        **parsed.master_kwargs(options),
    )
    master = manager.master_for(parsed.service, redis_class=_SentinelMaster)  # type: ignore[no-untyped-call]
    return cast(redis.Redis, master)


class _UncheckedPool(aredis.ConnectionPool):
    """A pool that hands out its connections without first polling each for unread data.

    A connection goes back to the pool only after its reply was read whole: a command cut
    short (an error, a timeout, a cancelled hop) disconnects it, and the next checkout
    connects afresh. The poll found nothing to catch, and cost a system call a command.
    """

    async def ensure_connection(self, connection: Any) -> None:
        if not connection.is_connected:
            await connection.connect()


def connect_async(url: str, *, checked: bool = True, **options: Any) -> aredis.Redis:
    """The asyncio client of the same Redis `connect` reaches; with `checked=False` (and
    a plain Redis URL) its connections are not polled on checkout (`_UncheckedPool`)."""
    if not is_sentinel(url):
        if checked:
            return aredis.Redis.from_url(url, **options)
        return aredis.Redis.from_pool(_UncheckedPool.from_url(url, **options))
    parsed = parse_sentinel(url)
    manager = AsyncSentinel(  # type: ignore[no-untyped-call]
        list(parsed.sentinels),
        sentinel_kwargs=parsed.sentinel_kwargs(options),
        **parsed.master_kwargs(options),
    )
    return cast(aredis.Redis, manager.master_for(parsed.service, redis_class=_AsyncSentinelMaster))
