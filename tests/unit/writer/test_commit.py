"""Group commit and its bounds, with a real WAL and a real DuckDB store."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from footfall.errors import Overloaded
from footfall.store.duckdb.store import DuckDBStore
from footfall.writer.commit import Committer
from footfall.writer.loader import Loader
from footfall.writer.wal import WriteAheadLog


class GatedWAL(WriteAheadLog):
    """A real WAL whose appends wait for the test to open the gate."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.groups: list[int] = []

    def append_encoded(self, data: bytes, seq: int) -> int:
        self.entered.set()
        self.gate.wait(timeout=30)
        self.groups.append(seq - self.last_seq)
        return super().append_encoded(data, seq)


def make(tmp_path: Path, **bounds: int) -> tuple[GatedWAL, Loader, Committer, DuckDBStore]:
    store = DuckDBStore(tmp_path / "e.duckdb")
    store.migrate()
    wal = GatedWAL(tmp_path / "wal")
    loader = Loader(store, wal)
    return wal, loader, Committer(wal, loader, **bounds), store


def test_concurrent_commits_share_one_sync_and_the_queue_is_bounded(tmp_path: Path) -> None:
    async def scenario() -> None:
        wal, loader, committer, store = make(tmp_path, max_pending=3)
        loader.start(asyncio.get_running_loop())
        committer.start()
        first = asyncio.create_task(committer.commit([(9, b"a")]))
        await asyncio.to_thread(wal.entered.wait, 10)  # first group is inside write+sync
        waiting = [asyncio.create_task(committer.commit([(9, b"x")])) for _ in range(3)]
        await asyncio.sleep(0)  # let the three enqueue behind the gate
        with pytest.raises(Overloaded) as err:
            await committer.commit([(9, b"overflow")])
        assert err.value.retry_after and err.value.status == 503
        wal.gate.set()
        seqs = await asyncio.gather(first, *waiting)
        assert seqs == [1, 2, 3, 4]
        assert wal.groups == [1, 3]  # three requests, one sync
        await committer.close()
        loader.stop()
        store.close()

    asyncio.run(scenario())


def test_a_large_batch_is_taken_when_the_queue_is_empty(tmp_path: Path) -> None:
    async def scenario() -> None:
        wal, loader, committer, store = make(tmp_path, max_pending=2)
        wal.gate.set()
        loader.start(asyncio.get_running_loop())
        committer.start()
        assert await committer.commit([(9, b"x")] * 10) == 10
        await committer.close()
        loader.stop()
        store.close()

    asyncio.run(scenario())


def test_close_drains_everything_accepted(tmp_path: Path) -> None:
    async def scenario() -> None:
        wal, loader, committer, store = make(tmp_path)
        wal.gate.set()
        loader.start(asyncio.get_running_loop())
        committer.start()
        tasks = [asyncio.create_task(committer.commit([(9, b"x")])) for _ in range(50)]
        await asyncio.sleep(0)
        await committer.close()
        assert all(t.done() and not t.exception() for t in tasks)
        with pytest.raises(Overloaded):
            await committer.commit([(9, b"late")])
        loader.stop()
        assert wal.last_seq == 50
        store.close()

    asyncio.run(scenario())


def test_admit_refuses_before_the_work_of_enriching(tmp_path: Path) -> None:
    async def scenario() -> None:
        wal, loader, committer, store = make(tmp_path, max_pending=3, max_lag=5)
        loader.start(asyncio.get_running_loop())
        committer.start()
        committer.admit(100)  # an empty queue takes any batch
        first = asyncio.create_task(committer.commit([(9, b"a")]))
        await asyncio.to_thread(wal.entered.wait, 10)
        parked = asyncio.create_task(committer.commit([(9, b"b")]))
        await asyncio.sleep(0)
        committer.admit(2)
        with pytest.raises(Overloaded):
            committer.admit(3)
        wal.gate.set()
        await asyncio.gather(first, parked)
        await committer.close()
        loader.stop()
        store.close()

    asyncio.run(scenario())


def _load_backlog(tmp_path: Path, groups: list[list[tuple[int, bytes]]]) -> tuple[Loader, DuckDBStore]:
    """Queue `groups` (as group commits) before the loader's thread runs, so they are one
    backlog, then let it store them all."""
    store = DuckDBStore(tmp_path / "e.duckdb")
    store.migrate()
    loader = Loader(store, WriteAheadLog(tmp_path / "wal"))
    seq = 0
    for group in groups:
        seq += len(group)
        loader.submit(seq, group)

    async def scenario() -> None:
        loader.start(asyncio.get_running_loop())
        await loader.wait_applied(seq)

    asyncio.run(scenario())
    loader.stop()
    return loader, store


def test_a_backlog_is_stored_in_bounded_transactions(tmp_path: Path) -> None:
    loader, store = _load_backlog(tmp_path, [[(9, b"x")] * 6_000 for _ in range(3)])
    # 12k records (two whole groups, past the 10k cap), then the last 6k: never all 18k at once.
    assert (loader.batches, loader.applied_seq, store.applied_seq()) == (2, 18_000, 18_000)
    store.close()


def test_a_backlog_of_large_records_is_stored_in_transactions_bounded_in_bytes(tmp_path: Path) -> None:
    """Few records but many bytes (events with big properties): a transaction holds its
    payloads several times over, so it is cut by bytes too, not only at 10k records (#23)."""
    # 3 MB a group, 9 records in all.
    loader, store = _load_backlog(tmp_path, [[(9, b"x" * 1_000_000)] * 3 for _ in range(3)])
    # 6 MB (two groups: past the 4 MB bound after the second), then the last 3 MB.
    assert (loader.batches, loader.applied_seq, store.applied_seq()) == (2, 9, 9)
    assert loader.lag_bytes == 0
    store.close()


def test_the_loader_backlog_is_bounded_in_bytes(tmp_path: Path) -> None:
    _wal, loader, committer, store = make(tmp_path, max_lag=1_000_000, max_lag_bytes=10_000)
    loader.submit(2, [(9, b"x" * 6_000), (9, b"y" * 5_000)])  # before the thread runs: a backlog
    assert loader.lag_bytes == 11_000
    with pytest.raises(Overloaded):  # few records, but more bytes than the bound
        committer.admit(1)

    async def scenario() -> None:
        loader.start(asyncio.get_running_loop())
        await loader.wait_applied(2)

    asyncio.run(scenario())
    assert loader.lag_bytes == 0
    committer.admit(1)  # applied: admitted again
    loader.stop()
    store.close()


def test_a_write_waits_for_room_instead_of_a_503_while_the_loader_catches_up(tmp_path: Path) -> None:
    """Under overload a write is held until the loader's next transaction frees room (#23);
    it is refused only if none comes within the wait."""
    _wal, loader, committer, store = make(tmp_path, max_lag=1_000_000, max_lag_bytes=10_000)
    loader.submit(2, [(9, b"x" * 6_000), (9, b"y" * 5_000)])  # a backlog over the byte bound

    async def scenario() -> float:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        await committer.room(0.2)  # the loader is not running: nothing frees room
        held = loop.time() - t0
        with pytest.raises(Overloaded):
            committer.admit(1)
        waiting = asyncio.create_task(committer.room(60))
        loader.start(loop)  # applies the backlog, then wakes the waiting write
        await asyncio.wait_for(waiting, 30)
        committer.admit(1)  # admitted now
        return held

    held = asyncio.run(scenario())
    assert 0.2 <= held < 5
    assert loader.lag_bytes == 0
    loader.stop()
    store.close()
