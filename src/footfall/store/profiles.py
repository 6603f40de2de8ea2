"""Profile documents: how one update folds onto what is stored (the same for every backend)."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from footfall.model import ProfileUpdate

__all__ = ["PROFILE_FIELDS", "fold"]

# The JSON documents of a profile, in storage order.
PROFILE_FIELDS = ("attributes", "context", "custom_data", "enrichment")


def fold(doc: dict[str, Any], update: ProfileUpdate) -> dict[str, Any]:
    """Apply one update to a profile document (pure).

    >>> from datetime import datetime
    >>> d = fold({}, ProfileUpdate(project_id="p", env="live", kind="visitor", subject_id="v",
    ...                            ts=datetime(2026, 1, 1), attributes={"a": 1, "b": 2}))
    >>> fold(d, ProfileUpdate(project_id="p", env="live", kind="visitor", subject_id="v",
    ...                       ts=datetime(2026, 1, 2), attributes={"b": 3}))["attributes"]
    {'a': 1, 'b': 3}
    >>> fold(d, ProfileUpdate(project_id="p", env="live", kind="visitor", subject_id="v",
    ...                       ts=datetime(2026, 1, 2), set_once={"a": 9, "c": 4},
    ...                       unset=["b"]))["attributes"]
    {'a': 1, 'c': 4}
    """
    out = dict(doc)
    if update.attributes is not None or update.set_once or update.unset:
        base = {} if update.replace else dict(out.get("attributes") or {})
        for key, value in (update.set_once or {}).items():
            base.setdefault(key, value)
        base.update(update.attributes or {})
        for key in update.unset or ():
            base.pop(key, None)
        out["attributes"] = base
    for name in ("context", "custom_data", "enrichment"):
        value = getattr(update, name)
        if value is not None:
            merged = dict(out.get(name) or {})
            merged.update(value)
            out[name] = merged
    ts = update.ts.astimezone(UTC).replace(tzinfo=None) if update.ts.tzinfo else update.ts
    out.setdefault("created_at", ts)
    out["updated_at"] = max(out.get("updated_at") or ts, ts)
    return out
