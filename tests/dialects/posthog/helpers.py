"""Small helpers for the PostHog tests: key placeholders, body encodings, reads."""

from __future__ import annotations

import base64
import gzip
import json
import uuid
from typing import Any

import httpx
import lzstring

from tests.support.server import Server

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
ORIGIN = "http://localhost:5173"  # on the default project's allowlist
STATUS_1 = {"status": 1}


def uid(prefix: str = "u") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def fill(value: Any, keys: dict[str, str]) -> Any:
    """`{sk_live}`, `{pk_live}`, ... in strings become the server's keys."""
    if isinstance(value, str):
        for name, key in keys.items():
            value = value.replace("{" + name + "}", str(key))
        return value
    if isinstance(value, dict):
        return {k: fill(v, keys) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, keys) for v in value]
    return value


def encode(body: Any, how: str) -> tuple[bytes, dict[str, str]]:
    """The body as an SDK would send it: json, gzip (raw, text/plain, as posthog-js), gzip-header
    (Content-Encoding, as posthog-node), base64-form (sendBeacon), lz64-form (old posthog-js)."""
    text = json.dumps(body)
    form = {"content-type": "application/x-www-form-urlencoded"}
    if how == "json":
        return text.encode(), {"content-type": "application/json"}
    if how == "gzip":
        return gzip.compress(text.encode()), {"content-type": "text/plain"}
    if how == "gzip-header":
        return gzip.compress(text.encode()), {"content-type": "application/json", "content-encoding": "gzip"}
    if how == "base64-form":
        data = base64.b64encode(text.encode()).decode()
        # as a form, unescaped: `+` arrives as a space and must be put back
        return f"data={data}&compression=base64".encode(), form
    if how == "lz64-form":
        data = lzstring.LZString().compressToBase64(text)
        return ("data=" + data.replace("+", "%2B") + "&compression=lz64").encode(), form
    raise ValueError(how)


def send(
    server: Server, path: str, body: Any, how: str = "json", method: str = "POST", **headers: str
) -> httpx.Response:
    content, extra = encode(body, how)
    with httpx.Client(base_url=server.url, timeout=30) as c:
        return c.request(method, path, content=content,
                         headers={"user-agent": CHROME, **extra, **headers})


def rows(server: Server, **params: Any) -> list[dict[str, Any]]:
    """`/v1/query` with the read key, oldest first."""
    return list(reversed(server.query(server.keys["rk_live"], **params)))
