from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.server import Server, cli

# The `pw_browser` fixture: Debian's Chromium driven by Playwright (tests/support/browser.py).
pytest_plugins = ["tests.support.browser"]


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One shared server; tests isolate themselves with unique anonymous/user ids."""
    data = tmp_path_factory.mktemp("shared") / "data"
    srv = Server(data).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def other_project(server: Server) -> dict[str, object]:
    """A second project on the shared server, for isolation tests."""
    import json

    out = cli(server.data, "project", "create", "other", "--origin", "https://other.example", "--json")
    return json.loads(out.stdout)


@pytest.fixture
def fresh_data(tmp_path: Path) -> Path:
    return tmp_path / "data"
