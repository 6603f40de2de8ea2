"""`footfall` admin CLI. Commands call the same functions as the server; heavy imports are lazy."""

from __future__ import annotations

import typer

from footfall.cli import (
    classify,
    classify_stored,
    keys,
    portability,
    projects,
    rules,
    serve,
    store,
    users,
)

__all__ = ["app", "main"]

app = typer.Typer(
    name="footfall",
    help="Footfall: self-hosted, privacy-first product analytics and attribution.",
    no_args_is_help=True,
    add_completion=False,
)
app.command("serve")(serve.serve)
app.command("classify")(classify.classify)
app.command("reclassify")(classify_stored.reclassify)
app.command("export")(portability.export)
app.command("import")(portability.import_)
app.command("backup")(portability.backup)
app.command("restore")(portability.restore)
app.add_typer(projects.app, name="project")
app.add_typer(keys.app, name="key")
app.add_typer(rules.app, name="rule")
app.add_typer(store.app, name="store")
app.add_typer(users.app, name="user")


def main() -> None:
    app()
