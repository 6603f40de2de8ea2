"""Projects that accept Plausible events for their site domains, set up before a server starts.

In-process through the functions the CLI calls (`footfall project create/update/limit`; the
CLI's own test runs them as commands): a subprocess per step costs seconds on a busy machine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["site_projects"]


def site_projects(
    data: Path, domains: dict[str, str], limits: dict[str, tuple[float, float]] | None = None
) -> dict[str, dict[str, Any]]:
    """Project name → domain, plus optional `track` (rate, burst) limits; returns
    name → {"project_id", "keys"} as `footfall project create --json` prints them."""
    from footfall.config import Settings
    from footfall.service import create_project_with_keys, open_meta

    meta = open_meta(Settings.from_env(data=str(data)))
    projects: dict[str, dict[str, Any]] = {}
    try:
        for name, domain in domains.items():
            project, keys = create_project_with_keys(meta, name, [])
            meta.set_domains(project.id, [domain])
            projects[name] = {"project_id": project.id, "keys": keys}
        for name, (rate, burst) in (limits or {}).items():
            meta.set_rate_limit(projects[name]["project_id"], "track", rate, burst)
    finally:
        meta.close()
    return projects
