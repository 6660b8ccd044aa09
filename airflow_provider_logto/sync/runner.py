"""How the sync runs its writes concurrently: any object with ``run(jobs)`` will do (:class:`WriteRunner`).

:class:`BoundedThreads` is the plain default — at most ``concurrency`` jobs in flight, jobs pulled lazily so a
million-row source never becomes a million queued closures. 429 answers are already retried by the hook
(honouring ``Retry-After``); the runner only bounds how many requests are in flight.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Protocol

Job = Callable[[], None]


class WriteRunner(Protocol):
    def run(self, jobs: Iterable[Job]) -> None:
        """Run every job (each records its own outcome and must not raise); return when all are done."""


class BoundedThreads:
    """A thread pool with at most ``concurrency`` jobs in flight and at most as many more waiting."""

    def __init__(self, concurrency: int) -> None:
        self.concurrency = concurrency

    def run(self, jobs: Iterable[Job]) -> None:
        pending: set[Future[None]] = set()
        with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="logto-sync") as pool:
            for job in jobs:
                if len(pending) >= 2 * self.concurrency:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    _reraise(done)
                pending.add(pool.submit(job))
            done, _ = wait(pending)
            _reraise(done)


def _reraise(done: set[Future[None]]) -> None:
    for future in done:
        future.result()  # a job that raised is a bug of the sync, not a write failure: surface it


class Progress:
    """Counts finished items and logs a line at most every ``every`` seconds (thread-safe)."""

    def __init__(self, what: str, total: int, log: Callable[..., None], every: float = 5.0) -> None:
        import time

        self._clock = time.monotonic
        self.what, self.total, self._log, self._every = what, total, log, every
        self.done = self.failed = 0
        self._started = self._last = self._clock()
        self._lock = threading.Lock()

    def step(self, *, failed: bool = False) -> None:
        with self._lock:
            self.done += 1
            self.failed += failed
            now = self._clock()
            if now - self._last < self._every:
                return
            self._last = now
            done, failures, rate = self.done, self.failed, self.done / max(now - self._started, 1e-9)
        self._log("%s: %d of %d done (%.0f/s), %d failed", self.what, done, self.total, rate, failures)
