"""Replays `cases.jsonl` (request → status, body, stored rows) against the shared server, in order.

`{sk_live}`, `{pk_live}`, ... anywhere in a case are the server's keys; `encode` says how the
body travels (helpers.encode); `query` values that are objects are sent as JSON (or base64 of
it with `compression=base64`); `stored` lists the live rows expected for an event name (only
the fields given are compared; `properties` as parsed JSON).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.dialects.posthog.helpers import CHROME, encode, fill, rows
from tests.support.server import Server

CASES = [json.loads(line) for line in (Path(__file__).parent / "cases.jsonl").read_text().splitlines() if line.strip()]


def test_cases_file_is_well_formed() -> None:
    assert len({c["case"] for c in CASES}) == len(CASES)
    for case in CASES:
        assert {"case", "path", "status", "response"} <= case.keys(), case["case"]


def _query(case: dict[str, Any], keys: dict[str, str]) -> dict[str, str]:
    out = {}
    for name, value in fill(case.get("query", {}), keys).items():
        if isinstance(value, (dict, list)):
            text = json.dumps(value)
            value = base64.b64encode(text.encode()).decode() if case["query"].get("compression") == "base64" else text
        out[name] = value
    return out


@pytest.fixture(scope="module")
def replayed(server: Server) -> dict[str, httpx.Response]:
    """Every case, sent once and in file order (the duplicate-uuid pair depends on it)."""
    keys = {k: str(v) for k, v in server.keys.items()}
    out = {}
    with httpx.Client(base_url=server.url, timeout=30) as c:
        for case in CASES:
            headers = {"user-agent": CHROME, **case.get("headers", {})}
            content = None
            if "raw" in case:
                content = case["raw"].encode()
            elif "body" in case:
                content, extra = encode(fill(case["body"], keys), case.get("encode", "json"))
                headers.update(extra)
            out[case["case"]] = c.request(
                case.get("method", "POST"), fill(case["path"], keys), content=content,
                params=_query(case, keys), headers=headers,
            )
    return out


@pytest.mark.parametrize("case", CASES, ids=[c["case"] for c in CASES])
def test_case(server: Server, replayed: dict[str, httpx.Response], case: dict[str, Any]) -> None:
    r = replayed[case["case"]]
    assert r.status_code == case["status"], r.text
    assert r.json() == case["response"]
    if case.get("cors", True):
        assert r.headers["access-control-allow-origin"] == case.get("headers", {}).get("origin", "*")
    if "stored" in case:
        got = rows(server, event=case["stored"]["event"])
        want = case["stored"]["rows"]
        assert len(got) == len(want), got
        for row, expected in zip(got, want, strict=True):
            if "properties" in expected:
                row = {**row, "properties": json.loads(row["properties"])}
            assert {k: row[k] for k in expected} == expected
