"""`footfall backup` / `footfall restore`: a consistent copy of a data directory, also while a
server runs on it.

A backup is the WAL as it stood, then a snapshot of the store taken after it (which records
the WAL position it holds), then the control plane (SQLite's online backup). Restoring puts
the three in a new directory; the server started there replays the WAL records past the
snapshot's position, exactly as after a crash, so every event acknowledged before the backup
began is in it.

The store can be read by one process only, so a running server takes the snapshot itself:
the command asks it over `control.sock`, a Unix socket in the data directory (whoever can
open it can read the data directory anyway).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import shutil
import socket
import sqlite3
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from footfall import __version__

__all__ = ["CONTROL_SOCKET", "BackupError", "backup", "restore", "serve_control"]

CONTROL_SOCKET = "control.sock"
_STORE_FILE = "events.duckdb"
_META_FILE = "meta.sqlite"
_SNAPSHOTS = "snapshots"
log = logging.getLogger("footfall.backup")


class BackupError(Exception):
    """The backup or restore cannot be done; the message says why."""


# -- the server's side ------------------------------------------------------------------------
async def serve_control(data: Path, snapshot: Any) -> asyncio.AbstractServer | None:
    """Answer `{"op": "snapshot"}` lines with `{"path", "seq"}` after `snapshot(path)` (the
    store's backup, run off the event loop)."""
    path = data / CONTROL_SOCKET
    if len(str(path).encode()) > 100:  # sockaddr_un holds ~108 bytes
        log.warning("data directory path too long for %s: online backup unavailable", CONTROL_SOCKET)
        return None
    path.unlink(missing_ok=True)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = json.loads(await reader.readline() or b"{}")
            if request.get("op") != "snapshot":
                answer: dict[str, Any] = {"ok": False, "error": "unknown op"}
            else:
                target = data / _SNAPSHOTS / f"{uuid.uuid4().hex}.duckdb"
                target.parent.mkdir(exist_ok=True)
                seq = await asyncio.to_thread(snapshot, target)
                answer = {"ok": True, "path": str(target), "seq": seq}
        except Exception as exc:  # answered to the command, logged here
            log.exception("snapshot failed")
            answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        writer.write(json.dumps(answer).encode() + b"\n")
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        writer.close()

    server = await asyncio.start_unix_server(handle, path=str(path))
    path.chmod(0o600)
    return server


def _ask_server(data: Path) -> dict[str, Any] | None:
    """The running server's snapshot, or None when no server answers on the socket."""
    path = data / CONTROL_SOCKET
    if not path.exists():
        return None
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        try:
            sock.connect(str(path))
        except (ConnectionRefusedError, FileNotFoundError):
            return None  # a socket left by a server that died
        sock.sendall(b'{"op": "snapshot"}\n')
        answer = b""
        while not answer.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    doc: dict[str, Any] = json.loads(answer)
    if not doc.get("ok"):
        raise BackupError(f"the server could not snapshot its store: {doc.get('error')}")
    return doc


# -- the command's side --------------------------------------------------------------------------
def backup(data: Path, out: Path, settings: Any) -> dict[str, Any]:
    """Write a backup of `data` into the new directory `out`; returns its manifest."""
    if not (data / _META_FILE).exists():
        raise BackupError(f"{data} is not a Footfall data directory")
    if out.exists() and any(out.iterdir()):
        raise BackupError(f"{out} exists and is not empty")
    (out / "wal").mkdir(parents=True, exist_ok=True)
    # 1. The WAL first: whatever the snapshot below does not hold is in it.
    wal = sorted((data / "wal").glob("*.wal"))
    for segment in wal:
        with contextlib.suppress(FileNotFoundError):  # trimmed meanwhile: all in the store
            shutil.copyfile(segment, out / "wal" / segment.name)
    # 2. The store, at a WAL position at or past everything copied above.
    answer = _ask_server(data)
    if answer is not None:
        shutil.move(answer["path"], out / _STORE_FILE)
        seq = int(answer["seq"])
    else:
        seq = _offline_snapshot(data, out / _STORE_FILE, settings)
    # 3. The control plane (projects, hashed keys, salts, rules).
    src, dst = sqlite3.connect(data / _META_FILE), sqlite3.connect(out / _META_FILE)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
    manifest = {
        "footfall_version": __version__,
        "created_at": datetime.now(UTC).isoformat(),
        "store_seq": seq,
        "online": answer is not None,
        "files": {str(p.relative_to(out)): _sha256(p) for p in sorted(out.rglob("*")) if p.is_file()},
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def _offline_snapshot(data: Path, target: Path, settings: Any) -> int:
    import duckdb

    from footfall.store.duckdb.store import DuckDBStore

    try:
        store = DuckDBStore(data / _STORE_FILE, settings.store_threads, settings.store_memory)
    except duckdb.IOException as err:
        if "lock" in str(err).lower():
            raise BackupError(
                f"a process holds the store but no server answers on {data / CONTROL_SOCKET}"
            ) from None
        raise
    try:
        store.migrate()
        return store.backup(target)
    finally:
        store.close()


def restore(backup_dir: Path, data: Path) -> dict[str, Any]:
    """Check a backup's hashes and lay it out as the new data directory `data`."""
    try:
        manifest: dict[str, Any] = json.loads((backup_dir / "manifest.json").read_text())
    except (OSError, ValueError) as err:
        raise BackupError(f"{backup_dir} has no readable manifest.json: {err}") from None
    if data.exists() and any(data.iterdir()):
        raise BackupError(f"{data} exists and is not empty: restore into a new directory")
    for name, digest in manifest["files"].items():
        if not (backup_dir / name).is_file() or _sha256(backup_dir / name) != digest:
            raise BackupError(f"{name} does not match the manifest's sha256: the backup is damaged")
    (data / "wal").mkdir(parents=True, exist_ok=True)
    for name in manifest["files"]:
        shutil.copyfile(backup_dir / name, data / name)
    return manifest


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
