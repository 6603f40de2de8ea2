"""Replays `cases.jsonl` (request → status, body, stored rows) against a real server, in order.

Every request is sent as the trackers send it (`Content-Type: text/plain`, a desktop Chrome
User-Agent, no key). `response` is the exact answer (`ok` text or Plausible's `{"errors": …}`);
`dropped` the `x-plausible-dropped` header; `stored` the rows of project `shop` with that event
name (and `url`, when given), compared on the fields listed (`properties` as parsed JSON).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.dialects.plausible.conftest import Site

CASES = [json.loads(line) for line in (Path(__file__).parent / "cases.jsonl").read_text().splitlines() if line.strip()]


def test_cases_file_is_well_formed() -> None:
    assert len({c["case"] for c in CASES}) == len(CASES)
    for case in CASES:
        assert {"case", "status", "response"} <= case.keys() and ("body" in case or "raw" in case), case["case"]


@pytest.fixture(scope="module")
def replayed(site: Site) -> dict[str, httpx.Response]:
    """Every case, sent once and in file order (engagement needs the visit the first case began)."""
    return {c["case"]: site.post(c["raw"] if "raw" in c else c["body"]) for c in CASES}


@pytest.mark.parametrize("case", CASES, ids=[c["case"] for c in CASES])
def test_case(site: Site, replayed: dict[str, httpx.Response], case: dict[str, Any]) -> None:
    r = replayed[case["case"]]
    assert r.status_code == case["status"], r.text
    if isinstance(case["response"], str):
        assert r.text == case["response"] and r.headers["content-type"].startswith("text/plain")
    else:
        assert r.json() == case["response"]
    assert r.headers["access-control-allow-origin"] == "*"
    assert r.headers.get("x-plausible-dropped") == case.get("dropped")
    if "stored" in case:
        want = case["stored"]
        got = [row for row in site.rows(event=want["event"]) if "url" not in want or row["url"] == want["url"]]
        assert len(got) == len(want["rows"]), got
        for row, expected in zip(got, want["rows"], strict=True):
            row = {**row, "properties": json.loads(row["properties"])}
            assert {k: row[k] for k in expected} == expected
