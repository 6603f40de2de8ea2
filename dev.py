#!/usr/bin/env python3
"""Set up and run Footfall with nothing but Python 3.11+.

    python3 dev.py serve [footfall serve options]   # set up, then run the server
    python3 dev.py test  [pytest options]           # set up, then run every check and test
    python3 dev.py bench [--quick]                  # set up, then run every benchmark

Creates `.venv/` beside this file on first use and reinstalls only when pyproject.toml changes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"


def run(*cmd: str | Path) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], cwd=ROOT, check=True)


def setup(extra: str) -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 (this file must run on any python3)
        sys.exit("Footfall needs Python 3.11 or newer")
    if not PY.exists():
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extra.encode()).hexdigest()
    stamp = VENV / ".footfall-installed"
    if stamp.exists() and stamp.read_text() == digest:
        return
    run(PY, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    run(PY, "-m", "pip", "install", "--quiet", "-e", f".{extra}")
    stamp.write_text(digest)


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in {"serve", "test", "bench"}:
        sys.exit(__doc__)
    command, args = sys.argv[1], sys.argv[2:]
    if command == "serve":
        setup("")
        os.execv(BIN / "footfall", [str(BIN / "footfall"), "serve", *args])
    setup("[test]")
    if command == "bench":
        run(PY, "bench/run.py", *args)
        return
    run(BIN / "ruff", "check", "src", "tests", "bench", "scripts", "dev.py")
    run(BIN / "mypy")
    run(PY, "-m", "pytest", "--doctest-modules", "src/footfall", "tests", *args)


if __name__ == "__main__":
    try:
        main()
    except subprocess.CalledProcessError as err:
        sys.exit(err.returncode)
