"""A store that fails while the server stops: the loader applies nothing after the failed
transaction, so the next start replays it from the WAL (a full disk at shutdown once lost it)."""

from __future__ import annotations

import asyncio
import errno
from pathlib import Path
from typing import Any

import pytest

from footfall.errors import StoreUnavailable
from footfall.store.duckdb.store import DuckDBStore
from footfall.writer.loader import Loader
from footfall.writer.wal import WriteAheadLog
from tests.unit.writer.records import event_records


class FullDiskStore(DuckDBStore):
    """A real store whose transaction ending at `failing_seq` fails, as on a full disk, while
    the ones after it would fit (a smaller one did, after DuckDB's own WAL failed)."""

    failing_seq = -1
    failed: asyncio.Event
    loop: asyncio.AbstractEventLoop

    def append(self, events: bytes, links: bytes, upto_seq: int, *args: Any, **kwargs: Any) -> int:
        if upto_seq == self.failing_seq:
            self.loop.call_soon_threadsafe(self.failed.set)
            raise OSError(errno.EFBIG, "File too large")
        return super().append(events, links, upto_seq, *args, **kwargs)


def test_a_store_failing_at_shutdown_keeps_the_failed_and_later_records_for_the_next_start(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        store = FullDiskStore(tmp_path / "e.duckdb")
        store.migrate()
        store.loop, store.failed = asyncio.get_running_loop(), asyncio.Event()
        wal = WriteAheadLog(tmp_path / "wal")
        loader = Loader(store, wal)
        loader.start(asyncio.get_running_loop())

        def commit(records: list[tuple[int, bytes]]) -> int:
            seq = wal.append(records)
            loader.submit(seq, records)
            return seq

        applied = commit(event_records(0, 3))
        await loader.wait_applied(applied)
        store.failing_seq = commit(event_records(3, 3))
        await store.failed.wait()  # the loader retries it until the server stops
        forget = loader.call(lambda: "ran")  # queued behind the failing transaction
        commit(event_records(6, 3))
        await asyncio.to_thread(loader.stop)
        assert store.applied_seq() == applied == loader.applied_seq
        with pytest.raises(StoreUnavailable):
            forget.result(timeout=10)
        _names, rows = store.read("SELECT count(*) FROM events")
        assert rows == [(3,)]
        store.close()
        wal.close()

    asyncio.run(scenario())
    store = DuckDBStore(tmp_path / "e.duckdb")  # the next start, with room on the disk
    loader = Loader(store, WriteAheadLog(tmp_path / "wal"))
    assert loader.recover() == 6
    _names, rows = store.read("SELECT event_id FROM events ORDER BY uid")
    assert [r[0] for r in rows] == [f"e{i}" for i in range(9)]
    store.close()
