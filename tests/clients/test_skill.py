"""The agent skill (`skills/footfall-track/SKILL.md`): every ```bash block runs against a real server."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from footfall.dialects.millimetric.schema import TrackBody
from tests.support.server import Server

ROOT = Path(__file__).resolve().parents[2]
SKILL = ROOT / "skills" / "footfall-track" / "SKILL.md"
TEXT = SKILL.read_text()
BLOCKS = re.findall(r"```bash\n(.*?)```", TEXT, re.S)

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")


@pytest.fixture(scope="module")
def skill_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Its own server: the examples use fixed ids (user_42…) and forget one of them."""
    srv = Server(tmp_path_factory.mktemp("skill") / "data").start()
    yield srv
    srv.stop()


def run(block: str, server: Server, key: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "FOOTFALL_KEY": key,
        "FOOTFALL_READ_KEY": server.keys["rk_live"],
        "FOOTFALL_HOST": server.url,
    }
    return subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", block],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )


def test_front_matter_names_the_skill() -> None:
    match = re.match(r"---\nname: (\S+)\ndescription: (.+?)\n---\n", TEXT, re.S)
    assert match and match.group(1) == "footfall-track" and len(match.group(2)) > 50


def test_every_endpoint_has_an_example_using_the_env_vars() -> None:
    curls = [b for b in BLOCKS if "curl" in b]
    for path in ("/v1/track", "/v1/identify", "/v1/batch", "/v1/forget", "/v1/query", "/v1/stats", "/v1/sources"):
        assert any(f'"$FOOTFALL_HOST{path}"' in b for b in curls), path
    for block in curls:
        assert "$FOOTFALL_KEY" in block or "$FOOTFALL_READ_KEY" in block
        assert not re.search(r"(pk|sk|rk|ak)_(live|test)_[a-z0-9]{8}_", block), "a literal key"


def test_every_bash_block_answers_2xx(skill_server: Server) -> None:
    outputs = []
    for block in BLOCKS:
        done = run(block, skill_server, skill_server.keys["sk_live"])
        assert done.returncode == 0, f"{block}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
        if "curl" in block:
            outputs.append(json.loads(done.stdout))
    track, identify, batch, forget, query, stats, sources = outputs
    assert track == {"ok": True, "event_id": "signup-user_42"}
    assert identify == {"ok": True} and batch == {"ok": True, "count": 2}
    assert forget["ok"] is True and forget["deleted_events"] == 2  # the signup and the $identify
    assert [(r["event_name"], r["user_id"]) for r in query["rows"]] == [("purchase", "user_1")]
    assert stats["metric"] == "count" and stats["rows"] == []  # the only signup was forgotten
    assert sources["rows"] and sources["breakdown"] == "source_medium"


def test_a_failing_call_exits_non_zero_with_the_error_body(skill_server: Server) -> None:
    track = next(b for b in BLOCKS if "/v1/track" in b)
    done = run(track, skill_server, skill_server.keys["rk_live"])  # a read key cannot ingest
    assert done.returncode == 22 and json.loads(done.stdout)["error"] == "insufficient_scope"


def test_the_tables_match_the_server() -> None:
    fields = {f.encode_name for f in msgspec.structs.fields(TrackBody)}
    section = TEXT.split("## Event fields", 1)[1].split("##", 1)[0]
    assert set(re.findall(r"^\| `(\w+)` \|", section, re.M)) == fields
    errors_doc = (ROOT / "docs" / "errors.md").read_text()
    rows = re.findall(r"^\| \d{3} \| (.+?) \|", TEXT.split("## Errors", 1)[1], re.M)
    codes = [code for cell in rows for code in re.findall(r"`([a-z_]+)`", cell)]
    assert len(codes) >= 14
    assert [c for c in codes if f"`{c}`" not in errors_doc] == []
