"""`footfall user …`: people who log in to the web dashboard."""

from __future__ import annotations

import secrets
import sys
from typing import Annotated

import typer

from footfall.cli._common import DataOpt, JsonOpt, emit, settings_for

__all__ = ["app"]

app = typer.Typer(help="Create, list and delete dashboard users, set their passwords.", no_args_is_help=True)
PasswordStdin = Annotated[
    bool,
    typer.Option("--password-stdin", help="Read the password from standard input (else one is generated and shown once)."),
]


def _password(from_stdin: bool) -> str:
    from footfall.auth.passwords import MIN_PASSWORD

    password = sys.stdin.readline().rstrip("\r\n") if from_stdin else secrets.token_urlsafe(15)
    if len(password) < MIN_PASSWORD:
        raise typer.BadParameter(f"the password needs at least {MIN_PASSWORD} characters")
    return password


@app.command("create")
def create(
    email: Annotated[str, typer.Argument(help="The user's e-mail address (their login).")],
    password_stdin: PasswordStdin = False,
    role: Annotated[str, typer.Option("--role", help="admin (every project) or viewer (only --project).")] = "viewer",
    project: Annotated[
        list[str] | None, typer.Option("--project", help="A project a viewer may see (repeatable).")
    ] = None,
    data: DataOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a dashboard user; the password is stored only as a scrypt hash."""
    from footfall.auth.passwords import hash_password
    from footfall.service import open_meta

    if role not in ("admin", "viewer"):
        raise typer.BadParameter("--role must be admin or viewer")
    if "@" not in email or len(email) > 254 or any(c.isspace() for c in email.strip()):
        raise typer.BadParameter("give an e-mail address")
    generated = not password_stdin
    password = _password(password_stdin)
    meta = open_meta(settings_for(data))
    try:
        for project_id in project or []:
            if meta.project(project_id) is None:
                typer.echo(f"error: no project {project_id}", err=True)
                raise typer.Exit(1)
        try:
            user = meta.users.create(email, hash_password(password), role, tuple(project or ()))
        except ValueError as err:
            typer.echo(f"error: {err}", err=True)
            raise typer.Exit(1) from None
    finally:
        meta.close()
    payload: dict[str, object] = {"email": user.email, "role": user.role, "projects": list(user.projects)}
    human = f"created {user.role} {user.email}"
    if generated:
        payload["password"] = password
        human += f"\npassword (shown once): {password}"
    emit(as_json, payload, human)


@app.command("list")
def list_users(data: DataOpt = None, as_json: JsonOpt = False) -> None:
    """List dashboard users, their role and projects."""
    from footfall.service import open_meta

    meta = open_meta(settings_for(data))
    try:
        users = meta.users.list()
    finally:
        meta.close()
    payload = [{"email": u.email, "role": u.role, "projects": list(u.projects), "created_at": u.created_at} for u in users]
    human = "\n".join(
        f"{u.email}  {u.role}  {'every project' if u.role == 'admin' else ','.join(u.projects) or '-'}"
        for u in users
    )
    emit(as_json, payload, human or "no users")


@app.command("delete")
def delete(
    email: Annotated[str, typer.Argument(help="The user's e-mail address.")],
    data: DataOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Delete a dashboard user; their sessions end at once."""
    from footfall.service import open_meta

    meta = open_meta(settings_for(data))
    try:
        deleted = meta.users.delete(email)
    finally:
        meta.close()
    if not deleted:
        typer.echo(f"error: no user {email}", err=True)
        raise typer.Exit(1)
    emit(as_json, {"email": email.strip().lower(), "deleted": True}, f"deleted {email}")


@app.command("passwd")
def passwd(
    email: Annotated[str, typer.Argument(help="The user's e-mail address.")],
    password_stdin: PasswordStdin = False,
    data: DataOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Set a dashboard user's password; their open sessions end at once."""
    from footfall.auth.passwords import hash_password
    from footfall.service import open_meta

    password = _password(password_stdin)
    meta = open_meta(settings_for(data))
    try:
        changed = meta.users.set_password(email, hash_password(password))
    finally:
        meta.close()
    if not changed:
        typer.echo(f"error: no user {email}", err=True)
        raise typer.Exit(1)
    payload: dict[str, object] = {"email": email.strip().lower(), "changed": True}
    human = f"password of {email.strip().lower()} changed; their sessions ended"
    if not password_stdin:
        payload["password"] = password
        human += f"\npassword (shown once): {password}"
    emit(as_json, payload, human)
