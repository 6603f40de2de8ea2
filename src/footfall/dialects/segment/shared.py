"""The bare `/v1/track`, `/v1/identify` and `/v1/batch`, served to Millimetric and Segment alike.

The spec's rule, cheapest test first, so a Millimetric request costs one header look-up more:

- `Authorization: Bearer <Footfall key>` → Millimetric, untouched;
- `Authorization: Basic` whose user name is a Footfall key → Segment;
- no header and `?key=pk_…` (Millimetric's sendBeacon form) → Millimetric, untouched;
- otherwise the body is read once (gzip undone for the look) and kept for whichever dialect
  answers: a Bearer token that is no Footfall key beside a body `writeKey` is Segment OAuth,
  which Footfall cannot verify (Segment's 401 `oauth_unsupported`); otherwise (no header, or
  Basic with something else in it) a body with `writeKey`, a `batch` list or camelCase ids
  (`anonymousId`, `userId`, `messageId`, `previousId`, `sentAt`, `originalTimestamp`) is
  Segment's, which answers a bad key in its own envelope. Everything else goes to Millimetric,
  which answers it exactly as before (it authenticates before it reads a body, so a body it
  never gets changes nothing).
"""

from __future__ import annotations

import base64
import binascii
import re

import msgspec
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Message

from footfall.dialects.segment import schema
from footfall.dialects.segment.errors import render
from footfall.errors import FootfallError, PayloadTooLarge, Unauthorized
from footfall.http import Endpoint, decoded, header, read_raw

__all__ = ["shared"]

_FOOTFALL_KEY = re.compile(r"^(pk|sk|rk|ak)_(live|test)_")


def _replay(request: Request, body: bytes) -> Request:
    """The request again, its body already read."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await request.receive()

    return Request(request.scope, receive)


async def _peek(request: Request, limit: int) -> tuple[bytes, schema.Signals] | None:
    """The raw body and its Segment signals; None when it is over `limit`."""
    try:  # the dialect that answers reads the bytes as sent (gzip included) from the replay
        raw = await read_raw(request, limit)
    except PayloadTooLarge:
        return None
    try:
        return raw, schema.SIGNALS.decode(decoded(request, raw, limit))
    except (FootfallError, msgspec.DecodeError, UnicodeError, RecursionError):
        return raw, schema.Signals()


def _overload_check(request: Request) -> None:
    committer = request.app.state.footfall.committer
    if committer is not None:
        committer.admit(1)


def _basic_user(token: str) -> str:
    try:
        return base64.b64decode(token.strip(), validate=True).decode().partition(":")[0]
    except (binascii.Error, UnicodeDecodeError):
        return ""


def shared(millimetric: Endpoint, segment: Endpoint, peek_limit: int) -> Endpoint:
    """`peek_limit`: the most either dialect takes on this path from a request that reaches
    the look (Millimetric authenticates from the header or `?key=`, so it refuses such a
    request whatever its body: only Segment's own limits, and Millimetric's single-event
    ones, matter). Nothing larger is read, nor gunzipped, before a key is known."""

    async def endpoint(request: Request) -> Response:
        authorization = header(request, b"authorization")
        bearer = False
        if authorization is not None:
            scheme, _, token = authorization.strip().partition(" ")
            scheme = scheme.lower()
            if scheme == "basic" and _FOOTFALL_KEY.match(_basic_user(token)):
                return await segment(request)
            bearer = scheme == "bearer"
            if scheme not in ("basic", "bearer") or (bearer and _FOOTFALL_KEY.match(token.strip())):
                return await millimetric(request)
        elif request.query_params.get("key", "").startswith("pk_"):
            return await millimetric(request)
        try:
            # Refusing must cost less than reading: an overloaded server says so first.
            _overload_check(request)
        except FootfallError as err:
            return render(err)
        try:
            peeked = await _peek(request, peek_limit)
        except ClientDisconnect:
            return Response(status_code=400)
        if peeked is None:  # too large to be Segment's: Millimetric answers as it always did
            return await millimetric(_replay(request, b""))
        raw, signals = peeked
        if bearer:
            if signals.write_key is not None:
                return render(Unauthorized(
                    "oauth_unsupported", "Segment OAuth tokens cannot be verified here; "
                    "send the write key (a Footfall key) with Basic auth"))
            return await millimetric(_replay(request, raw))
        if signals.segment():
            return await segment(_replay(request, raw))
        return await millimetric(_replay(request, raw))

    endpoint.__name__ = f"shared_{millimetric.__name__}"
    return endpoint

