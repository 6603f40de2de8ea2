"""The dashboard's pure helpers carry doctests (URL state, periods, formatting, redirects)."""

from __future__ import annotations

import doctest
from types import ModuleType

import pytest

from footfall.auth import passwords
from footfall.dashboard import auth, report, share, state, web
from footfall.store.duckdb import reads


@pytest.mark.parametrize("module", [state, report, web, auth, share, passwords, reads], ids=lambda m: m.__name__)
def test_doctests(module: ModuleType) -> None:
    result = doctest.testmod(module)
    assert result.failed == 0 and result.attempted > 0
