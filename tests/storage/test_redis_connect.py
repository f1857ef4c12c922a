"""Redis URLs: plain ones pass through to redis-py; redis+sentinel:// ones are taken apart
here, and a wrong one is refused at start-up with what is wrong, never with its password."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from gateway.settings import Settings
from storage import redis_connect
from storage.redis_connect import RedisUrlError, SentinelUrl, parse_sentinel


def test_a_full_sentinel_url_is_taken_apart() -> None:
    url = (
        "redis+sentinel://app:s%40cret@10.0.0.1:26380,[fd00::2],sentinel-3.internal:26381"
        "/sauti-main/4?sentinel_password=watch&sentinel_username=watcher&ssl=true"
    )
    assert parse_sentinel(url) == SentinelUrl(
        sentinels=(("10.0.0.1", 26380), ("fd00::2", 26379), ("sentinel-3.internal", 26381)),
        service="sauti-main",
        db=4,
        username="app",
        password="s@cret",
        sentinel_username="watcher",
        sentinel_password="watch",
        ssl=True,
    )


def test_the_shortest_sentinel_url_takes_the_defaults() -> None:
    parsed = parse_sentinel("redis+sentinel://sentinel/mymaster")
    assert parsed == SentinelUrl(sentinels=(("sentinel", 26379),), service="mymaster")


def test_credentials_go_where_they_belong() -> None:
    parsed = parse_sentinel("redis+sentinel://:pw@h/m?sentinel_password=spw")
    options = {"socket_timeout": 2.0, "socket_connect_timeout": 2.0, "health_check_interval": 5}
    assert parsed.master_kwargs(options) == {**options, "db": 0, "password": "pw"}
    # The sentinels get the timeouts and their own password, not the master's.
    assert parsed.sentinel_kwargs(options) == {
        "socket_timeout": 2.0,
        "socket_connect_timeout": 2.0,
        "password": "spw",
    }


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("redis+sentinel://h1:26379", "service name is missing"),
        ("redis+sentinel://h1:26379/", "service name is missing"),
        ("redis+sentinel://h1/m/zero", "'zero' is not a whole number"),
        ("redis+sentinel://h1/m/0/extra", "more than a service name"),
        ("redis+sentinel://h1,,h2/m", "a sentinel address is empty"),
        ("redis+sentinel://h1:port/m", "has no valid port"),
        ("redis+sentinel://h1:70000/m", "has no valid port"),
        ("redis+sentinel://:26379/m", "has no host"),
        ("redis+sentinel://h1/m?timeout=3", "unknown option 'timeout'"),
    ],
)
def test_a_wrong_sentinel_url_says_what_is_wrong(url: str, message: str) -> None:
    with pytest.raises(RedisUrlError, match=message):
        parse_sentinel(url)


@pytest.mark.parametrize(
    "url",
    [
        "redis://127.0.0.1:6379/0",
        "rediss://user:pw@redis.example.org:6380/1",
        "unix:///var/run/redis.sock",
        "redis+sentinel://a,b/m/1",
    ],
)
def test_settings_take_every_kind_of_url(url: str) -> None:
    assert Settings(redis_url=url).redis_url == url


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://127.0.0.1:6379", "starts with redis://"),
        ("127.0.0.1:6379", "starts with redis://"),
        ("redis+sentinel://:topsecret@h1:x/m", "has no valid port"),
    ],
)
def test_settings_refuse_an_unusable_url_without_echoing_a_password(url: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message) as refused:
        Settings(redis_url=url)
    assert "topsecret" not in str(refused.value).replace(repr(url), "")


def test_display_hides_passwords() -> None:
    shown = redis_connect.display(
        "redis+sentinel://app:s3cret@h1,h2/m/0?sentinel_password=w4tch&ssl=true"
    )
    assert shown == "redis+sentinel://app:***@h1,h2/m/0?sentinel_password=***&ssl=true"
    assert redis_connect.display("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
    assert redis_connect.display("rediss://:pw@host/0") == "rediss://:***@host/0"


def test_a_plain_url_gives_a_plain_client_with_the_options() -> None:
    client = redis_connect.connect("redis://127.0.0.1:6399/3", socket_timeout=1.5)
    kwargs = client.connection_pool.connection_kwargs
    assert (kwargs["port"], kwargs["db"], kwargs["socket_timeout"]) == (6399, 3, 1.5)
    client.close()
