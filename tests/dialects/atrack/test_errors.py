"""The A-TRACK envelope for every neutral error (no server needed)."""

from __future__ import annotations

import json

import msgspec
import pytest

from footfall.dialects.atrack import schema
from footfall.dialects.atrack.errors import invalid_from_msgspec, render
from footfall.errors import (
    FootfallError,
    Forbidden,
    Invalid,
    NotFound,
    Overloaded,
    PayloadTooLarge,
    RateLimited,
    StoreUnavailable,
    Unauthorized,
)


@pytest.mark.parametrize(
    ("exc", "status", "retry_after"),
    [
        (Unauthorized("invalid_api_key", "bad key"), 401, None),
        (Forbidden("insufficient_scope", "no"), 403, None),
        (NotFound("uuid_not_found", "no such uuid"), 404, None),
        (PayloadTooLarge(), 413, None),
        (RateLimited("rate_limited", "slow down", retry_after=0.2), 429, "1"),
        (Overloaded("overloaded", "busy", retry_after=2.5), 503, "3"),
        (StoreUnavailable("store_behind", "catching up", retry_after=1.0), 503, "1"),
        (FootfallError("internal_error", "internal error"), 500, None),
    ],
)
def test_plain_envelope(exc: FootfallError, status: int, retry_after: str | None) -> None:
    r = render(exc)
    assert r.status_code == status
    assert json.loads(bytes(r.body)) == {"success": False, "message": exc.message}
    assert r.headers.get("retry-after") == retry_after


def test_validation_is_422_with_field_errors() -> None:
    r = render(Invalid("invalid_payload", "bad", details={"errors": {"event": ["required"]}}))
    assert r.status_code == 422
    assert json.loads(bytes(r.body)) == {"success": False, "message": "bad", "errors": {"event": ["required"]}}
    bare = render(Invalid("invalid_payload", "bad"))
    assert json.loads(bytes(bare.body))["errors"] == {"body": ["bad"]}


def test_field_paths_use_dot_notation() -> None:
    def errors(body: bytes, kind: type) -> dict[str, list[str]]:
        with pytest.raises(msgspec.DecodeError) as info:
            schema.decode(body, kind)
        found: dict[str, list[str]] = invalid_from_msgspec(info.value).details["errors"]
        return found

    assert errors(b'{"events_limit": 5}', schema.SessionShowBody) == {"uuid": ["The uuid field is required."]}
    assert list(errors(b'{"user": {"attributes": []}}', schema.InitBody)) == ["user.attributes"]
    assert list(errors(b'{"context": {"client": {"languages": [1]}}}', schema.InitBody)) == ["context.client.languages.0"]


def test_empty_body_is_an_empty_object() -> None:
    assert schema.decode(b"", schema.InitBody) == schema.InitBody()
    assert schema.decode(b"  ", schema.EventShowBody) == schema.EventShowBody()
