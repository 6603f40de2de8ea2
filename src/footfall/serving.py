"""The server process: the app under uvicorn, in a process image of its own.

`footfall serve` parses its flags, checks the shared services and prints the first run's keys,
then replaces its image with this module's (`hand_over`). The CLI's libraries (typer, and the
pydantic it loads to check option types) are not imported by the server until something else
needs them (the MCP SDK, on the first `/mcp` request): ~10 MB less resident at start, which
went to the store's memory limit under the same 300 MB (docs/performance.md).
"""

from __future__ import annotations

import os
import signal
import sys
from typing import NoReturn

from footfall.config import Settings

__all__ = ["COMMAND", "hand_over", "run"]

COMMAND = [sys.executable, "-P", "-m", "footfall.serving"]


def hand_over(settings: Settings) -> NoReturn:
    """Replace this process with the server for `settings`: the same pid, so a supervisor's
    signals and its view of the process do not change; the settings go as the FOOTFALL_*
    variables they are read from (not arguments, which any user can list)."""
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:  # None when the CLI was started without them
            stream.flush()
    # -P: the working directory is not put on sys.path, as it was not for the `footfall` script
    # (a `duckdb.py` there must not shadow the library). The settings win over the environment.
    os.execve(sys.executable, COMMAND, {**os.environ, **settings.environ()})


def run(settings: Settings) -> None:
    """Serve until SIGTERM or SIGINT, then drain (up to 30 s) and return."""
    import uvicorn

    from footfall.app import create_app
    from footfall.ops.logs import configure_logging

    configure_logging(settings.log_level)
    # uvicorn drains, then re-raises the signal it caught; after a clean drain that is a normal exit.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        proxy_headers=False,  # client IPs come from FOOTFALL_TRUSTED_PROXIES only
        server_header=False,
        ws="none",  # no route speaks WebSocket; saves importing the websockets library
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=30,
    )


if __name__ == "__main__":
    run(Settings.from_env())
