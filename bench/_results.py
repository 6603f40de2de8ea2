"""Where the benchmarks put their figures: `bench/results/<kind>-<UTC stamp>.json`, with a
description of the machine, so a number is never read without where it came from."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def save(kind: str, data: dict[str, Any]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{kind}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
    machine = {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version()}
    path.write_text(json.dumps({"machine": machine, **data}, indent=2))
    return path
