"""`Client`: a bounded queue of events and one daemon thread that ships them to `/v1/batch`.

Queue and worker, in short:
- `track` builds the event (with its `event_id`), appends it to a deque and returns at once.
- The queue holds at most `max_queue_size` events. When it is full, `on_full="drop_oldest"` (the
  default) discards the oldest queued event and counts it in `dropped`; `on_full="raise"` raises
  `QueueFull` instead and queues nothing.
- The worker sends as soon as `flush_at` events are waiting, or when the oldest has waited
  `flush_interval` seconds, in chunks of at most `batch_size`, one request at a time, in order.
- A chunk answered 429/503, or lost to a network error, is retried with the same event ids (the
  server stores each id once), up to `max_retries` times. A 400 naming one event (`details.index`)
  drops that event and resends the rest; any other non-2xx drops the chunk. Dropped chunks are
  logged, counted in `failed`, and passed to `on_error`.
- `flush()` blocks until every event queued before the call is answered; `shutdown()` flushes, stops
  the worker and closes the connection pool. An `atexit` hook shuts down every open client.
"""

from __future__ import annotations

import atexit
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Literal

import httpx

from footfall import __version__
from footfall.client._events import build_event, json_object
from footfall.client._http import (
    Aborted,
    APIError,
    QueueFull,
    RetryPolicy,
    log,
    raise_for_status,
    send,
)

__all__ = ["DEFAULT_HOST", "Client", "ErrorHandler"]

DEFAULT_HOST = "http://localhost:8787"
#: Not a bot User-Agent: the server tags events with the device of the sender's User-Agent, and
#: `python-httpx/…` would count as a bot (left out of stats).
USER_AGENT = f"footfall-python/{__version__}"
ErrorHandler = Callable[[BaseException, list[dict[str, Any]]], None]
_ABORT_GRACE = 2.0  # seconds a timed-out shutdown still gives the worker to finish its request
_Item = tuple[int, float, dict[str, Any]]  # (sequence number, monotonic time queued, event)

_live: weakref.WeakSet[Client] = weakref.WeakSet()


@atexit.register
def _shutdown_all() -> None:
    for client in list(_live):
        client.shutdown(timeout=client.shutdown_timeout)


class Client:
    """A Footfall ingest client with background batching. Thread-safe; use one per process."""

    def __init__(
        self,
        key: str,
        host: str = DEFAULT_HOST,
        *,
        flush_at: int = 20,
        flush_interval: float = 1.0,
        batch_size: int = 100,
        max_queue_size: int = 10_000,
        on_full: Literal["drop_oldest", "raise"] = "drop_oldest",
        max_retries: int = 5,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        timeout: float = 10.0,
        shutdown_timeout: float = 10.0,
        on_error: ErrorHandler | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not isinstance(key, str) or not key:
            raise ValueError("key is required (an sk_… server key)")
        if not 1 <= batch_size <= 1000:
            raise ValueError("batch_size must be 1-1000 (the server's /v1/batch limit)")
        if flush_at < 1 or max_queue_size < 1 or flush_interval <= 0 or max_retries < 0:
            raise ValueError("flush_at, max_queue_size, flush_interval must be > 0, max_retries >= 0")
        if on_full not in ("drop_oldest", "raise"):
            raise ValueError('on_full must be "drop_oldest" or "raise"')
        self.host = host.rstrip("/")
        self.flush_at = flush_at
        self.flush_interval = flush_interval
        self.batch_size = batch_size
        self.max_queue_size = max_queue_size
        self.on_full = on_full
        self.shutdown_timeout = shutdown_timeout
        self.on_error = on_error
        self.policy = RetryPolicy(max_retries, backoff_base, backoff_max)
        self._http = httpx.Client(
            base_url=self.host,
            headers={"Authorization": f"Bearer {key}", "User-Agent": USER_AGENT},
            timeout=timeout,
            transport=transport,
        )
        self._queue: deque[_Item] = deque()
        self._cond = threading.Condition()
        self._seq = 0
        self._flush_target = 0  # send at once while the head's sequence number is <= this
        self._in_flight: list[_Item] = []
        self._closing = False
        self._closed = False
        self._abort = threading.Event()
        self._worker: threading.Thread | None = None
        self.dropped = 0  # discarded because the queue was full (or the client closed)
        self.failed = 0  # given up on: rejected by the server, or retries used up
        self.sent = 0  # acknowledged by the server (202)
        _live.add(self)

    # -- public API ----------------------------------------------------------------------------
    def track(
        self,
        event: str,
        *,
        anonymous_id: str | None = None,
        user_id: str | None = None,
        properties: Mapping[str, Any] | None = None,
        timestamp: datetime | str | None = None,
        event_id: str | None = None,
        url: str | None = None,
        referrer: str | None = None,
        path: str | None = None,
        session_id: str | None = None,
    ) -> str:
        """Queue one event and return its `event_id`; never blocks on the network."""
        body = build_event(
            event, anonymous_id=anonymous_id, user_id=user_id, properties=properties,
            timestamp=timestamp, event_id=event_id, url=url, referrer=referrer, path=path,
            session_id=session_id,
        )
        with self._cond:
            if self._closing:
                self.dropped += 1
                log.warning("footfall: track(%r) after shutdown, event dropped", event)
                return str(body["event_id"])
            if len(self._queue) >= self.max_queue_size:
                if self.on_full == "raise":
                    raise QueueFull(f"{self.max_queue_size} events are waiting to be sent")
                self._queue.popleft()
                self.dropped += 1
                if self.dropped == 1 or self.dropped % 1000 == 0:
                    log.warning("footfall: queue full, dropped %d oldest event(s) so far", self.dropped)
            self._seq += 1
            self._queue.append((self._seq, time.monotonic(), body))
            self._ensure_worker()
            if len(self._queue) == 1 or len(self._queue) >= self.flush_at:
                self._cond.notify_all()
        return str(body["event_id"])

    def identify(
        self, anonymous_id: str, user_id: str, traits: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Link an anonymous id to a user (synchronous, retried like batches); returns the answer."""
        body: dict[str, Any] = {"anonymous_id": anonymous_id, "user_id": user_id}
        if traits is not None:
            body["traits"] = json_object("traits", traits, 8 * 1024)
        return self._call("POST", "/v1/identify", body)

    def forget(self, user_id: str) -> dict[str, Any]:
        """Delete everything about a user (sk_ keys only; synchronous); returns the server's answer,
        e.g. `{"ok": true, "queued": false, "deleted_events": 63, ...}`."""
        return self._call("POST", "/v1/forget", {"user_id": user_id})

    def flush(self, timeout: float | None = None) -> bool:
        """Send everything queued so far and wait for the answers; False if `timeout` ran out."""
        if threading.current_thread() is self._worker:  # e.g. from on_error: it would wait on itself
            return False
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            target = self._seq
            self._flush_target = max(self._flush_target, target)
            if self._queue and not self._closing:
                self._ensure_worker()
            self._cond.notify_all()
            while not self._settled(target):
                if self._worker is None or not self._worker.is_alive():
                    return not self._queue and not self._in_flight
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._cond.wait(remaining)
        return True

    def shutdown(self, timeout: float | None = None) -> bool:
        """Flush, stop the worker and close connections; idempotent. False if events were lost."""
        with self._cond:
            if self._closed:
                return True
        deadline = None if timeout is None else time.monotonic() + timeout
        drained = self.flush(timeout)
        with self._cond:
            self._closing = True
            if not drained:
                self._abort.set()  # cut retry waits short; what is left is counted as failed
            self._cond.notify_all()
            worker = self._worker
        if worker is not None and worker is not threading.current_thread():
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            worker.join(remaining)
            if worker.is_alive():  # out of time: stop retrying, let the current step finish
                self._abort.set()
                worker.join(_ABORT_GRACE)
        with self._cond:
            lost = len(self._queue)
            if lost:
                self.failed += lost
                log.warning("footfall: shutdown timed out, %d event(s) not sent", lost)
                self._queue.clear()
            self._closed = True
        self._http.close()
        _live.discard(self)
        return drained and not lost

    close = shutdown

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown(self.shutdown_timeout)

    @property
    def queue_size(self) -> int:
        with self._cond:
            return len(self._queue)

    # -- internals ----------------------------------------------------------------------------
    def _call(self, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        if self._closed:
            raise RuntimeError("footfall client is shut down")
        return raise_for_status(send(self._http, method, path, self.policy, json=body))

    def _settled(self, target: int) -> bool:
        head_done = not self._queue or self._queue[0][0] > target
        return head_done and all(seq > target for seq, _, _ in self._in_flight)

    def _ensure_worker(self) -> None:
        if self._worker is None or not self._worker.is_alive():
            self._worker = threading.Thread(target=self._run, name="footfall-client", daemon=True)
            self._worker.start()

    def _run(self) -> None:
        while True:
            with self._cond:
                chunk = self._next_chunk()
                if chunk is None:
                    return
                self._in_flight = chunk
            try:
                self._deliver([item[2] for item in chunk])
            except Exception as err:  # never let the worker die with events queued
                self._give_up(err, [item[2] for item in chunk])
            finally:
                with self._cond:
                    self._in_flight = []
                    self._cond.notify_all()

    def _next_chunk(self) -> list[_Item] | None:
        """Wait (holding the condition) until a chunk is due; None when the worker should exit."""
        while True:
            if self._abort.is_set() or (self._closing and not self._queue):
                return None
            if self._queue:
                head_seq, head_time, _ = self._queue[0]
                due = head_time + self.flush_interval
                now = time.monotonic()
                if (
                    len(self._queue) >= self.flush_at
                    or head_seq <= self._flush_target
                    or self._closing
                    or now >= due
                ):
                    n = min(self.batch_size, len(self._queue))
                    return [self._queue.popleft() for _ in range(n)]
                self._cond.wait(due - now)
            else:
                self._cond.wait()

    def _deliver(self, events: list[dict[str, Any]]) -> None:
        while events:
            try:
                response = send(
                    self._http, "POST", "/v1/batch", self.policy,
                    json={"events": events}, abort=self._abort,
                )
                raise_for_status(response)
            except APIError as err:
                index = err.details.get("index")
                if err.status == 400 and isinstance(index, int) and 0 <= index < len(events):
                    self._give_up(err, [events[index]])
                    events = events[:index] + events[index + 1 :]
                    continue
                self._give_up(err, events)
            except Aborted as err:
                self._give_up(err, events)
            else:
                with self._cond:
                    self.sent += len(events)
            return

    def _give_up(self, err: BaseException, events: list[dict[str, Any]]) -> None:
        with self._cond:
            self.failed += len(events)
        log.error("footfall: dropped %d event(s): %s", len(events), err)
        if self.on_error is not None:
            try:
                self.on_error(err, events)
            except Exception:
                log.exception("footfall: on_error callback failed")
