"""The plain ASGI webhooks' form parser: every refusal, and the forms it reads."""

from __future__ import annotations

import asyncio
from collections.abc import MutableMapping
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.channels import formbody
from gateway.forms import MAX_BODY, MAX_FIELDS, BadForm


def scope(headers: dict[str, str] | None = None, query: str = "") -> dict[str, Any]:
    found = {"content-type": "application/x-www-form-urlencoded", **(headers or {})}
    return {
        "type": "http",
        "headers": [(k.encode(), v.encode()) for k, v in found.items()],
        "query_string": query.encode(),
    }


def receiver(*chunks: bytes, disconnect: bool = False) -> formbody.Receive:
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
        for i, chunk in enumerate(chunks)
    ]
    if disconnect:
        messages[-1]["more_body"] = True
        messages.append({"type": "http.disconnect"})

    async def receive() -> MutableMapping[str, Any]:
        return messages.pop(0)

    return receive


def read(body: bytes | list[bytes], **kwargs: Any) -> dict[str, str]:
    chunks = body if isinstance(body, list) else [body]
    return asyncio.run(formbody.read_form(scope(**kwargs), receiver(*chunks)))


def refused(body: bytes | list[bytes], **kwargs: Any) -> BadForm:
    with pytest.raises(BadForm) as caught:
        read(body, **kwargs)
    return caught.value


def test_reads_a_provider_form() -> None:
    body = b"sessionId=ATUid_1&serviceCode=%2A384%2A123%23&phoneNumber=%2B243812345678&text=1*2"
    assert read(body) == {
        "sessionId": "ATUid_1",
        "serviceCode": "*384*123#",
        "phoneNumber": "+243812345678",
        "text": "1*2",
    }


def test_plus_is_a_space_and_utf8_escapes_are_read() -> None:
    assert read(b"text=Ukuta+w%C3%A9+shimo") == {"text": "Ukuta wé shimo"}


def test_empty_pairs_are_skipped_and_a_bare_name_is_empty() -> None:
    assert read(b"a=1&&b&c=") == {"a": "1", "b": "", "c": ""}


def test_an_empty_body_is_an_empty_form_whatever_its_type() -> None:
    assert read(b"", headers={"content-type": "application/json"}) == {}


def test_no_content_type_is_read_as_a_form() -> None:
    assert asyncio.run(formbody.read_form(scope({"content-type": ""}), receiver(b"a=1"))) == {
        "a": "1"
    }


def test_a_body_in_chunks_is_read_whole() -> None:
    assert read([b"sessionId=A", b"B&text=", b"1*2"]) == {"sessionId": "AB", "text": "1*2"}


def test_a_declared_length_past_the_limit_is_refused_before_reading() -> None:
    async def never() -> MutableMapping[str, Any]:
        raise AssertionError("the body was read")

    headers = {"content-length": str(MAX_BODY + 1)}
    with pytest.raises(BadForm) as caught:
        asyncio.run(formbody.read_form(scope(headers), never))
    assert caught.value.status == 413


def test_a_body_growing_past_the_limit_is_refused() -> None:
    found = refused([b"text=", b"1" * MAX_BODY])
    assert (found.status, found.reason) == (413, "request body too large")


def test_another_content_type_gets_415() -> None:
    assert refused(b'{"text": ""}', headers={"content-type": "application/json"}).status == 415


def test_too_many_fields_get_400() -> None:
    body = "&".join(f"f{i}=1" for i in range(MAX_FIELDS + 1)).encode()
    assert (refused(body).status, refused(body).reason) == (400, "too many form fields")


@pytest.mark.parametrize("body", [b"text=%zz", b"text=100%", b"te%2xt=1", b"text=%C3%"])
def test_a_broken_percent_escape_gets_400(body: bytes) -> None:
    found = refused(body)
    assert found.status == 400
    assert found.reason in ("malformed percent-encoding", "form field is not UTF-8")


@pytest.mark.parametrize("body", [b"text=%FF%FE", b"text=\xff\xfe", b"%C3%28=1"])
def test_bytes_that_are_no_utf8_get_400(body: bytes) -> None:
    assert (refused(body).status, refused(body).reason) == (400, "form field is not UTF-8")


@pytest.mark.parametrize(
    "body", [b"text=1&text=2", b"phoneNumber=%2B1&phoneNumber=%2B2", b"text=&text=", b"a&a"]
)
def test_a_field_named_twice_gets_400(body: bytes) -> None:
    found = refused(body)
    assert found.status == 400
    assert "appears more than once" in found.reason


def test_a_client_gone_mid_body_gets_400() -> None:
    with pytest.raises(BadForm) as caught:
        asyncio.run(formbody.read_form(scope(), receiver(b"text=1", disconnect=True)))
    assert caught.value.status == 400


def test_the_token_is_the_last_one_in_the_query() -> None:
    assert formbody.query_value(scope(query="token=a&token=b%21"), "token") == "b!"
    assert formbody.query_value(scope(query="x=1"), "token") == ""


@given(st.binary(max_size=300))
def test_any_bytes_give_a_form_or_a_4xx(body: bytes) -> None:
    status = 200
    try:
        form = formbody.parse_form(body)
    except BadForm as exc:
        status, form = exc.status, {}
    assert status == 200 or 400 <= status < 500
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in form.items())


@given(st.dictionaries(st.text(min_size=1, max_size=20), st.text(max_size=50), max_size=8))
def test_what_a_client_encodes_is_read_back(form: dict[str, str]) -> None:
    from urllib.parse import urlencode

    try:
        body = urlencode(form).encode()
    except UnicodeEncodeError:  # lone surrogates: no client can send them
        return
    assert formbody.parse_form(body) == form
