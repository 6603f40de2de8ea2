"""`/dashboard/p/{project}/{env}/people/{person}`: one person (the stitched key the people
counts use: user id, else the user an anonymous id is linked to, else the anonymous id) with
their profile, devices and every event across them, by session; `?format=csv` downloads the
whole timeline. Admins can forget the person from here (`/forget/{person}`: a confirm page,
then a POST with the CSRF token), through the same service call as `POST /v1/forget`."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import msgspec
from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from footfall.dashboard import auth
from footfall.dashboard.csv_download import csv_download
from footfall.dashboard.lists import (
    EVENT_COLUMNS,
    api_url,
    devices,
    event_page,
    events_csv_rows,
    parse_keyset,
    person_path,
    person_range,
    timeline,
)
from footfall.dashboard.pages._access import Access, project_access
from footfall.dashboard.pages._lists import read_failed
from footfall.dashboard.pages.login import read_form
from footfall.dashboard.web import page
from footfall.errors import FootfallError
from footfall.model import Env, KeyKind, Principal, Scope
from footfall.read.queries import EventLogQuery, SessionsQuery
from footfall.service import Footfall

__all__ = ["routes"]

TIMELINE_ROWS = 200
MAX_PERSON = 512


def _person(request: Request) -> str | None:
    """The id in the path, or for "." and ".." (see `person_path`) in the query."""
    person = str(request.path_params.get("person", ""))
    if not person and request.query_params.get("id") in (".", ".."):
        person = str(request.query_params["id"])
    return person if 0 < len(person) <= MAX_PERSON else None


def _gone(request: Request, access: Access) -> Response:
    return page(request, "error.html", {"session": access.session, "message": "No such page."}, 404)


def _read_profiles(
    svc: Footfall, scope: Scope, person: str, anonymous_ids: list[str]
) -> dict[str, Any]:
    """The person's profile and their devices' visitor profiles (whichever exist)."""
    out: dict[str, Any] = {}
    found = svc.store.profile(scope, "person", person)
    if found:
        out[f"person {person}"] = found
    for anon in anonymous_ids[:10]:
        found = svc.store.profile(scope, "visitor", anon)
        if found:
            out[f"device {anon}"] = found
    return out


async def person_page(request: Request) -> Response:
    access = project_access(request)
    if not isinstance(access, Access):
        return access
    person = _person(request)
    if person is None:
        return _gone(request, access)
    scope = Scope(access.project.id, access.env)
    rng = person_range()
    q = EventLogQuery(
        scope=scope, start=rng[0], end=rng[1], person=person, include_bots=True,
        before=parse_keyset(request.query_params.get("before")), limit=TIMELINE_ROWS,
    )
    svc = auth.service(request)
    if request.query_params.get("format") == "csv":
        try:
            found_rows = await events_csv_rows(svc, q)
        except FootfallError as err:
            return read_failed(request, access, err)
        return csv_download(f"person-{access.project.id}-{access.env}.csv", EVENT_COLUMNS, found_rows)
    sessions_q = SessionsQuery(
        scope=scope, start=rng[0], end=rng[1], user_id=person, include_bots=True, limit=1000
    )
    try:
        rows, nxt = await event_page(svc, q)
        sessions = await svc.read(lambda: svc.store.sessions(sessions_q))
        found = devices(sessions)
        ids = [d.anonymous_id for d in found if d.anonymous_id]
        profiles = await svc.read(lambda: _read_profiles(svc, scope, person, ids))
    except FootfallError as err:
        return read_failed(request, access, err)
    here = person_path(access.base, person)
    more = "&" if "?" in here else "?"  # the ids "." and ".." are in the query already
    return page(request, "person.html", {
        **access.context(request), "person": person, "here": here, "more": more,
        "identified": any(r["user_id"] == person for r in rows) or any(s["user_id"] == person for s in sessions),
        "groups": timeline(rows), "devices": found, "sessions": len(sessions),
        "profiles": {k: _profile_text(v) for k, v in profiles.items()},
        "next": nxt, "paged": q.before is not None, "person_url": lambda p: person_path(access.base, p),
        "may_forget": access.member.user.role == "admin",
        "forget_url": person_path(access.base, person, "forget"),
        "csv": f"{here}{more}format=csv", "api": api_url("/v1/events", rng, person=person, include_bots="true", limit=TIMELINE_ROWS),
    })


def _profile_text(doc: dict[str, Any]) -> dict[str, str]:
    return {
        k: msgspec.json.format(msgspec.json.encode(v), indent=2).decode()
        for k, v in doc.items() if v not in (None, {}, "")
    }


def _admin(request: Request) -> tuple[Access, str] | Response:
    """Forgetting is an admin's: a viewer gets the same 404 as a page that does not exist."""
    access = project_access(request)
    if not isinstance(access, Access):
        return access
    person = _person(request)
    if person is None or access.member.user.role != "admin":
        return _gone(request, access)
    return access, person


async def forget_confirm(request: Request) -> Response:
    checked = _admin(request)
    if isinstance(checked, Response):
        return checked
    access, person = checked
    return page(request, "forget.html", {
        **access.context(request), "person": person, "here": person_path(access.base, person),
        "action": person_path(access.base, person, "forget"), "person_form": _form_safe(person),
    })


def _form_safe(person: str) -> str:
    """The person id as the confirm form restates it: percent-encoded, as a browser would
    otherwise rewrite its NUL, CR and line breaks (HTML parsing, form encoding) and the id
    sent back would not match.

    >>> _form_safe("line\\nbreak"), _form_safe("a b")
    ('line%0Abreak', 'a%20b')
    """
    return quote(person, safe="")


async def forget(request: Request) -> Response:
    checked = _admin(request)
    if isinstance(checked, Response):
        return checked
    access, person = checked
    form = await read_form(request) or {}
    if not auth.check_csrf(request, str(form.get("csrf") or ""), access.member.csrf_token):
        return page(request, "error.html", {"session": access.session, "message": "The form expired; reload and try again."}, 403)
    if form.get("person") != _form_safe(person):  # the confirm page restates whom; a mismatch is no consent
        return page(request, "error.html", {"session": access.session, "message": "That form named someone else; nothing was deleted."}, 400)
    # The same service call as POST /v1/forget with a secret key of this project and
    # environment: store, purge, WAL trim, audit row (who: the dashboard user).
    principal = Principal(
        access.project.id, Env(access.env), KeyKind.SECRET, f"dashboard:{access.member.user.email}"
    )
    try:
        result = await auth.service(request).forget(principal, person)
    except FootfallError as err:
        return read_failed(request, access, err)
    return page(request, "forgotten.html", {
        **access.context(request), "result": result,
    })


class _PersonId(Convertor[str]):
    """A person id as stored: any text, slashes and line breaks included (an SDK sends what it
    likes; Starlette's `path` convertor stops at a line break, and the page answered 404)."""

    regex = "(?s:.+)"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("person_id", _PersonId())

routes = [
    Route("/dashboard/p/{project_id}/{env}/people/{person:person_id}", person_page, methods=["GET"]),
    Route("/dashboard/p/{project_id}/{env}/forget/{person:person_id}", forget_confirm, methods=["GET"]),
    Route("/dashboard/p/{project_id}/{env}/forget/{person:person_id}", forget, methods=["POST"]),
    # The ids "." and "..", which no path can carry (`person_path`).
    Route("/dashboard/p/{project_id}/{env}/people", person_page, methods=["GET"]),
    Route("/dashboard/p/{project_id}/{env}/forget", forget_confirm, methods=["GET"]),
    Route("/dashboard/p/{project_id}/{env}/forget", forget, methods=["POST"]),
]
