"""The conversions behind one number of the attribution reads (`Store.conversions_behind`):
what every backend shares around its SQL, the bucket bounds and the answer's shape.

Each backend picks the conversions from the very CTEs its count is made of (a path from the
paths' per-conversion path, a bucket from time to convert's per-conversion seconds, a row's
credit from the models' weighted touchpoints), so a list cannot drift from its number.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from footfall.read.queries import ConversionsQuery
from footfall.store.answers import TIME_BUCKETS, attribution_header

__all__ = ["BEHIND", "CONVERSION_COLUMNS", "bucket_where", "conversion_row", "conversions_answer"]

BEHIND = ("path", "bucket", "credit")
# What each backend's SQL gives per conversion, in this order (`every_conversion_sql` names
# them so): `conversion_row` shapes one into a row of the answer.
CONVERSION_COLUMNS = (
    "uid", "ts", "person", "session_id", "value", "seconds", "touchpoints", "credit", "credited",
)  # fmt: skip


def bucket_where(lower: int, seconds: str = "seconds") -> str:
    """SQL: `seconds` falls in the TIME_BUCKETS bucket starting at `lower`, as
    `time_to_convert` counts it.

    >>> bucket_where(0), bucket_where(2592000)
    ('seconds >= 0 AND seconds < 3600', 'seconds >= 2592000')
    """
    i = TIME_BUCKETS.index(lower)
    upper = TIME_BUCKETS[i + 1] if i + 1 < len(TIME_BUCKETS) else None
    return f"{seconds} >= {lower}" + (f" AND {seconds} < {upper}" if upper is not None else "")


def _bucket(lower: int) -> dict[str, int | None]:
    i = TIME_BUCKETS.index(lower)
    return {"from_seconds": lower, "to_seconds": TIME_BUCKETS[i + 1] if i + 1 < len(TIME_BUCKETS) else None}


def _round(value: Any, digits: int = 6) -> float | None:
    return None if value is None else round(float(value), digits)


def conversions_answer(
    q: ConversionsQuery, totals: Sequence[Any], rows: Sequence[Sequence[Any]]
) -> dict[str, Any]:
    """The answer from the totals (conversions, people, value, credit, credited value) and
    the page's rows (uid, ts as ISO text, person, session_id, value, seconds, touchpoints,
    credit, credited value)."""
    a = q.attribution
    answer = attribution_header(a, totals[0] or 0, totals[2] or 0.0)
    answer["totals"]["people"] = int(totals[1] or 0)
    answer["behind"] = q.behind
    if q.behind == "credit":
        answer["dimension"], answer["key"] = a.group_by[0], q.key
        answer["totals"]["credit"] = _round(totals[3] or 0.0)
        answer["totals"]["credited_value"] = _round(totals[4] or 0.0)
    else:
        del answer["model"]
    if q.behind == "path":
        answer["dimension"], answer["path"] = a.group_by[0], list(q.path)
    if q.behind == "bucket":
        answer["bucket"] = _bucket(q.bucket)
    answer["limit"], answer["offset"] = q.limit, q.offset
    answer["rows"] = [conversion_row(q, dict(zip(CONVERSION_COLUMNS, r, strict=True))) for r in rows]
    return answer


def conversion_row(q: ConversionsQuery, r: Mapping[str, Any]) -> dict[str, Any]:
    """One row of the answer from the SQL's `CONVERSION_COLUMNS` (the paged read and the
    batches shape their rows alike)."""
    out = {"uid": r["uid"], "ts": r["ts"], "person": r["person"], "session_id": r["session_id"],
           "value": _round(r["value"])}  # fmt: skip
    if q.behind == "bucket":
        out["seconds"], out["touchpoints"] = _round(r["seconds"], 3), int(r["touchpoints"])
    if q.behind == "credit":
        out["credit"], out["credited_value"] = _round(r["credit"]), _round(r["credited"])
    return out
