"""Options and output shared by the CLI groups."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from footfall.config import Settings

__all__ = ["DataOpt", "JsonOpt", "emit", "settings_for"]

DataOpt = Annotated[
    Path | None,
    typer.Option("--data", help="Data directory [env: FOOTFALL_DATA; default ./footfall-data]"),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def settings_for(data: Path | None, **overrides: object) -> Settings:
    return Settings.from_env(data=str(data) if data is not None else None, **overrides)


def emit(as_json: bool, payload: Any, human: str) -> None:
    if as_json:
        typer.echo(json.dumps(payload, indent=2))
    else:
        typer.echo(human)
