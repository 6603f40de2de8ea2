"""Group commit: many requests, one `write` + `fdatasync`.

Handlers hand encoded records to `Committer.commit` and await a receipt. A single task drains
everything pending into one WAL append on a dedicated I/O thread (the syscalls release the GIL),
then resolves every waiter and hands the records to the loader. While one sync runs, the next
group gathers, so throughput grows with concurrency instead of shrinking.

The queue is bounded twice: by records waiting for a sync and by records synced but not yet
loaded (in records and in bytes: the loader's backlog is most of the server's memory under
overload, and a record's size varies 10x between a page view and an event with properties).
Past either bound `commit` raises `Overloaded` (503 + Retry-After) before anything is written —
never an unbounded queue.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor

from footfall.errors import Overloaded, StoreUnavailable
from footfall.writer.loader import Loader
from footfall.writer.wal import WriteAheadLog

__all__ = ["CommitStats", "Committer"]

log = logging.getLogger("footfall.commit")


class CommitStats:
    def __init__(self) -> None:
        self.commits = 0
        self.records = 0
        self.seconds_total = 0.0
        self.last_seconds = 0.0


class Committer:
    def __init__(
        self,
        wal: WriteAheadLog,
        loader: Loader,
        *,
        max_pending: int = 20_000,
        max_lag: int = 50_000,
        max_lag_bytes: int = 16_000_000,
        retry_after: float = 1.0,
    ) -> None:
        self.wal = wal
        self.loader = loader
        self.max_pending = max_pending
        self.max_lag = max_lag
        self.max_lag_bytes = max_lag_bytes
        self.retry_after = retry_after
        self.stats = CommitStats()
        self._pending: list[tuple[int, bytes]] = []
        self._waiters: list[tuple[int, int, asyncio.Future[int]]] = []  # (start, count, fut)
        self._wake = asyncio.Event()
        self._io = ThreadPoolExecutor(max_workers=1, thread_name_prefix="footfall-wal")
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.failed: BaseException | None = None
        self._applied = asyncio.Event()  # set after each store transaction (loader thread)
        loader.on_applied.append(self._applied.set)

    @property
    def depth(self) -> int:
        return len(self._pending)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="footfall-commit")

    def admit(self, count: int) -> None:
        """Raise Overloaded unless `count` more records fit. Called before the work of
        enriching them, so an overloaded server spends its CPU on draining, not on refusals."""
        if self._closing:
            raise Overloaded("shutting_down", "server is shutting down", retry_after=self.retry_after)
        # An empty queue always takes the request, so a large batch is never starved.
        too_many = self._pending and len(self._pending) + count > self.max_pending
        if too_many or self._behind():
            raise Overloaded(
                "overloaded", "write queue is full, retry shortly", retry_after=self.retry_after
            )

    def _behind(self) -> bool:
        return self.loader.lag > self.max_lag or self.loader.lag_bytes > self.max_lag_bytes

    def behind(self) -> bool:
        """Is the loader's backlog over a bound? (Writes then wait in `room`, or are refused.)"""
        return self._behind()

    async def room(self, wait: float) -> None:
        """Wait up to `wait` seconds while the loader's backlog is over its bound (a write
        then admitted or refused as usual). Refusing at once made clients that retry at once
        (wrk, impatient SDKs) send the same batch again and again: the event loop spent most
        of its CPU answering 503s, which the loader, the step that sets the pace, then lacked
        (#23). A held request costs neither side anything until the store takes it."""
        if not self._behind():
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while self._behind() and not self._closing:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            self._applied.clear()
            try:
                await asyncio.wait_for(self._applied.wait(), remaining)
            except TimeoutError:
                return

    async def commit(self, records: list[tuple[int, bytes]]) -> int:
        """Durably append (kind, payload) records; returns the seq of the last one."""
        self.admit(len(records))
        fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiters.append((len(self._pending), len(records), fut))
        self._pending.extend(records)
        self._wake.set()
        return await fut

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self._pending:
                if self._closing:
                    return
                await self._wake.wait()
                self._wake.clear()
                continue
            pending, self._pending = self._pending, []
            waiters, self._waiters = self._waiters, []
            t0 = time.perf_counter()
            try:
                data, upto = self.wal.encode(pending)
                last = await loop.run_in_executor(self._io, self.wal.append_encoded, data, upto)
            except Exception as exc:
                log.exception("WAL append failed")
                err = StoreUnavailable(
                    "store_unavailable", "could not write to disk", retry_after=self.retry_after
                )
                for _s, _c, fut in waiters:
                    if not fut.done():
                        fut.set_exception(err)
                self.failed = exc
                continue
            elapsed = time.perf_counter() - t0
            self.stats.commits += 1
            self.stats.records += len(pending)
            self.stats.seconds_total += elapsed
            self.stats.last_seconds = elapsed
            first = last - len(pending) + 1
            self.loader.submit(last, pending)
            for start, count, fut in waiters:
                if not fut.done():
                    fut.set_result(first + start + count - 1)

    async def rotate(self) -> None:
        """Start a new WAL segment (on the I/O thread, between group commits)."""
        await asyncio.get_running_loop().run_in_executor(self._io, self.wal.rotate)

    async def close(self) -> None:
        """Drain: everything already accepted is synced and loaded before this returns."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task
        self._io.shutdown(wait=True)
