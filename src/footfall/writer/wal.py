"""Append-only write-ahead log: the point where an event becomes durable.

A record is `[u32 length][u32 crc32][u64 seq][u8 kind][payload]`, little endian. Records are
appended in groups (one `write` + one `fdatasync` per group commit). On open, the tail is
scanned and a torn or corrupt last group is cut off: those records were never acknowledged,
because acknowledgement only happens after the sync returns.

Segments are named by the sequence number of their first record, so a segment whose successor
starts at or below the loader's applied position can be deleted whole.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

__all__ = ["Record", "WriteAheadLog", "encode_record"]

_BODY_PREFIX = struct.Struct("<QB")
_HEADER = struct.Struct("<II")
SEGMENT_BYTES = 64 * 1024 * 1024

Record = tuple[int, int, bytes]  # (seq, kind, payload)


def encode_record(seq: int, kind: int, payload: bytes) -> bytes:
    body_prefix = _BODY_PREFIX.pack(seq, kind)
    crc = zlib.crc32(payload, zlib.crc32(body_prefix))
    return _HEADER.pack(len(body_prefix) + len(payload), crc) + body_prefix + payload


def _segment_name(first_seq: int) -> str:
    return f"{first_seq:020d}.wal"


class WriteAheadLog:
    """Owns the WAL directory. Not thread-safe: one committer appends, one loader trims."""

    def __init__(self, directory: Path, segment_bytes: int = SEGMENT_BYTES) -> None:
        self.directory = directory
        self.segment_bytes = segment_bytes
        directory.mkdir(parents=True, exist_ok=True)
        self.last_seq = 0
        self._fd: int | None = None
        self._size = 0
        self._recover()

    # -- reading -------------------------------------------------------------------------
    def segments(self) -> list[tuple[int, Path]]:
        out = []
        for path in self.directory.glob("*.wal"):
            try:
                out.append((int(path.stem), path))
            except ValueError:
                continue
        return sorted(out)

    def read_from(self, after_seq: int) -> Iterator[Record]:
        """Every intact record with seq > after_seq, in order."""
        segs = self.segments()
        for i, (_first, path) in enumerate(segs):
            nxt = segs[i + 1][0] if i + 1 < len(segs) else None
            if nxt is not None and nxt <= after_seq + 1:
                continue  # entirely at or below after_seq
            for seq, kind, payload, _end in _scan(path.read_bytes()):
                if seq > after_seq:
                    yield seq, kind, payload

    # -- writing -------------------------------------------------------------------------
    def _recover(self) -> None:
        segs = self.segments()
        if not segs:
            self._open_segment(1)
            return
        first, path = segs[-1]
        data = path.read_bytes()
        good_end = 0
        last = first - 1
        for seq, _kind, _payload, end in _scan(data):
            good_end = end
            last = seq
        if good_end < len(data):
            # A torn tail: the group that was being written when the process died.
            with open(path, "r+b") as fh:
                fh.truncate(good_end)
                os.fsync(fh.fileno())
        self.last_seq = last
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        self._size = good_end

    def _open_segment(self, first_seq: int) -> None:
        if self._fd is not None:
            os.close(self._fd)
        path = self.directory / _segment_name(first_seq)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._size = 0
        _fsync_dir(self.directory)

    def append(self, records: list[tuple[int, bytes]]) -> int:
        """Append (kind, payload) records durably; returns the last seq written.

        Blocking (write + fdatasync): call it off the event loop. Both syscalls release the GIL.
        """
        return self.append_encoded(*self.encode(records))

    def encode(self, records: list[tuple[int, bytes]]) -> tuple[bytes, int]:
        """Frame the next group: (bytes, its last seq). The committer does this on the event
        loop, which holds the GIL anyway, so the I/O thread never queues for it mid-group."""
        seq = self.last_seq
        parts: list[bytes] = []
        append, crc32, pack_prefix, pack_header = parts.append, zlib.crc32, _BODY_PREFIX.pack, _HEADER.pack
        for kind, payload in records:  # `encode_record` inlined: one join, no copies (#23)
            seq += 1
            prefix = pack_prefix(seq, kind)
            append(pack_header(_BODY_PREFIX.size + len(payload), crc32(payload, crc32(prefix))))
            append(prefix)
            append(payload)
        return b"".join(parts), seq

    def append_encoded(self, data: bytes, seq: int) -> int:
        """Write and sync a group made by :meth:`encode` (no append in between)."""
        if self._size >= self.segment_bytes:
            self._open_segment(self.last_seq + 1)
        assert self._fd is not None
        try:
            view = memoryview(data)
            while view:
                n = os.write(self._fd, view)
                view = view[n:]
            os.fdatasync(self._fd)
        except OSError:
            # Disk full, file too large, I/O error: cut the partial group off so records
            # appended after a recovery are not hidden behind garbage, then fail the group.
            try:
                os.ftruncate(self._fd, self._size)
                os.fsync(self._fd)
            except OSError:
                self._open_segment(self.last_seq + 1)  # this segment is unusable: start anew
            raise
        self._size += len(data)
        self.last_seq = seq
        return seq

    def rotate(self) -> None:
        """Start a new segment so every older one can be trimmed once loaded."""
        if self._size:
            self._open_segment(self.last_seq + 1)

    def trim(self, applied_seq: int) -> int:
        """Delete segments whose records are all at or below `applied_seq`; returns count."""
        segs = self.segments()
        removed = 0
        for i, (_first, path) in enumerate(segs[:-1]):
            if segs[i + 1][0] <= applied_seq + 1:
                path.unlink(missing_ok=True)
                removed += 1
        if removed:
            _fsync_dir(self.directory)
        return removed

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _scan(data: bytes) -> Iterator[tuple[int, int, bytes, int]]:
    pos = 0
    size = len(data)
    hdr = 8
    while pos + hdr <= size:
        length, crc = struct.unpack_from("<II", data, pos)
        start = pos + hdr
        end = start + length
        if length < _BODY_PREFIX.size or end > size:
            return
        body = memoryview(data)[start:end]
        if zlib.crc32(body) != crc:
            return
        seq, kind = _BODY_PREFIX.unpack_from(body)
        yield seq, kind, bytes(body[_BODY_PREFIX.size :]), end
        pos = end


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
