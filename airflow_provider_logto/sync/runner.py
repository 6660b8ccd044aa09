"""How the sync sends its writes concurrently, through the provider's one concurrency mechanism.

:class:`LimitedWriter` sends each write through a shared :class:`~airflow_provider_logto.listing.concurrency.
AdaptiveLimiter` (bounded, halves on 429 honouring ``Retry-After``, grows back slowly, optional max requests per
second), from one hook per thread (each with its own keep-alive session, watched by the limiter) — the same
arrangement the concurrent page reader uses. :class:`JobPool` supplies the threads: jobs (one user's writes,
one membership batch, one removal) are pulled lazily, so a million-row source never becomes a million queued
closures. :class:`Progress` logs how far a phase got.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any

from airflow_provider_logto.listing.concurrency import AdaptiveLimiter
from airflow_provider_logto.listing.paging import HookPerThread

if TYPE_CHECKING:
    from airflow_provider_logto.hooks.logto import LogtoHook

Job = Callable[[], None]


class LimitedWriter:
    """Management API writes from many threads, adaptive to Logto's rate limit."""

    def __init__(self, hook_factory: Callable[[], LogtoHook], max_concurrency: int,
                 max_requests_per_second: float | None = None) -> None:
        self.limiter = AdaptiveLimiter(max_concurrency, max_requests_per_second=max_requests_per_second)
        self._hooks = HookPerThread(hook_factory, self.limiter)

    def request(self, method: str, endpoint: str, json: Any = None) -> Any:
        """One request (so a 429 may safely be waited out and sent again by the limiter)."""
        return self.limiter.call(lambda: self._hooks.get().management_request(method, endpoint, json=json))

    def close(self) -> None:
        self._hooks.close()


class JobPool:
    """Threads for the sync's jobs: as many as the limiter may ever let run, and as many jobs again waiting."""

    def __init__(self, threads: int) -> None:
        self.threads = threads

    def run(self, jobs: Iterable[Job]) -> None:
        """Run every job (each records its own outcome and must not raise); return when all are done."""
        pending: set[Future[None]] = set()
        with ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="logto-sync") as pool:
            for job in jobs:
                if len(pending) >= 2 * self.threads:
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

    def __init__(self, what: str, total: int, log: Callable[..., None], every: float = 10.0) -> None:
        self.what, self.total, self._log, self._every = what, total, log, every
        self.done = self.failed = 0
        self._started = self._last = time.monotonic()
        self._lock = threading.Lock()

    def step(self, *, failed: bool = False) -> None:
        with self._lock:
            self.done += 1
            self.failed += failed
            now = time.monotonic()
            if now - self._last < self._every:
                return
            self._last = now
            done, failures, rate = self.done, self.failed, self.done / max(now - self._started, 1e-9)
        self._log("%s: %d of %d done (%.0f/s), %d failed", self.what, done, self.total, rate, failures)
