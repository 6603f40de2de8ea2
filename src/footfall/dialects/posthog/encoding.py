"""A capture request's body, whatever the SDK wrapped it in, as JSON bytes.

posthog-js sends raw gzip as `text/plain` with no query hint (so gzip is recognised by its magic
bytes, whatever the headers say), a `data=<base64>` form from `navigator.sendBeacon` on unload,
and `?data=` on GET; posthog-node sends `Content-Encoding: gzip` (undone by `read_body`); very
old posthog-js sent `compression=lz64`. Every path is capped at `limit` decoded bytes.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from urllib.parse import parse_qsl

from footfall.errors import Invalid, PayloadTooLarge
from footfall.http import gunzip

__all__ = ["LZ64_MAX_CHARS", "capture_payload"]

GZIP_MAGIC = b"\x1f\x8b"
# lz-string output can grow with the square of its input (every token may lengthen the
# dictionary's longest entry by one) and the decoder is pure Python, so legacy lz64 bodies
# are kept small before decoding; the SDKs that still send it batch a few events at a time.
LZ64_MAX_CHARS = 16 * 1024
_FORM = "application/x-www-form-urlencoded"


def is_lz64(body: bytes, query: Mapping[str, str]) -> bool:
    """Might this request be legacy lz64? Its decoder is pure Python and its output can grow
    with the square of the input, so `capture` decodes such a body in a thread, not on the
    event loop; a wrong yes only costs a thread hop."""
    return query.get("compression") == "lz64" or b"compression=lz64" in body


def capture_payload(
    body: bytes, content_type: str, query: Mapping[str, str], limit: int
) -> bytes:
    """The JSON text of a capture request (POST body, or GET `?data=`).

    >>> import gzip
    >>> capture_payload(gzip.compress(b'{"event": "a"}'), "text/plain", {}, 100)
    b'{"event": "a"}'
    >>> capture_payload(b"data=eyJldmVudCI6ICJhIn0%3D&compression=base64", _FORM, {}, 100)
    b'{"event": "a"}'
    >>> capture_payload(b"", "", {"data": '{"event":"a"}'}, 100)
    b'{"event":"a"}'
    """
    if body.startswith(GZIP_MAGIC):
        return gunzip(body, limit)
    compression = query.get("compression", "")
    if not body:
        if "data" not in query:
            raise _invalid("no data: send a JSON body or ?data=")
        return _data_field(query["data"], compression, limit)
    if content_type.split(";")[0].strip().lower() == _FORM or body.startswith(b"data="):
        form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        if "data" not in form:
            raise _invalid("form body without a data field")
        return _data_field(form["data"], form.get("compression") or compression, limit)
    if compression in ("base64", "lz64"):
        return _data_field(body.decode("utf-8"), compression, limit)
    return body


def _data_field(data: str, compression: str, limit: int) -> bytes:
    """A `data` value: JSON, base64 of JSON (or of gzip), or legacy lz64."""
    if compression == "lz64":
        return _lz64(data, limit)
    text = data.strip()
    if compression != "base64" and text[:1] in ("{", "["):
        return text.encode("utf-8")
    # Form-decoding turned the base64 alphabet's `+` into spaces.
    raw = text.replace(" ", "+")
    try:
        decoded = base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise _invalid("data is neither JSON nor base64") from None
    if decoded.startswith(GZIP_MAGIC):
        return gunzip(decoded, limit)
    if len(decoded) > limit:
        raise PayloadTooLarge(details={"limit_bytes": limit, "decompressed": True})
    return decoded


def _lz64(data: str, limit: int) -> bytes:
    if len(data) > LZ64_MAX_CHARS:
        raise PayloadTooLarge(
            "payload_too_large", f"lz64 bodies are limited to {LZ64_MAX_CHARS} characters",
            details={"limit_bytes": LZ64_MAX_CHARS},
        )
    import lzstring  # legacy SDKs only: not loaded at start-up (it pulls in `future`, ~45 ms)

    try:
        text = lzstring.LZString().decompressFromBase64(data.replace(" ", "+"))
    except Exception:  # the untyped decoder fails on bad input with whatever it trips over
        text = None
    if not text:
        raise _invalid("data is not valid lz64")
    try:  # lz-string works on UTF-16 code units: characters past U+FFFF arrive as pairs
        out: bytes = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le").encode("utf-8")
    except UnicodeError:
        raise _invalid("data is not valid lz64") from None
    if len(out) > limit:
        raise PayloadTooLarge(details={"limit_bytes": limit, "decompressed": True})
    return out


def _invalid(message: str) -> Invalid:
    return Invalid("invalid_payload", message, details={"errors": {"body": [message]}})
