"""The docs are part of the contract: these fail when something is left undocumented."""

from __future__ import annotations

import re
from pathlib import Path

from footfall import errors
from footfall.config import SETTINGS
from footfall.pipeline import STEPS

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "footfall"


def test_every_setting_is_in_the_configuration_table() -> None:
    from footfall.config import render_configuration_docs

    doc = (ROOT / "docs" / "configuration.md").read_text()
    for s in SETTINGS:
        assert f"`{s.flag}` | `{s.env}`" in doc, s.env
    assert doc == render_configuration_docs(), "run: python -m footfall.config > docs/configuration.md"


def test_every_error_code_raised_is_documented() -> None:
    doc = (ROOT / "docs" / "errors.md").read_text()
    codes = {cls.code for cls in vars(errors).values() if isinstance(cls, type) and issubclass(cls, errors.FootfallError)}
    for path in SRC.rglob("*.py"):
        codes.update(re.findall(r'(?:Invalid|Unauthorized|Forbidden|Overloaded|StoreUnavailable|NotFound|FootfallError|PayloadTooLarge|RateLimited)\(\s*"([a-z_]+)"', path.read_text()))
    missing = sorted(c for c in codes if f"`{c}`" not in doc)
    assert not missing, missing


def test_every_pipeline_step_is_in_the_architecture() -> None:
    doc = (ROOT / "docs" / "architecture.md").read_text()
    for name, _fn in STEPS:
        assert name in doc, name


def test_readme_commands_are_the_ci_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "python3 dev.py test" in readme and "python3 dev.py test" in ci
    assert "python3 dev.py serve" in readme


def test_cli_docs_are_current() -> None:
    from footfall.cli import app
    from footfall.cli.docs import render_cli_docs

    assert (ROOT / "docs" / "cli.md").read_text() == render_cli_docs(app), "run: python -m footfall.cli.docs > docs/cli.md"
