"""Replays `cases.jsonl` (request → status, body, stored rows) against the shared server, in order.

`key` names one of the server's keys (or is a literal key, or null); `"{project_id}"` in an
expected body is the default project's id; `stored` lists the live rows expected for an event name
(only the fields given are compared).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.dialects.sankofa.helpers import CHROME, rows
from tests.support.server import Server

CASES = [json.loads(line) for line in (Path(__file__).parent / "cases.jsonl").read_text().splitlines() if line.strip()]


def _fill(value: Any, project_id: str) -> Any:
    if isinstance(value, str):
        return value.replace("{project_id}", project_id)
    if isinstance(value, dict):
        return {k: _fill(v, project_id) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, project_id) for v in value]
    return value


def test_cases_file_is_well_formed() -> None:
    assert len({c["case"] for c in CASES}) == len(CASES)
    for case in CASES:
        assert {"case", "path", "key", "status", "response"} <= case.keys(), case["case"]


@pytest.fixture(scope="module")
def replayed(server: Server) -> dict[str, httpx.Response]:
    """Every case, sent once and in file order (CAPTURE_PRISTINE depends on the order)."""
    out = {}
    with httpx.Client(base_url=server.url, timeout=30) as c:
        for case in CASES:
            headers = {"user-agent": CHROME, **case.get("headers", {})}
            if case["key"] is not None:
                headers["x-api-key"] = server.keys.get(case["key"], case["key"])
            content = case["raw"].encode() if "raw" in case else json.dumps(case["body"]).encode() if "body" in case else None
            if content is not None:
                headers["content-type"] = "application/json"
            out[case["case"]] = c.request(case.get("method", "POST"), case["path"], content=content, headers=headers)
    return out


@pytest.mark.parametrize("case", CASES, ids=[c["case"] for c in CASES])
def test_case(server: Server, replayed: dict[str, httpx.Response], case: dict[str, Any]) -> None:
    r = replayed[case["case"]]
    assert r.status_code == case["status"], r.text
    assert r.json() == _fill(case["response"], server.keys["project_id"])
    assert r.headers["access-control-allow-origin"] == "*"
    if "stored" in case:
        got = rows(server, server.keys["rk_live"], event=case["stored"]["event"])
        want = case["stored"]["rows"]
        assert len(got) == len(want)
        for row, expected in zip(got, want, strict=True):
            assert {k: row[k] for k in expected} == expected
