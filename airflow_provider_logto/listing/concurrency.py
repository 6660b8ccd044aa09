"""Adaptive concurrency for calls to a rate-limited Logto tenant (Logto Cloud allows about 200 requests per 10 s).

:class:`AdaptiveLimiter` runs callables from many threads while bounding how many run at once. It is the one
mechanism the provider uses wherever it sends Management API requests concurrently — the concurrent page
fetcher (:mod:`airflow_provider_logto.listing.paging`) and bulk writes alike:

- **at most** ``limit`` calls run at a time; ``limit`` starts at ``max_concurrency``;
- **back off on 429**: the first 429 of a burst halves ``limit`` (never below 1) and pauses every new start for
  ``Retry-After`` seconds (or an exponential, jittered pause when Logto sends none);
- **grow again slowly**: after ``limit`` calls in a row succeeded and at least ``GROWTH_INTERVAL`` seconds since
  the last change, ``limit`` grows by one, up to ``max_concurrency`` (additive increase, multiplicative decrease);
- **optional pacing**: ``max_requests_per_second`` spaces call starts evenly, for tenants whose limit is known,
  so the limiter never provokes a 429 in the first place.

Threads, not asyncio: the hook sends with ``requests`` (synchronous), Airflow runs an operator's ``execute`` in a
plain thread, and the network wait releases the GIL, so a handful of threads overlap the round trips without a
second, async HTTP path that would have to repeat the hook's token, retry and redirect rules.

How 429s reach the limiter: :meth:`AdaptiveLimiter.watch` registers a ``requests`` response hook on a session,
so every 429 the session receives — including those the hook's own retry rule then waits out and repeats —
lowers the concurrency at once. When the hook's retry budget is spent and the call raises a
:class:`~airflow_provider_logto.exceptions.LogtoApiError` with status 429, :meth:`AdaptiveLimiter.call` waits and
runs the callable again, until ``throttle_deadline`` seconds of throttling have passed. That is safe for reads
and writes alike **when the callable sends one request**: Logto answers 429 before doing anything. A 429 for
Logto Cloud's monthly token quota (``auth.exceed_token_limit``) is not throttling and is raised at once.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from airflow_provider_logto.exceptions import LogtoApiError, LogtoUsageError

if TYPE_CHECKING:
    import requests

T = TypeVar("T")

DEFAULT_MAX_CONCURRENCY = 8
GROWTH_INTERVAL = 2.0  # seconds between two +1 steps, and after a decrease before growing again
FIRST_PAUSE = 0.5  # seconds; doubles per 429 in a row when Logto sends no Retry-After
MAX_PAUSE = 30.0
BURST_WINDOW = 1.0  # seconds: 429s this close together (with no success between) are one burst, one halving
DEFAULT_THROTTLE_DEADLINE = 600.0


@dataclass(frozen=True)
class LimiterStats:
    """What the limiter saw: calls finished, 429s received, and the concurrency it settled on."""

    calls: int
    throttled: int
    limit: int
    lowest_limit: int
    max_concurrency: int
    max_requests_per_second: float | None

    def as_dict(self) -> dict[str, Any]:
        return {"calls": self.calls, "throttled": self.throttled, "concurrency": self.limit,
                "lowest_concurrency": self.lowest_limit, "max_concurrency": self.max_concurrency,
                "max_requests_per_second": self.max_requests_per_second}


def check_concurrency_arguments(max_concurrency: Any, max_requests_per_second: Any) -> None:
    """A :class:`LogtoUsageError` naming the argument when either is out of range (for operators' ``execute``)."""
    if isinstance(max_concurrency, bool) or not isinstance(max_concurrency, int) or not 1 <= max_concurrency <= 64:
        raise LogtoUsageError(f"max_concurrency must be a whole number from 1 to 64, not {max_concurrency!r} "
                              "(Logto Cloud allows about 200 requests per 10 s; 4–8 is plenty)")
    if max_requests_per_second is not None and (
            isinstance(max_requests_per_second, bool) or not isinstance(max_requests_per_second, (int, float))
            or not 0 < max_requests_per_second <= 10_000):
        raise LogtoUsageError(f"max_requests_per_second must be a positive number or None, not "
                              f"{max_requests_per_second!r} (Logto Cloud: about 20)")


class AdaptiveLimiter:
    """Bounds and adapts the number of concurrent calls (thread-safe; share one per tenant within a task).

    :param max_concurrency: the most calls running at once (1–64), and where ``limit`` starts.
    :param max_requests_per_second: when set, call starts are spaced ``1 / max_requests_per_second`` apart.
    :param throttle_deadline: seconds a single :meth:`call` keeps waiting out 429s before raising the last one.
    """

    def __init__(self, max_concurrency: int = DEFAULT_MAX_CONCURRENCY, *,
                 max_requests_per_second: float | None = None,
                 throttle_deadline: float = DEFAULT_THROTTLE_DEADLINE) -> None:
        check_concurrency_arguments(max_concurrency, max_requests_per_second)
        self.max_concurrency = max_concurrency
        self.max_requests_per_second = max_requests_per_second
        self.throttle_deadline = throttle_deadline
        self._condition = threading.Condition()
        self._limit = max_concurrency
        self._lowest = max_concurrency
        self._running = 0
        self._successes_in_row = 0
        self._last_change = time.monotonic()  # of the limit, either way: growth waits GROWTH_INTERVAL after it
        self._last_decrease = float("-inf")
        self._resume_at = 0.0
        self._next_start = 0.0
        self._pauses_in_row = 0
        self._calls = 0
        self._throttled = 0

    @property
    def limit(self) -> int:
        """How many calls may run at once right now."""
        return self._limit

    def stats(self) -> LimiterStats:
        with self._condition:
            return LimiterStats(self._calls, self._throttled, self._limit, self._lowest, self.max_concurrency,
                                self.max_requests_per_second)

    def call(self, function: Callable[[], T]) -> T:
        """``function()`` in a slot; waits out 429s (see the module docstring) and returns its result."""
        throttled_since: float | None = None
        while True:
            self._acquire()
            try:
                result = function()
            except LogtoApiError as error:
                # imported here: retrying loads the HTTP stack, which DAG parsing should not pay for
                from airflow_provider_logto.client.retrying import TOKEN_QUOTA_CODE

                self._release(succeeded=False)
                if error.status != 429 or error.code == TOKEN_QUOTA_CODE:
                    raise
                now = time.monotonic()
                throttled_since = throttled_since if throttled_since is not None else now
                if now - throttled_since >= self.throttle_deadline:
                    raise
                self.throttled(None, counted=False)
                continue
            except BaseException:
                self._release(succeeded=False)
                raise
            self._release(succeeded=True)
            return result

    def throttled(self, retry_after_seconds: float | None, *, counted: bool = True) -> None:
        """Tell the limiter Logto answered 429: pause new starts and, once per burst, halve the concurrency."""
        with self._condition:
            now = time.monotonic()
            if counted:
                self._throttled += 1
            if retry_after_seconds is None:
                pause = min(MAX_PAUSE, FIRST_PAUSE * 2 ** self._pauses_in_row) * random.uniform(0.75, 1.0)
                self._pauses_in_row += 1
            else:
                pause = min(MAX_PAUSE, retry_after_seconds)
            self._resume_at = max(self._resume_at, now + pause)
            if now >= self._last_decrease + BURST_WINDOW or self._successes_in_row:  # once per burst
                self._limit = max(1, self._limit // 2)
                self._lowest = min(self._lowest, self._limit)
                self._last_change = self._last_decrease = now
            self._successes_in_row = 0
            self._condition.notify_all()

    def watch(self, session: requests.Session) -> None:
        """Report every 429 ``session`` receives (a ``requests`` response hook), before any retry of it."""
        session.hooks["response"].append(self._observe)

    def _observe(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        from airflow_provider_logto.client.retrying import TOKEN_QUOTA_CODE, retry_after

        if response.status_code == 429 and TOKEN_QUOTA_CODE not in response.text[:500]:
            self.throttled(retry_after(response))

    def _acquire(self) -> None:
        with self._condition:
            while True:
                now = time.monotonic()
                if now < self._resume_at:
                    self._condition.wait(self._resume_at - now)
                elif self._running >= self._limit:
                    self._condition.wait()
                else:
                    break
            self._running += 1
            delay = 0.0
            if self.max_requests_per_second:
                start = max(now, self._next_start)
                self._next_start = start + 1 / self.max_requests_per_second
                delay = start - now
        if delay > 0:
            time.sleep(delay)

    def _release(self, *, succeeded: bool) -> None:
        with self._condition:
            self._running -= 1
            self._calls += 1
            if succeeded:
                self._pauses_in_row = 0
                self._successes_in_row += 1
                now = time.monotonic()
                if (self._limit < self.max_concurrency and self._successes_in_row >= self._limit
                        and now - self._last_change >= GROWTH_INTERVAL):
                    self._limit += 1
                    self._successes_in_row = 0
                    self._last_change = now
            self._condition.notify_all()
