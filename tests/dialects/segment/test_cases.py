"""Replays `cases.jsonl` (request → status, body, stored rows) against the shared server, in order.

`auth` is `basic:<key>` (Authorization: Basic), `body:<key>` (the body's `writeKey`) or null;
a key is one of the server's key names or a literal key, and `"{sk_live}"`-style placeholders
in paths and bodies name the server's keys. `stored` lists the live rows a query returns (only
the fields given are compared).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.dialects.segment.helpers import CHROME, basic, rows
from tests.support.server import Server

CASES = [json.loads(line) for line in (Path(__file__).parent / "cases.jsonl").read_text().splitlines() if line.strip()]


def _fill(value: Any, keys: dict[str, str]) -> Any:
    if isinstance(value, str):
        for name, key in keys.items():
            value = value.replace("{" + name + "}", key)
        return value
    if isinstance(value, dict):
        return {k: _fill(v, keys) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, keys) for v in value]
    return value


def test_cases_file_is_well_formed() -> None:
    assert len({c["case"] for c in CASES}) == len(CASES)
    for case in CASES:
        assert {"case", "path", "auth", "status", "response"} <= case.keys(), case["case"]


def _request(c: httpx.Client, server: Server, case: dict[str, Any]) -> httpx.Response:
    headers = {"user-agent": CHROME, **case.get("headers", {})}
    body = _fill(case.get("body"), server.keys)
    if case["auth"] is not None:
        how, _, name = case["auth"].partition(":")
        key = server.keys.get(name, name)
        if how == "basic":
            headers.update(basic(key))
        else:
            body = {**body, "writeKey": key}
    content = case["raw"].encode() if "raw" in case else json.dumps(body).encode() if body is not None else None
    if content is not None:
        headers["content-type"] = "text/plain"  # as analytics-next sends it
    path = _fill(case["path"], server.keys)
    return c.request(case.get("method", "POST"), path, content=content, headers=headers)


@pytest.fixture(scope="module")
def replayed(server: Server) -> dict[str, httpx.Response]:
    with httpx.Client(base_url=server.url, timeout=30) as c:
        return {case["case"]: _request(c, server, case) for case in CASES}


@pytest.mark.parametrize("case", CASES, ids=[c["case"] for c in CASES])
def test_case(server: Server, replayed: dict[str, httpx.Response], case: dict[str, Any]) -> None:
    r = replayed[case["case"]]
    assert r.status_code == case["status"], r.text
    assert r.json() == case["response"]
    if "stored" in case:
        got = rows(server, **case["stored"]["query"])
        want = case["stored"]["rows"]
        assert len(got) == len(want), got
        for row, expected in zip(got, want, strict=True):
            assert {k: row[k] for k in expected} == expected
