"""Saved segments: a project's named filter sets. Saved from the report (POST
`/dashboard/p/{project}/{env}/segments`), listed on it, applied with `?segment=<id>`, deleted
(POST `…/segments/{id}/delete`). Anyone who may see the project may save and delete them."""

from __future__ import annotations

from urllib.parse import parse_qsl

import msgspec
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from footfall.dashboard import auth
from footfall.dashboard.pages._access import Access, project_access
from footfall.dashboard.pages.login import read_form
from footfall.dashboard.state import ReportState, parse_state, with_segment
from footfall.dashboard.web import page

__all__ = ["report_state", "routes"]

MAX_NAME = 80


def report_state(request: Request, access: Access) -> ReportState:
    """The report's state from the URL, with `?segment=` expanded (an unknown one is ignored,
    as any other unreadable parameter)."""
    state = parse_state(request.query_params)
    if state.segment is None:
        return state
    saved = auth.service(request).meta.segments.get(access.project.id, state.segment)
    if saved is None:
        return msgspec.structs.replace(state, segment=None)
    return with_segment(state, saved.id, saved.name, saved.filters)


def _refused(request: Request, access: Access, message: str, status: int) -> Response:
    return page(request, "error.html", {"session": access.session, "message": message}, status)


async def _form(request: Request) -> tuple[Access, dict[str, str], ReportState] | Response:
    """Access, form and the report state to go back to, of a logged-in user's POST with CSRF."""
    access = project_access(request)
    if not isinstance(access, Access):
        return access
    form = await read_form(request)
    if form is None or access.session is None:
        return _refused(request, access, "That request could not be read.", 400)
    if not auth.check_csrf(request, form.get("csrf"), access.session.csrf_token):
        return _refused(request, access, "The form expired; reload and try again.", 403)
    back = parse_state(dict(parse_qsl(str(form.get("back") or "")[:4000])))
    return access, form, back


async def save(request: Request) -> Response:
    got = await _form(request)
    if isinstance(got, Response):
        return got
    access, form, back = got
    assert access.session is not None
    name = " ".join(str(form.get("name") or "").split())[:MAX_NAME]
    filters = parse_state(dict(parse_qsl(str(form.get("filters") or "")[:8000]))).filters
    if not name or not filters:
        return _refused(request, access, "A segment needs a name and at least one filter.", 400)
    saved = auth.service(request).meta.segments.create(
        access.project.id, name, filters, access.session.user.email
    )
    return RedirectResponse(access.base + back.with_segment_id(saved.id), 303)


async def delete(request: Request) -> Response:
    got = await _form(request)
    if isinstance(got, Response):
        return got
    access, _form_fields, back = got
    segment_id = str(request.path_params["segment_id"])
    if not auth.service(request).meta.segments.delete(access.project.id, segment_id):
        return _refused(request, access, "No such segment.", 404)
    if back.segment == segment_id:
        back = msgspec.structs.replace(back, segment=None)
    return RedirectResponse(access.base + back.url(), 303)


routes = [
    Route("/dashboard/p/{project_id}/{env}/segments", save, methods=["POST"]),
    Route("/dashboard/p/{project_id}/{env}/segments/{segment_id}/delete", delete, methods=["POST"]),
]
