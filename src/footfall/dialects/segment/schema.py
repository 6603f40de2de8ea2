"""The Segment HTTP Tracking API's wire shapes (also RudderStack's and Jitsu's), camelCase.

Every field is optional here: which ones a message needs depends on its type, and the mapping
says so per type with its own message. Unknown fields are ignored; vendor names live only here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from msgspec import Meta

__all__ = [
    "BATCH",
    "BATCH_ITEMS",
    "MESSAGE",
    "SIGNALS",
    "Batch",
    "BatchDoc",
    "BatchItems",
    "Context",
    "ErrorBody",
    "Message",
    "Page",
    "Signals",
    "Success",
]

Id = Annotated[str, Meta(max_length=256)] | int  # the SDKs send numbers as ids too
Text = Annotated[str, Meta(max_length=256)]


class Page(msgspec.Struct, kw_only=True):
    """`context.page`: only what the mapping reads (title, search... are not stored). Values of
    another type than a string are ignored by the mapping, not refused."""

    url: Any = None
    path: Any = None
    referrer: Any = None


class Context(msgspec.Struct, kw_only=True, rename="camel"):
    """`context`: the fields Footfall uses; the rest (library, locale, traits...) is not stored,
    so it is skipped at decode instead of built."""

    page: Page | None = None
    campaign: dict[str, Any] | None = None
    ip: Any = None
    user_agent: Any = None


class Message(msgspec.Struct, kw_only=True, rename="camel"):
    """One call: track, page, screen, identify, group or alias (`type` names it in a batch)."""

    type: Text | None = None
    user_id: Id | None = None
    anonymous_id: Id | None = None
    message_id: Text | None = None
    timestamp: datetime | None = None
    original_timestamp: datetime | None = None
    sent_at: datetime | None = None
    event: Text | None = None  # track
    name: Text | None = None  # page / screen
    category: Text | None = None  # page
    properties: dict[str, Any] | None = None
    traits: dict[str, Any] | None = None  # identify / group
    group_id: Id | None = None  # group
    previous_id: Id | None = None  # alias
    context: Context | None = None
    write_key: Text | None = None  # (`integrations` is accepted and ignored)


class Batch(msgspec.Struct, kw_only=True, rename="camel"):
    """`/v1/batch`, `/v1/import`, `/v1/b`."""

    batch: list[Message] | None = None
    context: Context | None = None
    write_key: Text | None = None
    sent_at: datetime | None = None


class BatchItems(msgspec.Struct):
    """A batch's items as sent, to check each one's size (only a body over 32 KB can hold an
    item over 32 KB)."""

    batch: list[msgspec.Raw] | None = None


class BatchDoc(msgspec.Struct, kw_only=True, rename="camel"):
    """`Batch` as documented in OpenAPI: items are messages with a `type`."""

    batch: list[Message]
    context: Context | None = None
    integrations: dict[str, Any] | None = None
    write_key: Text | None = None
    sent_at: datetime | None = None


class Signals(msgspec.Struct, rename="camel"):
    """What tells a Segment body from a Millimetric one on the shared bare paths."""

    write_key: Any = None
    batch: Any = None
    anonymous_id: Any = None
    user_id: Any = None
    message_id: Any = None
    previous_id: Any = None
    sent_at: Any = None
    original_timestamp: Any = None

    def segment(self) -> bool:
        return isinstance(self.batch, list) or any(
            v is not None
            for v in (
                self.write_key, self.anonymous_id, self.user_id, self.message_id,
                self.previous_id, self.sent_at, self.original_timestamp,
            )
        )


class Success(msgspec.Struct):
    success: bool


class ErrorBody(msgspec.Struct):
    code: str
    message: str


# One decoder per shape, made once (a decoder per call costs more than the decode).
MESSAGE = msgspec.json.Decoder(Message)
BATCH = msgspec.json.Decoder(Batch)
BATCH_ITEMS = msgspec.json.Decoder(BatchItems)
SIGNALS = msgspec.json.Decoder(Signals)
