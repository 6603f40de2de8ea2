"""One neutral error tree; each dialect renders it in its own envelope at the edge."""

from __future__ import annotations

from typing import Any

__all__ = [
    "FootfallError",
    "Forbidden",
    "Invalid",
    "NotFound",
    "NotSupported",
    "Overloaded",
    "PayloadTooLarge",
    "RateLimited",
    "StoreUnavailable",
    "Unauthorized",
]


class FootfallError(Exception):
    status = 500
    code = "internal_error"
    retryable = False

    def __init__(
        self,
        code: str | None = None,
        message: str | None = None,
        *,
        details: dict[str, Any] | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.code = code or type(self).code
        self.message = message or self.code.replace("_", " ")
        self.details = details or {}
        self.retry_after = retry_after
        super().__init__(self.message)


class Invalid(FootfallError):
    """The request can never succeed as sent; `details` maps field → problems."""

    status = 400
    code = "invalid_payload"


class PayloadTooLarge(FootfallError):
    status = 413
    code = "payload_too_large"


class Unauthorized(FootfallError):
    status = 401
    code = "invalid_api_key"


class Forbidden(FootfallError):
    status = 403
    code = "insufficient_scope"


class NotFound(FootfallError):
    status = 404
    code = "not_found"


class NotSupported(FootfallError):
    """The configured store cannot answer this question (yet): asking again will not help."""

    status = 501
    code = "not_supported_by_store"


class RateLimited(FootfallError):
    status = 429
    code = "rate_limited"
    retryable = True


class Overloaded(FootfallError):
    """The write queue is full: nothing was stored, try again shortly."""

    status = 503
    code = "overloaded"
    retryable = True


class StoreUnavailable(FootfallError):
    """The WAL or the store failed: nothing was acknowledged."""

    status = 503
    code = "store_unavailable"
    retryable = True
