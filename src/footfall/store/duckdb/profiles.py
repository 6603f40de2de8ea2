"""Profiles in DuckDB: fold a batch's updates onto the stored documents, one upsert per batch.

Updates to one subject must apply in order (merge, then replace, then merge…), which a single
`ON CONFLICT` statement cannot do; so the loader reads the touched profiles once, folds the
updates in order and writes each touched profile back once.
"""

from __future__ import annotations

from typing import Any

import duckdb
import msgspec
import pyarrow as pa

from footfall.model import ProfileUpdate
from footfall.store.profiles import fold

__all__ = ["apply_profile_updates", "fold", "read_profile"]

Key = tuple[str, str, str, str]
_decode = msgspec.json.Decoder(ProfileUpdate).decode
_encode = msgspec.json.Encoder().encode


def apply_profile_updates(con: duckdb.DuckDBPyConnection, payloads: list[bytes]) -> int:
    updates = [_decode(p) for p in payloads]
    keys = list(dict.fromkeys((u.project_id, u.env, u.kind, u.subject_id) for u in updates))
    wanted = pa.table({
        "project_id": [k[0] for k in keys], "env": [k[1] for k in keys],
        "kind": [k[2] for k in keys], "subject_id": [k[3] for k in keys],
    })
    con.register("wanted", wanted)
    try:
        rows = con.execute(
            """
            SELECT p.project_id, p.env, p.kind, p.subject_id, attributes, context, custom_data,
                   enrichment, created_at, updated_at
            FROM profiles p JOIN wanted w USING (project_id, env, kind, subject_id)
            """
        ).fetchall()
    finally:
        con.unregister("wanted")
    docs: dict[Key, dict[str, Any]] = {}
    for r in rows:
        docs[(r[0], r[1], r[2], r[3])] = {
            "attributes": msgspec.json.decode(r[4]), "context": msgspec.json.decode(r[5]),
            "custom_data": msgspec.json.decode(r[6]), "enrichment": msgspec.json.decode(r[7]),
            "created_at": r[8], "updated_at": r[9],
        }
    for u in updates:
        key = (u.project_id, u.env, u.kind, u.subject_id)
        docs[key] = fold(docs.get(key, {}), u)
    table = pa.table({
        "project_id": [k[0] for k in keys], "env": [k[1] for k in keys],
        "kind": [k[2] for k in keys], "subject_id": [k[3] for k in keys],
        "attributes": [_encode(docs[k].get("attributes") or {}).decode() for k in keys],
        "context": [_encode(docs[k].get("context") or {}).decode() for k in keys],
        "custom_data": [_encode(docs[k].get("custom_data") or {}).decode() for k in keys],
        "enrichment": [_encode(docs[k].get("enrichment") or {}).decode() for k in keys],
        "created_at": pa.array([docs[k]["created_at"] for k in keys], pa.timestamp("us")),
        "updated_at": pa.array([docs[k]["updated_at"] for k in keys], pa.timestamp("us")),
    })
    con.register("folded", table)
    try:
        con.execute("INSERT OR REPLACE INTO profiles SELECT * FROM folded")
    finally:
        con.unregister("folded")
    return len(keys)


def read_profile(
    run: Any, project_id: str, env: str, kind: str, subject_id: str
) -> dict[str, Any] | None:
    names, rows = run(
        """
        SELECT attributes, context, custom_data, enrichment,
               strftime(created_at, '%Y-%m-%dT%H:%M:%S.%fZ') AS created_at,
               strftime(updated_at, '%Y-%m-%dT%H:%M:%S.%fZ') AS updated_at
        FROM profiles WHERE project_id = $p AND env = $e AND kind = $k AND subject_id = $s
        """,
        {"p": project_id, "e": env, "k": kind, "s": subject_id},
    )
    if not rows:
        return None
    doc = dict(zip(names, rows[0], strict=True))
    for name in ("attributes", "context", "custom_data", "enrichment"):
        doc[name] = msgspec.json.decode(doc[name])
    return doc
