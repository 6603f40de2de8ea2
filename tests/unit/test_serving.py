"""`hand_over` replaces the CLI with the server: what it runs and with which settings."""

from __future__ import annotations

import os
import sys
from typing import Any

import pytest

from footfall import serving
from footfall.config import Settings


class _Execed(Exception):
    pass


def test_the_flags_win_over_the_environment_the_server_inherits(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def execve(path: str, argv: list[str], env: dict[str, str]) -> None:
        seen.update(path=path, argv=argv, env=env)
        raise _Execed

    monkeypatch.setattr(os, "execve", execve)
    monkeypatch.setenv("FOOTFALL_PORT", "1")  # what the environment said
    monkeypatch.setenv("FOOTFALL_RATE_LIMITS", "off")
    monkeypatch.setenv("UNRELATED", "kept")
    settings = Settings.from_env(port=9000, rate_limits="on")  # what the flags said
    with pytest.raises(_Execed):
        serving.hand_over(settings)
    assert seen["path"] == sys.executable
    assert seen["argv"] == [sys.executable, "-P", "-m", "footfall.serving"]
    assert seen["env"]["FOOTFALL_PORT"] == "9000" and seen["env"]["FOOTFALL_RATE_LIMITS"] == "on"
    assert seen["env"]["UNRELATED"] == "kept"
