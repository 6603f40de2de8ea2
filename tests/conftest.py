from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.server import Server, cli
from tests.support.services import Postgres, Redis

# The `pw_browser` fixture: Debian's Chromium driven by Playwright (tests/support/browser.py).
pytest_plugins = ["tests.support.browser"]

# Scripts the tests run under a vendor's own SDK (installed outside this venv): not test modules,
# and not importable here for --doctest-modules.
collect_ignore_glob = ["dialects/*/scripts/*"]


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


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """One real PostgreSQL for the session (Debian's package); tests take their own database."""
    with Postgres.running() as pg:
        yield pg


@pytest.fixture(scope="session")
def redis_server() -> Iterator[Redis]:
    """One real Redis for the session; tests that use it start from an empty one."""
    with Redis.running() as r:
        yield r


@pytest.fixture(params=["sqlite", "postgresql"])
def meta_url(request: pytest.FixtureRequest) -> str | None:
    """Each control-plane test runs on both engines: None (the default, <data>/meta.sqlite)
    and a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return None
    pg: Postgres = request.getfixturevalue("postgres")
    return pg.database()


@pytest.fixture
def meta_env(meta_url: str | None, monkeypatch: pytest.MonkeyPatch) -> str | None:
    """`meta_url` for child processes too (CLI commands, servers), through FOOTFALL_META."""
    if meta_url is None:
        monkeypatch.delenv("FOOTFALL_META", raising=False)
    else:
        monkeypatch.setenv("FOOTFALL_META", meta_url)
    return meta_url
