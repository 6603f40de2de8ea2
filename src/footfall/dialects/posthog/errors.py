"""PostHog's error shape: `{"type", "code", "detail", "attr"}`.

posthog-js drops a batch on any 4xx and retries a 5xx; posthog-python and posthog-node retry
429 and 5xx. So a request that can never succeed is a 4xx (400 invalid, 401 token, 413 too
large) and only "try again" answers (429, 503) are retryable, both with `Retry-After`.
"""

from __future__ import annotations

import math

from starlette.responses import Response

from footfall.dialects.posthog.schema import ErrorBody
from footfall.errors import FootfallError
from footfall.http import json_response

__all__ = ["render"]

_TYPES = {400: "validation_error", 413: "validation_error", 401: "authentication_error",
          403: "authentication_error"}


def render(exc: FootfallError) -> Response:
    # A key that may not ingest here (wrong kind, foreign origin) is a token problem to PostHog.
    status = 401 if exc.status == 403 else exc.status
    kind = _TYPES.get(status, "server_error" if status >= 500 or status == 429 else "validation_error")
    headers = {}
    if exc.retry_after is not None:
        headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
    attr = exc.details.get("attr") if isinstance(exc.details.get("attr"), str) else None
    return json_response(ErrorBody(type=kind, code=exc.code, detail=exc.message, attr=attr),
                         status, headers)
