"""Redis URLs: plain ones pass through to redis-py; redis+sentinel:// ones are taken apart
here, and a wrong one is refused at start-up with what is wrong, never with its password."""

from __future__ import annotations

import pytest

from storage import redis_connect
from storage.redis_connect import RedisUrlError, SentinelUrl, parse_sentinel
from storage.settings import Settings, SettingsError, load_settings


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
        ("redis+sentinel://h1/m/zero", "database number .* is not a whole number"),
        ("redis+sentinel://h1/m/0/extra", "more than a service name"),
        ("redis+sentinel://h1,,h2/m", "sentinel address 2 is empty"),
        ("redis+sentinel://h1:port/m", "sentinel address 1 has no valid port"),
        ("redis+sentinel://h1,h2:70000/m", "sentinel address 2 has no valid port"),
        ("redis+sentinel://h1:/m", "sentinel address 1 has no valid port"),
        ("redis+sentinel://:26379/m", "sentinel address 1 has no host"),
        ("redis+sentinel://fe80::1/m", "write it as \\[ADDRESS\\]:PORT"),
        ("redis+sentinel://[fe80::1/m", "opens a '\\[' it does not close"),
        ("redis+sentinel://[fe80::1]x/m", "other than :PORT"),
        ("redis+sentinel://h1/m?timeout=3", "unknown option 'timeout'"),
        ("redis+sentinel://h1/m?ssl=maybe", "option 'ssl' takes true or false"),
        ("redis+sentinel://h1/m?ssl=1&ssl=0", "option 'ssl' is given twice"),
        ("redis+sentinel://h1/m#frag", "the URL holds a '#'"),
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
        # Characters that should have been percent-encoded in the password.
        ("redis+sentinel://:top/secret@h1/m", "holds a '/'"),
        ("redis+sentinel://:top?secret@h1/m", "sentinel address 1 has no host"),
        ("redis+sentinel://:top#secret@h1/m", "holds a '#'"),
        ("redis://:top/secret@redis.internal:6379/0", "holds a '/'"),
        ("redis://:topsecret@redis.internal:x/0", "cannot be read"),
        ("rediss://:top?secret@redis.internal:6380/0", "cannot be read"),
    ],
)
def test_settings_refuse_an_unusable_url_without_echoing_a_password(
    url: str, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDIS_URL", url)
    with pytest.raises(SettingsError, match=message) as refused:
        load_settings()
    assert "top" not in str(refused.value)
    assert "secret" not in str(refused.value)


def test_a_plain_url_gives_a_plain_client_with_the_options() -> None:
    client = redis_connect.connect("redis://127.0.0.1:6399/3", socket_timeout=1.5)
    kwargs = client.connection_pool.connection_kwargs
    assert (kwargs["port"], kwargs["db"], kwargs["socket_timeout"]) == (6399, 3, 1.5)
    client.close()


def test_special_characters_in_passwords_survive_percent_encoding() -> None:
    parsed = parse_sentinel(
        "redis+sentinel://app:a%2Fb%3Fc%23d%40e%25f+g@h1/m?sentinel_password=p%26q+r%23s"
    )
    assert parsed.password == "a/b?c#d@e%f+g"
    assert parsed.sentinel_password == "p&q+r#s"  # '+' is a plus, not a space


def test_tls_reaches_the_sentinels_too() -> None:
    parsed = parse_sentinel("redis+sentinel://h1/m?ssl=true")
    assert parsed.sentinel_kwargs({"socket_timeout": 2}) == {"socket_timeout": 2, "ssl": True}
    assert parsed.master_kwargs({})["ssl"] is True
