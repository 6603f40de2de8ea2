"""A CSV download abandoned while its store read is running closes that read once it returns:
closed from another thread, the generator was still executing, and its transaction and the
store's read gate waited for the garbage collector."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

from footfall.dashboard.lists import _Feed


def test_an_abandoned_read_is_closed_after_the_batch_in_flight() -> None:
    reading, release, closed = threading.Event(), threading.Event(), threading.Event()

    def batches() -> Iterator[list[dict[str, Any]]]:
        try:
            yield [{"n": 1}]
            reading.set()
            release.wait(10)  # a slow store read
            yield [{"n": 2}]
        finally:
            closed.set()

    async def download() -> None:
        feed = _Feed(batches())
        assert await feed.next() == [{"n": 1}]
        task = asyncio.ensure_future(feed.next())
        await asyncio.to_thread(reading.wait, 10)
        task.cancel()  # the client went away mid-read
        closing = asyncio.ensure_future(feed.close())
        await asyncio.sleep(0)
        assert not closed.is_set()  # the read in flight is not interrupted
        release.set()
        await closing

    asyncio.run(download())
    assert closed.is_set()
