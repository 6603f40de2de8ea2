"""`footfall rule …`: per-project attribution rules, evaluated before the built-in ones."""

from __future__ import annotations

import secrets
from typing import Annotated

import typer

from footfall.cli._common import DataOpt, JsonOpt, MetaOpt, emit, meta_store

__all__ = ["app"]

app = typer.Typer(help="Per-project attribution rules (evaluated first).", no_args_is_help=True)


@app.command("add")
def add(
    project: Annotated[str, typer.Option("--project", help="Project id.")],
    when: Annotated[
        list[str],
        typer.Option("--when", help="Condition key=value (utm_source=partner_x, referrer_host=*.partner.example, any URL param); repeatable, all must match."),
    ],
    source: Annotated[str | None, typer.Option("--source", help="Source to set.")] = None,
    medium: Annotated[str | None, typer.Option("--medium", help="Medium to set.")] = None,
    campaign: Annotated[str | None, typer.Option("--campaign", help="Campaign to set.")] = None,
    channel: Annotated[str | None, typer.Option("--channel", help="Channel to set (e.g. Affiliates).")] = None,
    data: DataOpt = None,
    meta_url: MetaOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a rule; a running server applies it within 10 seconds to new events."""
    from footfall.attribution.custom import CustomRule, parse_condition

    try:
        conditions = dict(parse_condition(w) for w in when)
    except ValueError as err:
        raise typer.BadParameter(str(err)) from None
    from footfall.attribution.channels import CHANNELS

    if channel is not None and channel not in CHANNELS:
        raise typer.BadParameter(f"--channel must be one of: {', '.join(CHANNELS)}")
    if not any((source, medium, campaign, channel)):
        raise typer.BadParameter("set at least one of --source, --medium, --campaign, --channel")
    rule = CustomRule(
        id="rule_" + secrets.token_hex(4), when=conditions,
        source=source, medium=medium, campaign=campaign, channel=channel,
    )
    meta = meta_store(data, meta_url)
    try:
        if meta.project(project) is None:
            typer.echo(f"error: no project {project}", err=True)
            raise typer.Exit(1)
        meta.add_rule(project, rule)
    finally:
        meta.close()
    import msgspec

    emit(as_json, msgspec.to_builtins(rule), f"added {rule.id}")


@app.command("list")
def list_rules(
    project: Annotated[str, typer.Option("--project", help="Project id.")],
    data: DataOpt = None,
    meta_url: MetaOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List a project's rules in evaluation order."""
    import msgspec


    meta = meta_store(data, meta_url)
    try:
        rules = meta.rules(project)
    finally:
        meta.close()
    lines = []
    for r in rules:
        cond = " & ".join(f"{k}={v}" for k, v in r.when.items())
        sets = ", ".join(f"{k}={v}" for k in ("source", "medium", "campaign", "channel") if (v := getattr(r, k)))
        lines.append(f"{r.id}  when {cond}  →  {sets}")
    emit(as_json, msgspec.to_builtins(list(rules)), "\n".join(lines) or "no rules")


@app.command("remove")
def remove(
    rule_id: Annotated[str, typer.Argument(help="The rule id.")],
    data: DataOpt = None,
    meta_url: MetaOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Remove a rule."""

    meta = meta_store(data, meta_url)
    try:
        done = meta.remove_rule(rule_id)
    finally:
        meta.close()
    emit(as_json, {"removed": done, "id": rule_id}, f"removed {rule_id}" if done else f"no rule {rule_id}")
    if not done:
        raise typer.Exit(1)
