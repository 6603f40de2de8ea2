"""Real third-party SDKs for tests, installed from PyPI / npm into a cache, never vendored.

Each pinned set installs once into `$FOOTFALL_TEST_CACHE` (default `~/.cache/footfall-tests`)
under a directory named by its hash, so the second run of the suite costs nothing; a lock file
keeps concurrent runs from installing the same set twice.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def cache_root() -> Path:
    root = Path(os.environ.get("FOOTFALL_TEST_CACHE", Path.home() / ".cache" / "footfall-tests"))
    root.mkdir(parents=True, exist_ok=True)
    return root


def _installed(kind: str, spec: list[str], install: list[str]) -> Path:
    key = hashlib.sha256(json.dumps([kind, sys.version_info[:2], spec]).encode()).hexdigest()[:16]
    target = cache_root() / kind / key
    done = target / ".complete"
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir()
            proc = subprocess.run(
                [*install, *spec], cwd=target, capture_output=True, text=True, timeout=600
            )
            if proc.returncode != 0:
                pytest.fail(f"installing {spec} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
            done.write_text(json.dumps(spec))
    return target


def npm_install(*packages: str) -> Path:
    """`npm install` pinned packages (`name@1.2.3`); returns the folder holding node_modules."""
    if shutil.which("npm") is None:
        pytest.skip("no npm on this machine")
    return _installed(
        "npm", sorted(packages),
        ["npm", "install", "--no-audit", "--no-fund", "--no-save", "--loglevel=error"],
    )


def pip_target(*requirements: str) -> Path:
    """`pip install --target` pinned requirements (`name==1.2.3`), kept out of the test venv so
    two versions of one SDK can be tested side by side; run them with PYTHONPATH=<path>."""
    return _installed(
        "pip", sorted(requirements),
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "--target", "."],
    )
