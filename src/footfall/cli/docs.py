"""Render `docs/cli.md` from the CLI's own definitions (checked by tests/test_docs.py)."""

from __future__ import annotations

from typing import Any

import typer

__all__ = ["render_cli_docs"]


def _commands(group: Any, ctx: Any, prefix: str) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for name in sorted(group.list_commands(ctx)):
        cmd = group.get_command(ctx, name)
        if cmd is None:
            continue
        full = f"{prefix} {name}"
        if hasattr(cmd, "list_commands"):
            out.extend(_commands(cmd, ctx, full))
        else:
            out.append((full, cmd))
    return out


def render_cli_docs(app: typer.Typer) -> str:
    root = typer.main.get_command(app)
    ctx = root.make_context("footfall", [], resilient_parsing=True)
    lines = [
        "# CLI",
        "",
        "Generated from the CLI's definitions by `python -m footfall.cli.docs`; a test fails when",
        "this page is out of date. Every command takes `--data DIR` (env `FOOTFALL_DATA`).",
        "",
    ]
    for name, cmd in _commands(root, ctx, "footfall"):
        params = list(cmd.params)
        args = " ".join(p.name.upper() for p in params if p.param_type_name == "argument")
        lines += [f"## `{name}{' ' + args if args else ''}`", "", (cmd.help or "").strip(), ""]
        opts = [p for p in params if p.param_type_name == "option"]
        if opts:
            lines += ["| option | meaning |", "|---|---|"]
            for p in opts:
                names = ", ".join(f"`{o}`" for o in [*p.opts, *p.secondary_opts])
                lines.append(f"| {names} | {(p.help or '').replace('|', '/')} |")
            lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    from footfall.cli import app

    print(render_cli_docs(app), end="")
