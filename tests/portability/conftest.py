from __future__ import annotations

import json
from typing import Any

from tests.support.server import Server, cli


def new_project(server: Server, name: str = "p") -> dict[str, Any]:
    """A fresh project on a running server (the control plane is shared with the CLI)."""
    out = cli(server.data, "project", "create", name, "--json")
    doc: dict[str, Any] = json.loads(out.stdout)
    return {"project_id": doc["project_id"], **doc["keys"]}
