"""`footfall key …`"""

from __future__ import annotations

from typing import Annotated

import typer

from footfall.cli._common import DataOpt, JsonOpt, MetaOpt, emit, meta_store

__all__ = ["app"]

app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)


@app.command("create")
def create(
    kind: Annotated[str, typer.Option("--kind", help="pk, sk, rk or ak.")],
    env: Annotated[str, typer.Option("--env", help="live or test.")] = "live",
    project: Annotated[
        str | None, typer.Option("--project", help="Project id (not for ak_ keys).")
    ] = None,
    data: DataOpt = None,
    meta_url: MetaOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a key; the full key is printed once and only its hash is stored."""
    from footfall.auth.keys import issue_key
    from footfall.model import Env, KeyKind

    try:
        key_kind, key_env = KeyKind(kind), Env(env)
    except ValueError as err:
        raise typer.BadParameter(str(err)) from None
    if key_kind is not KeyKind.ACCOUNT and not project:
        raise typer.BadParameter("--project is required for pk, sk and rk keys")
    meta = meta_store(data, meta_url)
    try:
        issued = issue_key(meta, project if key_kind is not KeyKind.ACCOUNT else None, key_kind, key_env)
    except ValueError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(1) from None
    finally:
        meta.close()
    payload = {
        "key": issued.key, "prefix": issued.prefix, "kind": issued.kind,
        "env": issued.env, "project_id": issued.project_id,
    }
    emit(as_json, payload, issued.key)


@app.command("list")
def list_keys(
    project: Annotated[str | None, typer.Option("--project", help="Only this project.")] = None,
    data: DataOpt = None,
    meta_url: MetaOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List keys by prefix (secrets are never shown again)."""

    meta = meta_store(data, meta_url)
    try:
        rows = meta.keys(project)
    finally:
        meta.close()
    payload = [
        {
            "prefix": r.prefix, "kind": r.kind, "env": r.env, "project_id": r.project_id,
            "created_at": r.created_at, "revoked_at": r.revoked_at,
        }
        for r in rows
    ]
    human = "\n".join(
        f"{r.kind}_{r.env}_{r.prefix}_…  project={r.project_id or '*'}"
        f"  {'revoked ' + r.revoked_at if r.revoked_at else 'active'}"
        for r in rows
    )
    emit(as_json, payload, human or "no keys")


@app.command("revoke")
def revoke(
    prefix: Annotated[str, typer.Argument(help="The key's 8-character prefix.")],
    data: DataOpt = None,
    meta_url: MetaOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Revoke a key; a running server stops accepting it within 10 seconds."""

    meta = meta_store(data, meta_url)
    try:
        done = meta.revoke_key(prefix)
    finally:
        meta.close()
    if not done:
        emit(as_json, {"revoked": False, "prefix": prefix}, f"no active key with prefix {prefix}")
        raise typer.Exit(1)
    emit(as_json, {"revoked": True, "prefix": prefix}, f"revoked {prefix}")
