"""Group commit for the webhook: one writer thread stores many events per transaction.

Requests verify their signature on the event loop, then hand the event to the writer and
await its answer. The writer drains whatever is waiting (up to ``max_batch``) into one
``BEGIN IMMEDIATE … COMMIT``, so one fsync serves a burst of deliveries, and it is the only
thread of the process that writes webhook rows (STACK.md §1). An event is answered 200 only
after its transaction committed.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading

from ..app import intake
from ..app.context import AppContext
from ..errors import StorageError
from ..intake.envelope import EventMeta

log = logging.getLogger("stripe_efactura.web")


_Item = tuple[EventMeta, bytes, asyncio.AbstractEventLoop, "asyncio.Future[bool]"]
"""A request waiting for the writer: its event, its body, its loop and its future (a tuple:
one per webhook, built on the event loop)."""


class BatchWriter:
    def __init__(self, ctx: AppContext, *, max_batch: int = 256) -> None:
        self.ctx = ctx
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._store = intake.BatchStore(ctx)

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="webhook-writer", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=10)
            self._thread = None

    async def store(self, meta: EventMeta, raw: bytes) -> bool:
        """Store one verified event; True when new. Raises StorageError."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()
        self._queue.put((meta, raw, loop, future))
        return await future

    def _run(self) -> None:
        try:
            self._drain()
        finally:
            self._store.close()

    def _drain(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stop = False
            while len(batch) < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            self._write(batch)
            if stop:
                return

    def _write(self, batch: list[_Item]) -> None:
        items = [(meta, raw) for meta, raw, _, _ in batch]
        outcomes: list[bool | BaseException]
        try:
            outcomes = [*self._store.accept(items)]  # its own connection, kept between batches
        except StorageError as exc:
            log.error("webhook: storage unavailable: %s", exc)
            outcomes = [exc] * len(batch)
        except Exception as exc:  # keep the writer alive; Stripe will retry
            log.exception("webhook writer failed")
            outcomes = [StorageError(f"webhook writer failed: {exc}")] * len(batch)
        _answer(batch, outcomes)


def _answer(batch: list[_Item], outcomes: list[bool | BaseException]) -> None:
    """Hand each request its outcome: one wake-up of each event loop per batch (not one per
    event: each ``call_soon_threadsafe`` writes to the loop's self-pipe)."""
    by_loop: dict[asyncio.AbstractEventLoop, list[_Answer]] = {}
    for (_, _, loop, future), outcome in zip(batch, outcomes, strict=True):
        by_loop.setdefault(loop, []).append((future, outcome))
    for loop, answers in by_loop.items():
        loop.call_soon_threadsafe(_settle, answers)


_Answer = tuple["asyncio.Future[bool]", bool | BaseException]


def _settle(answers: list[_Answer]) -> None:
    for future, outcome in answers:
        if future.done():  # the request went away
            continue
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)
