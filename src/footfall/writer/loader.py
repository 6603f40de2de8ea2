"""The loader: one thread that moves committed WAL records into the store, in order.

It takes everything queued at once (so a burst becomes one Arrow batch and one store
transaction), stores the WAL position in the same transaction, and wakes readers waiting for
that position. Commands (forget) run in the same thread, in queue order, so they see every event
acknowledged before them.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

import pyarrow as pa

from footfall.errors import StoreUnavailable
from footfall.store.base import Store
from footfall.store.batch import EVENT_SCHEMA, ndjson_table
from footfall.writer.wal import WriteAheadLog

__all__ = ["KIND_EVENT", "KIND_IMPORTED", "KIND_IMPORTED_TABLE", "KIND_LINK", "KIND_PROFILE", "Loader", "table_record"]

KIND_EVENT = 1
KIND_LINK = 2
KIND_PROFILE = 3
KIND_IMPORTED = 4  # an event from `footfall import`: also deduplicated by its uid
KIND_IMPORTED_TABLE = 5  # many such events, checked, as one Arrow IPC stream (`table_record`)
_RETRY_SECONDS = 0.5
_TRIM_EVERY = 5.0
# Under load, gather at least this long between store transactions: each costs milliseconds
# whatever its size, so bigger batches leave more CPU to the event loop, and each ends in a
# DuckDB fsync that can delay the WAL's on the same disk (the p99 of single events at half
# load: median of 10 runs ~72 ms at 50 ms, ~25 ms at 200 ms, docs/performance.md). A read does
# not wait for it: it wakes the loader (`_hurry`) and waits for one transaction.
_MIN_INTERVAL = 0.2
# Records per store transaction when the loader has fallen behind: past ~10k rows a bigger
# transaction is barely faster (bench/store_insert.py) but holds the whole batch several times
# over in memory (joined NDJSON, Arrow table, staging).
_MAX_TRANSACTION = 10_000
# ... and at most about this many payload bytes (#23, fifth pass): a record's size varies 10x
# (a page view, an event with properties, an imported table), and a transaction holds its
# payloads several times over at once (the records, the joined NDJSON, the Arrow table,
# DuckDB's transaction-local rows and temp tables), which set the server's peak under overload.
_MAX_TRANSACTION_BYTES = 4_000_000

log = logging.getLogger("footfall.loader")
T = TypeVar("T")


class Loader:
    def __init__(self, store: Store, wal: WriteAheadLog) -> None:
        self.store = store
        self.wal = wal
        self.applied_seq = store.applied_seq()
        self.healthy = True
        self.batches = 0
        self.rows = 0
        self.lag_bytes = 0  # payload bytes submitted and not applied yet (under _cv)
        # (0, last_seq, [(kind, payload), ...]) committed records, or (1, fn, future) a call.
        self._queue: deque[tuple[int, Any, Any]] = deque()
        self._cv = threading.Condition()
        self._hurry = threading.Event()
        self._stopping = False
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._waiters_lock = threading.Lock()
        # Called on the event loop after each store transaction (the committer's admission).
        self.on_applied: list[Callable[[], None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._run, name="footfall-loader", daemon=True)
        self._last_trim = time.monotonic()

    # -- lifecycle -----------------------------------------------------------------------
    def recover(self) -> int:
        """Load every WAL record the store has not applied yet (start-up, before traffic)."""
        pending = list(self.wal.read_from(self.applied_seq))
        if pending:
            self._apply(pending[-1][0], [(kind, payload) for _seq, kind, payload in pending])
        return len(pending)

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._thread.start()

    def stop(self) -> None:
        with self._cv:
            self._stopping = True
            self._cv.notify()
        self._hurry.set()
        if self._thread.is_alive():
            self._thread.join()

    # -- producers -----------------------------------------------------------------------
    def submit(self, last_seq: int, records: list[tuple[int, bytes]]) -> None:
        """Queue committed (kind, payload) records, the last of which has `last_seq` (called
        by the committer, in seq order)."""
        size = sum(len(p) for _k, p in records)
        with self._cv:
            self._queue.append((0, last_seq, records))
            self.lag_bytes += size
            self._cv.notify()

    def call(self, fn: Callable[[], T]) -> Future[T]:
        """Run `fn` in the loader thread after everything queued so far."""
        fut: Future[T] = Future()
        with self._cv:
            self._queue.append((1, fn, fut))
            self._cv.notify()
        self._hurry.set()
        return fut

    async def wait_applied(self, seq: int) -> None:
        if self.applied_seq >= seq:
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        with self._waiters_lock:
            self._waiters.append((seq, fut))
        self._hurry.set()
        if self.applied_seq >= seq:  # raced with an apply
            self._release()
        await fut

    @property
    def lag(self) -> int:
        return self.wal.last_seq - self.applied_seq

    # -- the thread ----------------------------------------------------------------------
    def _run(self) -> None:
        last = 0.0
        while True:
            pause = last + _MIN_INTERVAL - time.monotonic()
            if pause > 0 and not self._stopping:
                self._hurry.wait(timeout=pause)  # a waiting reader cuts the gathering short
            self._hurry.clear()
            last = time.monotonic()
            with self._cv:
                while not self._queue and not self._stopping:
                    self._cv.wait(timeout=_TRIM_EVERY)
                    if not self._queue:
                        self._maybe_trim()
                if not self._queue and self._stopping:
                    return
                items = list(self._queue)
                self._queue.clear()
            if not self._apply_items(items):
                self._abandon(items)
                return
            self._maybe_trim()

    def _apply_items(self, items: list[tuple[int, Any, Any]]) -> bool:
        """Apply queued records and run queued commands in order; False when the store failed
        while stopping, leaving the rest for the next start's recovery."""
        records: list[tuple[int, bytes]] = []
        upto = size = 0
        for tag, first, second in items:
            if tag == 0:
                upto = first
                records.extend(second)
                size += sum(len(p) for _k, p in second)
                if len(records) >= _MAX_TRANSACTION or size >= _MAX_TRANSACTION_BYTES:
                    if not self._apply_until_done(upto, records):
                        return False
                    records, size = [], 0
                continue
            if not self._apply_until_done(upto, records):
                return False
            records, size = [], 0
            fn, fut = first, second
            try:
                fut.set_result(fn())
            except Exception as exc:
                fut.set_exception(exc)
        return self._apply_until_done(upto, records)

    def _abandon(self, items: list[tuple[int, Any, Any]]) -> None:
        """The store failed while stopping: apply nothing more. Records stay in the WAL, so
        the next start applies them from the store's position. Applying a later transaction
        here would move that position past the failed one, losing it for good (as a full disk
        at shutdown once did); a queued command fails instead of waiting for ever."""
        with self._cv:
            items = [*items, *self._queue]
            self._queue.clear()
        for tag, _first, fut in items:
            if tag == 1 and not fut.done():
                fut.set_exception(StoreUnavailable(message="the store failed while the server stopped"))

    def _apply_until_done(self, upto: int, records: list[tuple[int, bytes]]) -> bool:
        """Retry until stored: the records are durable in the WAL, readers wait meanwhile.
        False when the server is stopping and the store still fails."""
        if not records:
            return True
        while True:
            try:
                self._apply(upto, records)
                if not self.healthy:
                    log.info("store recovered")
                self.healthy = True
                return True
            except Exception:
                if self.healthy:
                    log.exception("store append failed; retrying (events are safe in the WAL)")
                self.healthy = False
                if self._stopping:
                    log.error(
                        "store append failed while stopping; records from seq %d on stay in the"
                        " WAL for the next start",
                        self.applied_seq + 1,
                    )
                    return False
                time.sleep(_RETRY_SECONDS)

    def _apply(self, upto: int, records: list[tuple[int, bytes]]) -> None:
        events = [p for k, p in records if k == KIND_EVENT]
        links = [p for k, p in records if k == KIND_LINK]
        profiles = [p for k, p in records if k == KIND_PROFILE]
        imported: bytes | pa.Table = _ndjson([p for k, p in records if k == KIND_IMPORTED])
        tables = [_table(p) for k, p in records if k == KIND_IMPORTED_TABLE]
        if tables:
            imported = pa.concat_tables([*tables, *([ndjson_table(imported, EVENT_SCHEMA)] if imported else [])])
        inserted = self.store.append(
            _ndjson(events),
            _ndjson(links),
            upto,
            profiles,
            # Only when there is any: a store need not know imports until one happens.
            **({"imported": imported} if len(imported) else {}),
        )
        self.batches += 1
        self.rows += inserted
        with self._cv:
            # Recovery applies records that were never submitted: they were never counted.
            self.lag_bytes = max(0, self.lag_bytes - sum(len(p) for _k, p in records))
        self.applied_seq = upto
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._release)

    def _release(self) -> None:
        applied = self.applied_seq
        with self._waiters_lock:
            ready = [f for s, f in self._waiters if s <= applied]
            self._waiters = [(s, f) for s, f in self._waiters if s > applied]
        for f in ready:
            if not f.done():
                f.set_result(None)
        for callback in self.on_applied:
            callback()

    def _maybe_trim(self) -> None:
        now = time.monotonic()
        if now - self._last_trim >= _TRIM_EVERY:
            self._last_trim = now
            try:
                self.trim()
            except OSError:
                log.exception("WAL trim failed")

    def trim(self) -> int:
        """Delete the WAL segments the store no longer needs: those it has stored and would
        keep if it lost its own log (`Store.checkpointed_seq`); returns how many."""
        return self.wal.trim(min(self.applied_seq, self.store.checkpointed_seq()))


def table_record(table: pa.Table) -> bytes:
    """A table of imported events (`EVENT_SCHEMA`, naive UTC times) as one WAL payload."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    data: bytes = sink.getvalue().to_pybytes()
    return data


def _table(payload: bytes) -> pa.Table:
    return pa.ipc.open_stream(payload).read_all()


def _ndjson(payloads: list[bytes]) -> bytes:
    return b"\n".join(payloads) + b"\n" if payloads else b""
