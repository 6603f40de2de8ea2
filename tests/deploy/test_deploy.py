"""deploy/ stays a deployment you can copy: the files parse and agree with each other and the code."""

from __future__ import annotations

import configparser
import re
from pathlib import Path
from typing import Any

import yaml

from footfall.config import SETTINGS

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
# Settings of the ClickHouse store (issue #16), merged separately.
PENDING = {"FOOTFALL_STORE"}
KNOWN = {s.env for s in SETTINGS} | PENDING


def _compose() -> dict[str, Any]:
    doc = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    assert isinstance(doc, dict)
    return doc


def _nodes(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: s for name, s in doc["services"].items() if name.startswith("footfall-")}


def test_compose_has_the_topology() -> None:
    doc = _compose()
    services = doc["services"]
    assert {"lb", "clickhouse", "postgres", "redis"} <= set(services)
    nodes = _nodes(doc)
    assert len(nodes) >= 2
    volumes = []
    for name, node in nodes.items():
        env = node["environment"]
        assert env["FOOTFALL_META"].startswith("postgresql://") and "@postgres:" in env["FOOTFALL_META"], name
        assert env["FOOTFALL_STATE"].startswith("redis://redis:"), name
        assert env["FOOTFALL_STORE"].startswith("clickhouse://") and "@clickhouse:" in env["FOOTFALL_STORE"], name
        assert set(env) <= KNOWN, set(env) - KNOWN
        assert env["FOOTFALL_DATA"] == "/var/lib/footfall"
        assert {"clickhouse", "postgres", "redis"} <= set(node["depends_on"])
        assert node["healthcheck"]["test"] and "/healthz" in " ".join(node["healthcheck"]["test"])
        (volume,) = node["volumes"]
        volumes.append(volume.split(":")[0])
    assert len(set(volumes)) == len(volumes), "each node keeps its own WAL"
    assert set(volumes) <= set(doc["volumes"])
    for service in ("postgres", "clickhouse", "redis"):
        assert services[service]["healthcheck"]["test"], service
    # The passwords in the URLs are the ones the databases are created with.
    env = next(iter(nodes.values()))["environment"]
    assert f":{services['postgres']['environment']['POSTGRES_PASSWORD']}@" in env["FOOTFALL_META"]
    assert f":{services['clickhouse']['environment']['CLICKHOUSE_PASSWORD']}@" in env["FOOTFALL_STORE"]


def test_the_balancer_sends_to_every_node_and_only_to_them() -> None:
    doc = _compose()
    conf = (DEPLOY / "nginx.conf").read_text()
    assert conf.count("{") == conf.count("}")
    upstream = re.search(r"upstream footfall \{(.*?)\}", conf, re.S)
    assert upstream is not None
    servers = re.findall(r"^\s*server\s+([\w.-]+):(\d+)", upstream.group(1), re.M)
    assert sorted(host for host, _ in servers) == sorted(_nodes(doc))
    assert {port for _, port in servers} == {next(iter(_nodes(doc).values()))["environment"]["FOOTFALL_PORT"]}
    assert "proxy_pass http://footfall;" in conf
    assert "X-Forwarded-For" in conf
    lb = doc["services"]["lb"]
    assert "./nginx.conf:/etc/nginx/nginx.conf:ro" in lb["volumes"]
    assert sorted(lb["depends_on"]) == sorted(_nodes(doc))
    # Footfall believes X-Forwarded-For only from trusted proxies: the balancer must be one.
    assert all(n["environment"]["FOOTFALL_TRUSTED_PROXIES"] for n in _nodes(doc).values())


def test_systemd_unit_and_env_files() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read(DEPLOY / "systemd" / "footfall@.service")
    assert set(unit.sections()) == {"Unit", "Service", "Install"}
    service = unit["Service"]
    exec_start = service["ExecStart"].split()
    assert exec_start[0].startswith("/") and exec_start[1] == "serve"
    flags = {s.flag for s in SETTINGS}
    assert all(arg in flags for arg in exec_start[2:] if arg.startswith("--"))
    assert service["KillSignal"] == "SIGTERM" and int(service["TimeoutStopSec"]) > 30
    assert service["Restart"] == "on-failure"
    assert unit["Install"]["WantedBy"] == "multi-user.target"
    for env_file in ("footfall.env", "node-1.env"):
        for line in (DEPLOY / "systemd" / env_file).read_text().splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.partition("=")
                assert name in KNOWN and value, line
    shared = (DEPLOY / "systemd" / "footfall.env").read_text()
    assert "FOOTFALL_META=postgresql://" in shared and "FOOTFALL_STATE=redis://" in shared
