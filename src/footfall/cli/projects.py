"""`footfall project …`"""

from __future__ import annotations

from typing import Annotated

import typer

from footfall.cli._common import DataOpt, JsonOpt, MetaOpt, emit, meta_store

__all__ = ["app"]

app = typer.Typer(help="Create and list projects.", no_args_is_help=True)


@app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="Project name.")],
    origin: Annotated[
        list[str] | None,
        typer.Option("--origin", help="Allowed browser origin for pk_ keys (repeatable)."),
    ] = None,
    data: DataOpt = None,
    meta_url: MetaOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a project and a pk, sk and rk key for both live and test (secrets shown once)."""
    from footfall.service import create_project_with_keys

    meta = meta_store(data, meta_url)
    try:
        project, keys = create_project_with_keys(meta, name, origin or [])
    finally:
        meta.close()
    result = {"project_id": project.id, "name": name, "origins": list(project.origins), "keys": keys}
    lines = [f"project {result['project_id']} ({name})", "keys (shown once, store them now):"]
    lines += [f"  {k}: {v}" for k, v in keys.items()]
    emit(as_json, result, "\n".join(lines))


@app.command("list")
def list_projects(
    data: DataOpt = None, meta_url: MetaOpt = None, as_json: JsonOpt = False
) -> None:
    """List projects with their allowed origins and site domains."""

    meta = meta_store(data, meta_url)
    try:
        projects = meta.projects()
        domains: dict[str, list[str]] = {}
        for name, owner in meta.domains().items():
            domains.setdefault(owner, []).append(name)
    finally:
        meta.close()
    payload = [
        {"project_id": p.id, "name": p.name, "origins": list(p.origins), "store_raw_ip": p.store_raw_ip,
         "domains": domains.get(p.id, []), "timezone": p.timezone}
        for p in projects
    ]
    human = "\n".join(
        f"{p.id}  {p.name}  origins={','.join(p.origins) or '-'}  domains={','.join(domains.get(p.id, [])) or '-'}"
        for p in projects
    )
    emit(as_json, payload, human or "no projects")


@app.command("update")
def update(
    project_id: Annotated[str, typer.Argument(help="Project id.")],
    origin: Annotated[
        list[str] | None,
        typer.Option("--origin", help="Replace the allowed browser origins (repeatable)."),
    ] = None,
    store_raw_ip: Annotated[
        bool | None,
        typer.Option("--store-raw-ip/--no-store-raw-ip", help="Opt in to (or out of) keeping raw client IPs."),
    ] = None,
    authorized_ip: Annotated[
        list[str] | None,
        typer.Option("--authorized-ip", help="Replace the CIDRs server-side callers must come from (repeatable; Sankofa's IP allowlist)."),
    ] = None,
    any_ip: Annotated[bool, typer.Option("--any-ip", help="Clear the IP allowlist.")] = False,
    domain: Annotated[
        list[str] | None,
        typer.Option("--domain", help="Replace the site domains Plausible events are accepted for (repeatable; `www.` is ignored)."),
    ] = None,
    no_domains: Annotated[bool, typer.Option("--no-domains", help="Accept no Plausible events.")] = False,
    timezone: Annotated[
        str | None,
        typer.Option("--timezone", help="IANA time zone of the dashboard's days, e.g. Europe/Berlin."),
    ] = None,
    data: DataOpt = None,
    meta_url: MetaOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Change a project's allowed origins, IP allowlist, site domains, raw-IP opt-in or time zone (a running server follows within 10 s)."""
    if timezone is not None:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder ("America")
            raise typer.BadParameter("--timezone must be an IANA name such as Europe/Berlin") from None

    meta = meta_store(data, meta_url)
    try:
        if meta.project(project_id) is None:
            typer.echo(f"error: no project {project_id}", err=True)
            raise typer.Exit(1)
        if authorized_ip:
            from footfall.config import parse_cidrs

            try:
                parse_cidrs(",".join(authorized_ip))
            except ValueError as err:
                raise typer.BadParameter(str(err)) from None
        # Domains first: the one change that can be refused (a domain of another project), so
        # a refusal leaves the project as it was, not half updated.
        if domain is not None or no_domains:
            try:
                meta.set_domains(project_id, [] if no_domains else domain or [])
            except ValueError as err:
                typer.echo(f"error: {err}", err=True)
                raise typer.Exit(1) from None
        meta.update_project(
            project_id,
            origins=origin,
            store_raw_ip=store_raw_ip,
            authorized_ips=[] if any_ip else authorized_ip,
            timezone=timezone,
        )
        project = meta.project(project_id)
        domains = list(meta.domains(project_id))
    finally:
        meta.close()
    assert project is not None
    payload = {
        "project_id": project.id, "name": project.name,
        "origins": list(project.origins), "store_raw_ip": project.store_raw_ip,
        "authorized_ips": list(project.authorized_ips), "domains": domains, "timezone": project.timezone,
    }
    emit(as_json, payload, f"updated {project.id}")


@app.command("limit")
def limit(
    project_id: Annotated[str, typer.Argument(help="Project id.")],
    route: Annotated[str, typer.Option("--route", help="Route class: track (single events) or batch.")],
    rate: Annotated[float | None, typer.Option("--rate", help="Requests per second.")] = None,
    burst: Annotated[float | None, typer.Option("--burst", help="Bucket size (requests at once).")] = None,
    reset: Annotated[bool, typer.Option("--reset", help="Go back to the default limit.")] = False,
    data: DataOpt = None,
    meta_url: MetaOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Set a project's rate limit for a route class (a running server follows within 10 s)."""
    from footfall.limits import DEFAULT_LIMITS

    if route not in DEFAULT_LIMITS:
        raise typer.BadParameter(f"--route must be one of: {', '.join(DEFAULT_LIMITS)}")
    if not reset and (rate is None or burst is None or rate <= 0 or burst < 1):
        raise typer.BadParameter("give --rate > 0 and --burst >= 1, or --reset")
    meta = meta_store(data, meta_url)
    try:
        if meta.project(project_id) is None:
            typer.echo(f"error: no project {project_id}", err=True)
            raise typer.Exit(1)
        if reset:
            meta.clear_rate_limit(project_id, route)
        else:
            assert rate is not None and burst is not None
            meta.set_rate_limit(project_id, route, rate, burst)
        current = meta.rate_limits(project_id).get(route)
    finally:
        meta.close()
    default = DEFAULT_LIMITS[route]
    r, b = current if current else (default.rate, default.burst)
    emit(as_json, {"project_id": project_id, "route": route, "rate": r, "burst": b, "default": current is None},
         f"{project_id} {route}: {r:g}/s, burst {b:g}")
