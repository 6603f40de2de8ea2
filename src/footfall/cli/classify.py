"""``footfall classify``: run the attribution classifier on one visit or on JSON lines.

The command calls the same :func:`footfall.attribution.rules.classify` as the ingestion
pipeline. Each output line is the :class:`~footfall.attribution.rules.Attribution` as JSON
(source, medium, campaign, term, content, campaign_id, channel, confidence, rule_id,
click_id_type, click_id, referrer_host, referrer_version) and its ``explain`` list, which ends
with the rule that fired and ``channel:<name>``.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Annotated, BinaryIO

import msgspec
import typer

if TYPE_CHECKING:
    from footfall.attribution.rules import Attribution

__all__ = ["classify", "classify_lines"]

_CHUNK = 1024  # output lines per write


class _Line(msgspec.Struct):
    """One input line. Other keys are ignored."""

    url: str | None = None
    referrer: str | None = None


_decoder = msgspec.json.Decoder(_Line)
_encoder = msgspec.json.Encoder()


def _record(a: Attribution) -> bytes:
    from footfall.attribution.channels import explain_entry

    return _encoder.encode(
        msgspec.structs.replace(a, explain=(*a.explain, explain_entry(a.channel)))
    )


def _error(message: str) -> bytes:
    return _encoder.encode({"error": message})


def classify_lines(
    lines: Iterable[bytes], write: Callable[[bytes], object], own_hosts: frozenset[str]
) -> int:
    """Classify JSON lines ``{"url": ..., "referrer": ...}`` and ``write`` one JSON line per
    input line, in order and in chunks; blank lines are skipped. A line that cannot be read
    gives ``{"error": "line N: ..."}`` instead. Returns the number of lines written."""
    from footfall.attribution.rules import classify as run

    decode, chunk, written = _decoder.decode, [], 0
    for n, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            line = decode(raw)
            chunk.append(_record(run(line.url, line.referrer, own_hosts)))
        except msgspec.DecodeError as exc:  # includes ValidationError
            chunk.append(_error(f"line {n}: {exc}"))
        except Exception as exc:  # pragma: no cover - the classifier never raises on input
            chunk.append(_error(f"line {n}: {type(exc).__name__}: {exc}"))
        if len(chunk) >= _CHUNK:
            write(b"\n".join(chunk) + b"\n")
            written += len(chunk)
            chunk.clear()
    if chunk:
        write(b"\n".join(chunk) + b"\n")
        written += len(chunk)
    return written


def _binary(stream: object) -> BinaryIO:
    buffer = getattr(stream, "buffer", None)
    return buffer if buffer is not None else stream  # type: ignore[return-value]


def classify(
    url: Annotated[
        str | None, typer.Option("--url", help="Landing URL of one visit (with its query).")
    ] = None,
    referrer: Annotated[
        str | None, typer.Option("--referrer", help="Referrer of that visit.")
    ] = None,
    own_host: Annotated[
        list[str] | None,
        typer.Option(
            "--own-host",
            help="A host of the site itself (subdomains included); repeatable. The landing "
            "URL's host always counts.",
        ),
    ] = None,
) -> None:
    """Classify visits: source, medium, campaign, channel, confidence and the rules that fired.

    With --url and/or --referrer, prints one JSON line for that visit. Otherwise reads JSON lines {"url": ..., "referrer": ...} on stdin and writes one JSON line per input line (blank lines are skipped); a line that cannot be read gives {"error": "..."}. The exit status is 0.
    """
    own = frozenset(h.strip().lower() for h in own_host or () if h.strip())
    out = _binary(sys.stdout)
    try:
        if url is not None or referrer is not None:
            from footfall.attribution.rules import classify as run

            out.write(_record(run(url, referrer, own)) + b"\n")
        else:
            classify_lines(_binary(sys.stdin), out.write, own)
        out.flush()
    except BrokenPipeError:  # e.g. `footfall classify < in.jsonl | head`
        with contextlib.suppress(OSError, ValueError):  # no real file descriptor
            os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())
