"""An offline import gives its store at least IMPORT_STORE_MEMORY (the indexes it grows
outgrow the server's ~100 MB default past ~3M events), never less than configured."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from footfall.config import Settings
from footfall.portability.importer import _with_import_memory


@pytest.mark.parametrize(("configured", "used"), [
    ("96MB", "1024MiB"), ("32MB", "1024MiB"), ("1GB", "1024MiB"), ("2GiB", "2GiB"), ("4GB", "4GB"), ("lots", "lots"),
])  # fmt: skip
def test_import_store_memory(tmp_path: Path, configured: str, used: str) -> None:
    settings = dataclasses.replace(Settings.from_env(data=str(tmp_path)), store_memory=configured)
    assert _with_import_memory(settings).store_memory == used
