"""HTTP with Footfall's retry rules: retry only 429, 503 and network errors, honouring Retry-After.

Every other answer (2xx, other 4xx, other 5xx) is returned to the caller at once: a 400 can never
succeed, and a 500/502 is not a promise that a retry would help.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

__all__ = [
    "RETRY_STATUSES",
    "APIError",
    "Aborted",
    "FootfallClientError",
    "QueueFull",
    "RetryPolicy",
    "parse_retry_after",
    "raise_for_status",
    "send",
]

log = logging.getLogger("footfall.client")
# Retry jitter from a private generator: an SDK must not move the application's global
# `random` state (tests and simulations seed it; hypothesis refuses draws that race with it).
_jitter = random.Random()

RETRY_STATUSES = frozenset({429, 503})
#: A Retry-After longer than this is capped (a client must not hang for hours on one header).
MAX_RETRY_AFTER = 120.0
RETRYABLE_ERRORS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


class FootfallClientError(Exception):
    """Base class of the SDK's own exceptions."""


class QueueFull(FootfallClientError):
    """`track` with `on_full="raise"` found the queue at `max_queue_size`."""


class Aborted(FootfallClientError):
    """A retry wait was cut short by `shutdown` running out of time."""


class APIError(FootfallClientError):
    """The server answered with a non-2xx status (after any retries)."""

    def __init__(self, status: int, body: Any, retry_after: float | None = None) -> None:
        self.status = status
        self.body = body
        self.retry_after = retry_after
        self.code: str | None = None
        self.details: dict[str, Any] = {}
        message = ""
        if isinstance(body, dict):
            code = body.get("error")
            self.code = code if isinstance(code, str) else None
            details = body.get("details", body.get("errors"))  # A-TRACK: {"errors": {...}}
            self.details = details if isinstance(details, dict) else {}
            message = str(body.get("message") or "")
        super().__init__(f"HTTP {status} {self.code or message or body!r}")


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 5
    backoff_base: float = 0.5
    backoff_max: float = 30.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before retry number `attempt + 1`.

        Exponential backoff with "equal jitter" (half fixed, half random); a Retry-After header wins
        and gets up to 10 % of jitter on top, so a crowd of clients does not come back at once.
        """
        if retry_after is not None:
            wait = min(MAX_RETRY_AFTER, max(0.0, retry_after))
            return wait + _jitter.uniform(0.0, wait * 0.1)
        backoff = min(self.backoff_max, self.backoff_base * 2.0**attempt)
        return backoff / 2 + _jitter.uniform(0.0, backoff / 2)


def parse_retry_after(value: str | None) -> float | None:
    """`Retry-After` as seconds: either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def send(
    http: httpx.Client,
    method: str,
    path: str,
    policy: RetryPolicy,
    *,
    json: Any = None,
    params: Mapping[str, Any] | None = None,
    abort: threading.Event | None = None,
) -> httpx.Response:
    """Send one request, retrying 429/503/network errors up to `policy.max_retries` times.

    Returns the last response (which may still be a 429/503 once retries are used up); raises the
    last `httpx` error if the network never answered, or `Aborted` if `abort` is set while waiting.
    """
    attempt = 0
    while True:
        try:
            response = http.request(method, path, json=json, params=params)
        except RETRYABLE_ERRORS as err:
            if attempt >= policy.max_retries:
                raise
            delay = policy.delay(attempt, None)
            log.info("footfall: %s %s failed (%s), retry in %.2fs", method, path, err, delay)
        else:
            if response.status_code not in RETRY_STATUSES or attempt >= policy.max_retries:
                return response
            delay = policy.delay(attempt, parse_retry_after(response.headers.get("retry-after")))
            log.info(
                "footfall: %s %s answered %d, retry in %.2fs",
                method, path, response.status_code, delay,
            )
        attempt += 1
        if abort is None:
            time.sleep(delay)
        elif abort.wait(delay):
            raise Aborted(f"{method} {path}: gave up waiting to retry (shutdown timeout)")


def raise_for_status(response: httpx.Response) -> dict[str, Any]:
    """The JSON body of a 2xx answer, or `APIError`."""
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    if response.is_success:
        return body if isinstance(body, dict) else {}
    raise APIError(
        response.status_code, body, parse_retry_after(response.headers.get("retry-after"))
    )
