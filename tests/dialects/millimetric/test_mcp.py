"""`POST /mcp` and `POST /mcp/account`, driven by the official MCP SDK client against a real server."""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import httpx2
import pytest
from mcp import Client, ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult, TextResourceContents
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from tests.support.server import Server, cli

T = TypeVar("T")
ISO = "%Y-%m-%dT%H:%M:%SZ"
PROJECT_TOOLS = {"track_event", "query_events", "get_stats", "top_sources", "funnel"}
ACCOUNT_TOOLS = {"list_projects", "compare_projects", "get_stats", "top_sources"}
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"


@asynccontextmanager
async def connect(server: Server, key: str, path: str = "/mcp") -> AsyncIterator[ClientSession]:
    headers = {"Authorization": f"Bearer {key}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=30) as http,
        streamable_http_client(server.url + path, http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


def with_session(
    server: Server, key: str, fn: Callable[[ClientSession], Awaitable[T]], path: str = "/mcp"
) -> T:
    async def main() -> T:
        async with connect(server, key, path) as session:
            return await fn(session)

    return asyncio.run(main())


def call(server: Server, key: str, tool: str, path: str = "/mcp", **args: Any) -> CallToolResult:
    return with_session(server, key, lambda s: s.call_tool(tool, args), path)


def body(result: CallToolResult) -> dict[str, Any]:
    (content,) = result.content
    assert content.type == "text"
    parsed: dict[str, Any] = json.loads(content.text)
    assert result.structured_content == parsed
    return parsed


def ok(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, result.content
    return body(result)


def window() -> tuple[datetime, str, str]:
    """A day nobody else writes to, so answers are exact on the shared server."""
    base = datetime(2040, 1, 1, tzinfo=UTC) + timedelta(days=random.randrange(50_000))
    return base, base.strftime(ISO), (base + timedelta(days=1)).strftime(ISO)


@pytest.fixture(scope="module")
def account_key(server: Server) -> str:
    out = cli(server.data, "key", "create", "--kind", "ak", "--env", "live", "--json")
    key: str = json.loads(out.stdout)["key"]
    return key


def test_project_tools_are_listed_per_key_kind(server: Server) -> None:
    async def names(session: ClientSession) -> set[str]:
        return {t.name for t in (await session.list_tools()).tools}

    assert with_session(server, server.keys["sk_live"], names) == PROJECT_TOOLS
    # rk_ keys are read-only: track_event is not offered to them
    assert with_session(server, server.keys["rk_live"], names) == PROJECT_TOOLS - {"track_event"}


def test_track_event_then_query_events_sees_it(server: Server) -> None:
    anon = "mcp_" + uuid.uuid4().hex[:10]
    base, start, end = window()
    sk = server.keys["sk_live"]

    async def scenario(s: ClientSession) -> tuple[CallToolResult, CallToolResult]:
        tracked = await s.call_tool(
            "track_event",
            {
                "event": "signup", "anonymous_id": anon, "event_id": anon,
                "timestamp": (base + timedelta(hours=1)).strftime(ISO),
                "url": "https://shop.example/pricing?utm_source=newsletter&utm_medium=email",
                "properties": {"plan": "pro"},
            },
        )
        queried = await s.call_tool("query_events", {"from": start, "to": end, "anonymous_id": anon})
        return tracked, queried

    tracked, queried = with_session(server, sk, scenario)
    assert ok(tracked) == {"ok": True, "event_id": anon}
    (row,) = ok(queried)["rows"]
    assert (row["event_name"], row["event_id"], row["anonymous_id"]) == ("signup", anon, anon)
    assert json.loads(row["properties"]) == {"plan": "pro"}
    assert ok(queried) == {"rows": server.query(sk, anonymous_id=anon, **{"from": start, "to": end})}


def seed(server: Server, base: datetime, tag: str) -> None:
    urls = [
        "https://shop.example/?gclid=abc",
        "https://shop.example/?gclid=def",
        "https://shop.example/?utm_source=newsletter&utm_medium=email",
        "https://shop.example/",
    ]
    events = [
        {
            "event": name, "anonymous_id": f"{tag}_{i}", "url": url,
            "timestamp": (base + timedelta(hours=i, minutes=m)).strftime(ISO),
        }
        for i, url in enumerate(urls)
        for m, name in enumerate(("$pageview", "signup" if i % 2 == 0 else "$pageview"))
    ]
    with server.client(server.keys["sk_live"], **{"User-Agent": BROWSER}) as c:
        assert c.post("/v1/batch", json={"events": events}).status_code == 202


def test_stats_and_sources_answer_like_the_http_api(server: Server) -> None:
    base, start, end = window()
    seed(server, base, "mcpstats_" + uuid.uuid4().hex[:6])
    rk = server.keys["rk_live"]
    stats_args: dict[str, Any] = {
        "from": start, "to": end, "metric": "uniques", "group_by": ["source", "medium"],
        "interval": "day",
    }
    funnel_args = {"from": start, "to": end, "steps": "$pageview,signup", "window": "1d"}

    async def scenario(s: ClientSession) -> list[CallToolResult]:
        return [
            await s.call_tool("get_stats", stats_args),
            await s.call_tool("get_stats", {"from": start, "to": end, "event": "signup"}),
            await s.call_tool("get_stats", {"from": start, "to": end, "filters": {"medium": "paid"}}),
            await s.call_tool("top_sources", {"from": start, "to": end}),
            await s.call_tool("top_sources", {"from": start, "to": end, "breakdown": "source", "limit": 1}),
            await s.call_tool("funnel", {**funnel_args, "steps": ["$pageview", {"event": "signup"}]}),
        ]

    grouped, signups, paid, sources, top1, funnel = (ok(r) for r in with_session(server, rk, scenario))
    with server.client(rk) as c:
        http = {**stats_args, "group_by": "source,medium"}
        assert grouped == c.get("/v1/stats", params=http).json()
        assert signups == c.get("/v1/stats", params={"from": start, "to": end, "event": "signup"}).json()
        assert paid == c.get("/v1/stats", params={"from": start, "to": end, "medium": "paid"}).json()
        assert sources == c.get("/v1/sources", params={"from": start, "to": end}).json()
        assert top1 == c.get(
            "/v1/sources", params={"from": start, "to": end, "breakdown": "source", "limit": 1}
        ).json()
        http_funnel = c.get("/v1/funnel", params=funnel_args)
        assert http_funnel.status_code == 200, http_funnel.text
        assert funnel == http_funnel.json()
    # hand-computed: 8 events by 4 visitors, 2 signups, 4 paid (google) events
    assert signups == {"metric": "count", "rows": [{"value": 2}]}
    assert paid == {"metric": "count", "rows": [{"value": 4}]}
    assert {(r["source"], r["medium"], r["events"]) for r in sources["rows"]} == {
        ("google", "paid", 4), ("newsletter", "email", 2), ("direct", "direct", 2),
    }
    assert top1["rows"] == [{"source": "google", "events": 4, "uniques": 2, "paid_share": 1.0}]


def test_read_key_can_read_but_not_track(server: Server) -> None:
    rk = server.keys["rk_live"]
    _base, start, end = window()

    async def scenario(s: ClientSession) -> tuple[CallToolResult, CallToolResult]:
        return (
            await s.call_tool("track_event", {"event": "nope"}),
            await s.call_tool("query_events", {"from": start, "to": end}),
        )

    tracked, queried = with_session(server, rk, scenario)
    assert tracked.is_error
    error = body(tracked)
    assert error["error"] == "insufficient_scope"
    assert "read-only" in error["message"]
    assert ok(queried) == {"rows": []}


def test_invalid_arguments_are_tool_errors_with_stable_codes(server: Server) -> None:
    async def scenario(s: ClientSession) -> list[CallToolResult]:
        return [
            await s.call_tool("query_events", {"from": "yesterday", "limit": 5000}),
            await s.call_tool("get_stats", {"from": "2026-01-02", "to": "2026-01-01"}),
            await s.call_tool("get_stats", {"from": "2026-01-01", "to": "2026-01-02", "group_by": "shoe_size"}),
            await s.call_tool("get_stats", {"from": "2026-01-01", "to": "2026-01-02", "filters": {"x": "1"}}),
            await s.call_tool("top_sources", {"from": "2026-01-01", "to": "2026-01-02", "colour": "red"}),
            await s.call_tool("funnel", {"from": "2026-01-01", "to": "2026-01-02", "steps": ["only_one"]}),
            await s.call_tool("track_event", {"anonymous_id": "a"}),
            await s.call_tool("query_events", {"from": {"nested": 1}, "to": "2026-01-02"}),
        ]

    results = with_session(server, server.keys["sk_live"], scenario)
    assert all(r.is_error for r in results)
    errors = [body(r) for r in results]
    assert [e["error"] for e in errors] == [
        "invalid_params", "invalid_params", "invalid_group_by", "invalid_params", "invalid_params",
        "invalid_params", "invalid_payload", "invalid_params",
    ]
    assert set(errors[0]["details"]["errors"]) == {"from", "to", "limit"}
    assert "shoe_size" in errors[2]["details"]["invalid"]
    assert "colour" in errors[4]["details"]["errors"]
    assert errors[6]["details"]["field"] == "event"


def test_resources(server: Server) -> None:
    sk = server.keys["sk_live"]
    anon = "mcpres_" + uuid.uuid4().hex[:8]
    probe = "probe_" + uuid.uuid4().hex[:8]  # a name only this test sends, three times
    old = (datetime.now(UTC) - timedelta(days=31)).strftime(ISO)
    with server.client(sk) as c:
        assert c.post("/v1/track", json={"event": "resource_probe", "anonymous_id": anon}).status_code == 202
        batch = [{"event": probe, "anonymous_id": anon}] * 3 + [{"event": probe + "_old", "anonymous_id": anon, "timestamp": old}]
        assert c.post("/v1/batch", json={"events": batch}).status_code == 202
        assert c.post("/v1/track", json={"event": probe, "anonymous_id": anon}, headers={"Authorization": f"Bearer {server.keys['sk_test']}"}).status_code == 202

    async def scenario(s: ClientSession) -> tuple[set[str], Any, Any]:
        listed = {str(r.uri) for r in (await s.list_resources()).resources}
        recent = (await s.read_resource("events://recent")).contents[0]
        described = (await s.read_resource("schema://events")).contents[0]
        return listed, recent, described

    listed, recent, described = with_session(server, sk, scenario)
    assert listed == {"events://recent", "schema://events"}
    assert isinstance(recent, TextResourceContents) and isinstance(described, TextResourceContents)
    rows = json.loads(recent.text)["rows"]
    assert 1 <= len(rows) <= 50
    assert any(r["anonymous_id"] == anon for r in rows)
    schema = json.loads(described.text)
    assert {"source", "medium", "channel", "event_name"} <= set(schema["group_by_columns"])
    assert "timestamp" in {f["name"] for f in schema["event_fields"]}
    # the distinct names of the last 30 days with their counts, this environment only
    names = {n["name"]: n["count"] for n in schema["event_names"]}
    assert names[probe] == 3 and names["resource_probe"] >= 1
    assert probe + "_old" not in names
    assert schema["event_names_days"] == 30
    counts = [n["count"] for n in schema["event_names"]]
    assert counts == sorted(counts, reverse=True)
    # projects://all is an account resource only
    async def account_only(s: ClientSession) -> str:
        try:
            await s.read_resource("projects://all")
        except Exception as exc:  # the SDK's error for a JSON-RPC error answer
            return str(exc)
        return "read"

    assert "unknown resource" in with_session(server, sk, account_only)


def test_test_key_reads_only_its_environment(server: Server) -> None:
    anon = "mcpenv_" + uuid.uuid4().hex[:8]
    base, start, end = window()
    ts = (base + timedelta(minutes=5)).strftime(ISO)
    assert ok(call(server, server.keys["sk_live"], "track_event", event="x", anonymous_id=anon, timestamp=ts))
    live = ok(call(server, server.keys["rk_live"], "query_events", **{"from": start, "to": end}))
    test = ok(call(server, server.keys["rk_test"], "query_events", **{"from": start, "to": end}))
    assert [r["anonymous_id"] for r in live["rows"]] == [anon]
    assert test["rows"] == []


def post_mcp(server: Server, path: str, key: str | None) -> httpx.Response:
    headers = {"Accept": "application/json, text/event-stream"}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=30) as c:
        return c.post(path, json=ping)


def test_auth_is_checked_before_the_mcp_transport(server: Server, account_key: str) -> None:
    cases = [
        ("/mcp", None, 401, "missing_bearer_token"),
        ("/mcp", "not-a-key", 401, "malformed_api_key"),
        ("/mcp", "sk_live_abcdefgh_" + "x" * 40, 401, "invalid_api_key"),
        ("/mcp", server.keys["pk_live"], 403, "key_kind_not_allowed"),
        ("/mcp", account_key, 403, "key_kind_not_allowed"),
        ("/mcp/account", server.keys["sk_live"], 403, "account_key_required"),
        ("/mcp/account", server.keys["rk_live"], 403, "account_key_required"),
        ("/mcp/account", server.keys["pk_live"], 403, "account_key_required"),
        ("/mcp/account", None, 401, "missing_bearer_token"),
    ]
    for path, key, status, code in cases:
        r = post_mcp(server, path, key)
        assert (r.status_code, r.json()["error"]) == (status, code), (path, key, r.text)
        assert "details" in r.json()
    assert post_mcp(server, "/mcp", server.keys["rk_live"]).status_code == 200
    assert post_mcp(server, "/mcp/account", account_key).status_code == 200


def test_account_tools(server: Server, account_key: str, other_project: dict[str, object]) -> None:
    base, start, end = window()
    ts = (base + timedelta(minutes=1)).strftime(ISO)
    default_id = server.keys["project_id"]
    with server.client(server.keys["sk_live"], **{"User-Agent": BROWSER}) as c:
        events = [{"event": "acct", "anonymous_id": f"acct{i}", "timestamp": ts} for i in range(3)]
        assert c.post("/v1/batch", json={"events": events}).status_code == 202
    path = "/mcp/account"

    async def scenario(s: ClientSession) -> list[Any]:
        return [
            {t.name for t in (await s.list_tools()).tools},
            await s.call_tool("list_projects", {}),
            await s.call_tool("compare_projects", {"from": start, "to": end, "event": "acct"}),
            await s.call_tool("get_stats", {"project_id": default_id, "from": start, "to": end}),
            await s.call_tool("top_sources", {"project_id": str(other_project["project_id"]), "from": start, "to": end}),
            await s.call_tool("get_stats", {"project_id": "nope", "from": start, "to": end}),
            await s.call_tool("compare_projects", {"from": start}),
            (await s.read_resource("events://recent")).contents[0],
            {str(r.uri) for r in (await s.list_resources()).resources},
            (await s.read_resource("projects://all")).contents[0],
        ]

    names, projects, compared, stats, sources, missing, invalid, recent, resources, every = with_session(
        server, account_key, scenario, path
    )
    assert resources == {"events://recent", "schema://events", "projects://all"}
    assert isinstance(every, TextResourceContents)
    all_projects = {p["id"]: p for p in json.loads(every.text)["projects"]}
    assert {default_id, other_project["project_id"]} <= set(all_projects)
    mine = all_projects[str(other_project["project_id"])]
    assert set(mine) == {"id", "name", "created_at"} and mine["name"] == other_project["name"]
    datetime.fromisoformat(mine["created_at"].replace("Z", "+00:00"))
    recent_rows = json.loads(recent.text)["rows"]
    assert {r["project_id"] for r in recent_rows} <= {p["id"] for p in ok(projects)["projects"]}
    assert recent_rows and len(recent_rows) <= 50
    stamps = [r["timestamp"] for r in recent_rows]
    assert stamps == sorted(stamps, reverse=True)  # newest first, across projects
    assert names == ACCOUNT_TOOLS
    listed = {p["id"]: p for p in ok(projects)["projects"]}
    assert {default_id, other_project["project_id"]} <= set(listed)
    assert listed[str(other_project["project_id"])]["origins"] == ["https://other.example"]
    rows = {r["project_id"]: r["value"] for r in ok(compared)["rows"]}
    assert rows[default_id] == 3
    assert rows[str(other_project["project_id"])] == 0
    assert ok(stats) == {"metric": "count", "rows": [{"value": 3}]}
    assert ok(sources) == {"breakdown": "source_medium", "rows": []}
    assert missing.is_error and body(missing)["error"] == "project_not_found"
    assert invalid.is_error and body(invalid)["error"] == "invalid_params"


def test_modern_protocol_client_reaches_the_same_tools(server: Server) -> None:
    """`mcp.Client` in its default mode negotiates the 2026 per-request protocol via server/discover."""
    anon = "mcpmodern_" + uuid.uuid4().hex[:8]
    base, start, end = window()
    headers = {"Authorization": f"Bearer {server.keys['sk_live']}"}

    async def main() -> tuple[str, set[str], CallToolResult, CallToolResult]:
        async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
            transport = streamable_http_client(server.url + "/mcp", http_client=http)
            async with Client(transport) as client:
                names = {t.name for t in (await client.list_tools()).tools}
                tracked = await client.call_tool(
                    "track_event", {"event": "modern", "anonymous_id": anon, "timestamp": base.strftime(ISO)}
                )
                queried = await client.call_tool("query_events", {"from": start, "to": end})
                return client.protocol_version, names, tracked, queried

    version, names, tracked, queried = asyncio.run(main())
    assert version in MODERN_PROTOCOL_VERSIONS
    assert names == PROJECT_TOOLS
    assert ok(tracked)["ok"] is True
    assert [r["anonymous_id"] for r in ok(queried)["rows"]] == [anon]


def test_the_sdk_loads_on_first_use_not_at_start(tmp_path: Path) -> None:
    # ~30 MB of every server's memory, for deployments that never serve an AI agent.
    code = (
        "import sys\n"
        "from footfall.app import create_app\n"
        "from footfall.config import Settings\n"
        f"create_app(Settings.from_env(data={str(tmp_path)!r}))\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('mcp', 'mcp_types', 'pydantic')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
