"""`read_body`: the ASGI body in one or many messages, bounded as sent and after gzip."""

from __future__ import annotations

import asyncio
import gzip
from typing import Any

import pytest
from starlette.requests import ClientDisconnect, Request

from footfall.errors import PayloadTooLarge
from footfall.http import read_body


def request(messages: list[dict[str, Any]], headers: dict[str, str] | None = None) -> Request:
    queue = list(messages)

    async def receive() -> dict[str, Any]:
        return queue.pop(0)

    raw = [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    return Request({"type": "http", "method": "POST", "path": "/", "headers": raw}, receive)


def body(*chunks: bytes) -> list[dict[str, Any]]:
    return [
        {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
        for i, c in enumerate(chunks)
    ]


def test_one_message() -> None:
    assert asyncio.run(read_body(request(body(b'{"a":1}')), 100)) == b'{"a":1}'


def test_many_messages_are_joined_in_order() -> None:
    assert asyncio.run(read_body(request(body(b"ab", b"", b"cd", b"e")), 100)) == b"abcde"


def test_a_message_without_body_is_empty() -> None:
    assert asyncio.run(read_body(request([{"type": "http.request"}]), 100)) == b""


def test_the_limit_counts_every_chunk() -> None:
    with pytest.raises(PayloadTooLarge):
        asyncio.run(read_body(request(body(b"x" * 60, b"x" * 60)), 100))
    assert asyncio.run(read_body(request(body(b"x" * 50, b"x" * 50)), 100)) == b"x" * 100


def test_a_declared_length_over_the_limit_is_refused_before_reading() -> None:
    with pytest.raises(PayloadTooLarge):
        asyncio.run(read_body(request([], {"content-length": "101"}), 100))


def test_gzip_is_bounded_after_decoding() -> None:
    packed = gzip.compress(b"y" * 1000)
    gz = {"content-encoding": "gzip"}
    assert asyncio.run(read_body(request(body(packed), gz), 2000)) == b"y" * 1000
    with pytest.raises(PayloadTooLarge):
        asyncio.run(read_body(request(body(packed), gz), 500))


def test_a_client_that_leaves_mid_body() -> None:
    with pytest.raises(ClientDisconnect):
        asyncio.run(read_body(request([*body(b"ab", b"cd")[:1], {"type": "http.disconnect"}]), 100))
