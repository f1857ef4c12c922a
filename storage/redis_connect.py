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
from urllib.parse import parse_qsl, unquote, urlsplit

import redis
import redis.asyncio as aredis
from redis.asyncio.sentinel import Sentinel as AsyncSentinel
from redis.sentinel import Sentinel

SENTINEL_SCHEME = "redis+sentinel"
SENTINEL_PORT = 26379
_QUERY = {"sentinel_password", "sentinel_username", "ssl"}
_TRUE = {"1", "true", "yes", "on"}


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


def parse_sentinel(url: str) -> SentinelUrl:
    """The parts of a `redis+sentinel://` URL; RedisUrlError says what is wrong."""
    if not is_sentinel(url):
        raise RedisUrlError(f"not a {SENTINEL_SCHEME}:// URL")
    rest = url[len(SENTINEL_SCHEME) + 3 :]
    # Split by hand: several host:port pairs are not a netloc urlsplit can take apart.
    netloc, _, tail = rest.partition("/")
    userinfo, at, hosts = netloc.rpartition("@")
    if not at:
        userinfo, hosts = "", netloc
    username, _, password = userinfo.partition(":")
    sentinels = tuple(_host_port(part) for part in hosts.split(","))
    parts = urlsplit("x://h/" + tail)
    path = [p for p in parts.path.split("/") if p]
    if not path:
        raise RedisUrlError("the master's service name is missing (…/SERVICE[/DB])")
    if len(path) > 2:
        raise RedisUrlError("the path has more than a service name and a database number")
    service = unquote(path[0])
    db = 0
    if len(path) == 2:
        if not path[1].isdigit():
            raise RedisUrlError(f"database number {path[1]!r} is not a whole number")
        db = int(path[1])
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    unknown = sorted(set(query) - _QUERY)
    if unknown:
        raise RedisUrlError(f"unknown option {unknown[0]!r} (known: {', '.join(sorted(_QUERY))})")
    return SentinelUrl(
        sentinels=sentinels,
        service=service,
        db=db,
        username=unquote(username) or None,
        password=unquote(password) or None,
        sentinel_username=query.get("sentinel_username") or None,
        sentinel_password=query.get("sentinel_password") or None,
        ssl=query.get("ssl", "").lower() in _TRUE,
    )


def _host_port(text: str) -> tuple[str, int]:
    text = text.strip()
    if not text:
        raise RedisUrlError("a sentinel address is empty (HOST[:PORT],HOST[:PORT]...)")
    if text.startswith("["):  # [IPv6]:port
        host, _, after = text[1:].partition("]")
        port_text = after.removeprefix(":")
    else:
        host, _, port_text = text.rpartition(":") if ":" in text else (text, "", "")
    if not host:
        raise RedisUrlError(f"sentinel address {text!r} has no host")
    if not port_text:
        return host, SENTINEL_PORT
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise RedisUrlError(f"sentinel address {text!r} has no valid port")
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


def connect_async(url: str, **options: Any) -> aredis.Redis:
    """The asyncio client of the same Redis `connect` reaches."""
    if not is_sentinel(url):
        return aredis.Redis.from_url(url, **options)
    parsed = parse_sentinel(url)
    manager = AsyncSentinel(  # type: ignore[no-untyped-call]
        list(parsed.sentinels),
        sentinel_kwargs=parsed.sentinel_kwargs(options),
        **parsed.master_kwargs(options),
    )
    return cast(aredis.Redis, manager.master_for(parsed.service, redis_class=_AsyncSentinelMaster))


def display(url: str) -> str:
    """The URL with any password replaced by ***, for logs and start-up banners."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    netloc, slash, tail = rest.partition("/")
    userinfo, at, hosts = netloc.rpartition("@")
    if at and ":" in userinfo:
        netloc = userinfo.split(":", 1)[0] + ":***@" + hosts
    base, q, query = tail.partition("?")
    if q:
        pairs = [
            (k, "***" if "password" in k.lower() else v)
            for k, v in parse_qsl(query, keep_blank_values=True)
        ]
        tail = base + "?" + "&".join(f"{k}={v}" for k, v in pairs)
    return f"{scheme}://{netloc}{slash}{tail}"
