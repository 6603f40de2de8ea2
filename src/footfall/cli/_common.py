"""Options and output shared by the CLI groups."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from footfall.config import Settings

if TYPE_CHECKING:
    from footfall.store.meta import MetaStore

__all__ = ["DataOpt", "JsonOpt", "MetaOpt", "emit", "meta_store", "settings_for", "unreachable"]

DataOpt = Annotated[
    Path | None,
    typer.Option("--data", help="Data directory [env: FOOTFALL_DATA; default ./footfall-data]"),
]
MetaOpt = Annotated[
    str | None,
    typer.Option(
        "--meta",
        help="Control plane: postgresql:// URL or SQLite path [env: FOOTFALL_META; default <data>/meta.sqlite]",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def settings_for(data: Path | None, meta: str | None = None, **overrides: object) -> Settings:
    return Settings.from_env(data=str(data) if data is not None else None, meta=meta, **overrides)


def emit(as_json: bool, payload: Any, human: str) -> None:
    if as_json:
        typer.echo(json.dumps(payload, indent=2))
    else:
        typer.echo(human)


def unreachable(err: Exception) -> NoReturn:
    """A shared service (PostgreSQL, Redis) that cannot be reached: one clear line, exit 2."""
    typer.echo(f"error: {err}", err=True)
    raise typer.Exit(2)


def meta_store(data: Path | None, meta: str | None) -> MetaStore:
    """The migrated control plane the command acts on (the same one the servers use)."""
    from footfall.service import open_meta
    from footfall.store.meta import MetaUnavailable

    try:
        return open_meta(settings_for(data, meta))
    except MetaUnavailable as err:
        unreachable(err)
