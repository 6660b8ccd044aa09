"""The provider's one way to read a paginated Management API list: in page order, with a bounded number of pages
in memory, sequentially (``max_concurrency=1``, what ``LogtoHook.management_paginate`` uses) or concurrently.

:class:`ConcurrentListing` reads the first page alone to learn ``Total-Number``, then the others through a
thread pool gated by one :class:`~airflow_provider_logto.listing.concurrency.AdaptiveLimiter` (bounded, adaptive on 429,
optionally paced), and yields the items in list order. At most ``2 × max_concurrency`` pages are requested but
not yet consumed (one with ``max_concurrency=1``: a sequential read asks for a page only when the one before has
been consumed), so memory holds a bounded number of pages whatever the list's length. Each item is yielded once
(see :mod:`airflow_provider_logto.listing.consistency` for the exact guarantee and the count of possible misses), and
progress — items, pages, rate, ETA — is logged at INFO every ``PROGRESS_INTERVAL`` seconds.

Where the list ends is decided by :class:`PageGuard`, page by page in list order, so that a server cannot make a
read lose items or run forever: a short page ends the list; a full page ends it only when its ``Total-Number``
says the list ends exactly there (a ``Total-Number`` that lies low never loses items, one that lies high ends on
the short page); a page with the same items as the one before (the endpoint ignores paging), an answer that is not
a list, or more than ``MAX_PAGES`` pages is a :class:`~airflow_provider_logto.exceptions.LogtoApiError`.

Every worker thread has its own hook (so its own keep-alive session; tokens come from the process-wide cache,
fetched once), and every session reports its 429s to the shared limiter.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Generator, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar
from urllib.parse import parse_qsl, urlsplit

from airflow_provider_logto.exceptions import LogtoApiError, LogtoUsageError
from airflow_provider_logto.listing.concurrency import (
    DEFAULT_MAX_CONCURRENCY,
    AdaptiveLimiter,
    check_concurrency_arguments,
)
from airflow_provider_logto.listing.consistency import ConsistencyReport, ListingConsistency


class SessionHook(Protocol):
    """A hook with a session the limiter can watch, closed when the work is done."""

    def get_conn(self) -> Any: ...

    def close(self) -> None: ...


class PageAnswer(Protocol):
    """One answer of a Management API GET, as the listing reads it."""

    @property
    def body(self) -> Any: ...

    @property
    def total(self) -> int | None: ...


class ListingHook(SessionHook, Protocol):
    """What the listing engine needs of a hook: a session and one GET of a Management API page. ``LogtoHook`` is
    one; the engine never names it, so that the hook can use the engine without an import cycle."""

    def management_get(self, endpoint: str, *, params: Mapping[str, Any] | None = None) -> PageAnswer: ...


HookT = TypeVar("HookT", bound=SessionHook)

MAX_PAGE_SIZE = 100
MAX_PAGES = 10_000  # pages one listing may read (1,000,000 items at page_size 100); more is an error
PAGES_IN_MEMORY_PER_WORKER = 2
PROGRESS_INTERVAL = 10.0  # seconds between two progress lines
log = logging.getLogger(__name__)


class ProgressLogger(Protocol):
    """Where progress and consistency warnings go: a ``logging.Logger`` or an operator's ``self.log`` (Airflow 3's
    structured logger), which both take printf-style arguments."""

    def info(self, msg: str, /, *args: Any) -> Any: ...

    def warning(self, msg: str, /, *args: Any) -> Any: ...


@dataclass(frozen=True)
class Page:
    """One answered page: its number (1-based), its items and the ``Total-Number`` Logto sent with it."""

    number: int
    items: list[Any]
    total: int | None


def pages_for(total: int, page_size: int) -> int:
    return max(1, -(-total // page_size))


def check_paging_arguments(endpoint: Any, params: Any, page_size: Any, first_page: Any, last_page: Any) -> None:
    """A :class:`LogtoUsageError` naming the argument, for operators to call in ``execute`` before any request."""
    if isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise LogtoUsageError(f"page_size must be a whole number from 1 to {MAX_PAGE_SIZE}, not {page_size!r}")
    if params is not None and not isinstance(params, Mapping):
        raise LogtoUsageError(f"query_params must be a mapping, not {type(params).__name__}")
    if not isinstance(endpoint, str) or not endpoint.strip():
        raise LogtoUsageError(f"endpoint must be a Management API path such as /users, not {endpoint!r}")
    given = set(params or ()) | {key for key, _ in parse_qsl(urlsplit(endpoint).query)}
    if {"page", "page_size"} & given:
        raise LogtoUsageError("page and page_size are set by the pagination itself; remove them from query_params "
                              "and from the endpoint (use first_page/last_page for a range)")
    for name, value in (("first_page", first_page), ("last_page", last_page)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise LogtoUsageError(f"{name} must be a page number >= 1, not {value!r}")
    if first_page is not None and last_page is not None and last_page < first_page:
        raise LogtoUsageError(f"last_page {last_page} is before first_page {first_page}")


def is_users_list(endpoint: str) -> bool:
    """``/users`` or ``/api/users`` (any query): Logto orders it newest first by ``createdAt``."""
    return urlsplit(endpoint).path.rstrip("/") in ("/users", "/api/users")


class HookPerThread(Generic[HookT]):
    """One hook per thread, each session watched by the limiter; all closed together."""

    def __init__(self, factory: Callable[[], HookT], limiter: AdaptiveLimiter) -> None:
        self._factory = factory
        self._limiter = limiter
        self._local = threading.local()
        self._hooks: list[HookT] = []
        self._lock = threading.Lock()

    def get(self) -> HookT:
        hook = getattr(self._local, "hook", None)
        if hook is None:
            hook = self._local.hook = self._factory()
            self._limiter.watch(hook.get_conn())
            with self._lock:
                self._hooks.append(hook)
        return hook

    def close(self) -> None:
        with self._lock:
            for hook in self._hooks:
                hook.close()
            self._hooks.clear()


class _Progress:
    """Logs items, pages, rate and ETA at INFO every ``PROGRESS_INTERVAL`` seconds."""

    def __init__(self, what: str, logger: ProgressLogger) -> None:
        self.what = what
        self.log = logger
        self.started = time.monotonic()
        self._last = self.started

    def update(self, items: int, pages: int, expected_items: int | None) -> None:
        now = time.monotonic()
        if now - self._last < PROGRESS_INTERVAL:
            return
        self._last = now
        rate = items / max(now - self.started, 1e-9)
        if expected_items and rate > 0 and expected_items > items:
            eta = f"ETA {_duration((expected_items - items) / rate)}"
        else:
            eta = "ETA soon"
        of = f" of ~{expected_items:,}" if expected_items else ""
        self.log.info("%s: %s item(s)%s, %s page(s), %s items/s, %s", self.what, f"{items:,}", of, f"{pages:,}",
                      f"{rate:,.0f}", eta)


def _duration(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"


class PageGuard:
    """Decides, page by page in list order, whether a paged read goes on after a page — and stops a server that
    would make the read lose items or never end (see the module doc).

    :param endpoint: the list (for messages); ``page_size``: items per request.
    :param first_page: the first page of the read; pages up to ``first_page + max_pages - 1`` may be read.
    """

    def __init__(self, endpoint: str, page_size: int, first_page: int, max_pages: int) -> None:
        self.endpoint = endpoint
        self.page_size = page_size
        self.max_pages = max_pages
        self.last_allowed = first_page + max_pages - 1
        self.received = 0
        self._previous: list[Any] | None = None
        self._warned = False

    def goes_on_after(self, page: Page) -> bool:
        """True when the list may go on after ``page`` (call before its items are used); raises on a repeat."""
        if page.items and page.items == self._previous:
            raise LogtoApiError(f"Logto GET {self.endpoint} answered page {page.number} with the same items as page "
                                f"{page.number - 1}: the endpoint ignores paging; call it once, without paging "
                                "(management_request, or paginate=False)", status=200, method="GET",
                                path=self.endpoint)
        self._previous = page.items
        self.received += len(page.items)
        if len(page.items) < self.page_size:
            return False
        end = page.number * self.page_size
        if page.total == end:
            return False  # full, and Total-Number says the list ends exactly here
        if page.total is not None and page.total < end and not self._warned:
            self._warned = True
            log.warning("Logto GET %s: Total-Number says %d but page %d is full; reading on until a short page",
                        self.endpoint, page.total, page.number)
        return True

    def too_many_pages(self) -> LogtoApiError:
        """The error for a read that would go past ``max_pages`` pages."""
        return LogtoApiError(f"Logto GET {self.endpoint} kept answering full pages for {self.max_pages} pages "
                             f"({self.received:,} items); stopped. Narrow the query (search, filters) or read the "
                             "list in page ranges (first_page/last_page, as the example DAG "
                             "example_logto_export_large_tenant does)",
                             status=200, method="GET", path=self.endpoint)


class ConcurrentListing:
    """Every item of a Management API list, read concurrently and yielded once each, in list order.

    Iterate it once; then :meth:`summary` says how many items and pages, what the limiter saw, and the
    consistency report (duplicates skipped, possible misses). Arguments are checked on construction, before
    any request. Where the list ends is :class:`PageGuard`'s decision; a hostile or broken answer (a repeated page,
    not a list, more than ``max_pages`` pages) raises :class:`LogtoApiError` during the iteration.

    :param hook_factory: makes a new hook on the same connection (one per worker thread).
    :param endpoint: the list, e.g. ``/users``; ``params``: its filters.
    :param page_size: items per request (1–100).
    :param max_concurrency: the most requests in flight at once (adapts down on 429).
    :param max_requests_per_second: pace requests for a tenant whose limit is known (Logto Cloud: about 20).
    :param first_page: the first page to read (default 1); ``last_page``: the last one (default: to the end).
    :param what: how progress lines name the read.
    :param count_misses: after the read, read the list's head again to count users created meanwhile, so that
        :meth:`summary` bounds the possible misses (the export wants it; a caller that only wants the items
        saves that request with False, and the bound then rests on ``Total-Number`` alone).
    :param max_pages: the most pages this read may request (default ``MAX_PAGES``); past it the read fails.
    :param limiter: share one :class:`AdaptiveLimiter` between several listings of one tenant (the audit-log
        reader's lanes); default: a limiter of its own, made from ``max_concurrency`` and
        ``max_requests_per_second``.
    :param hooks: share one :class:`HookPerThread` between several listings (not closed by this one).
    """

    def __init__(self, hook_factory: Callable[[], ListingHook], endpoint: str, *,
                 params: Mapping[str, Any] | None = None, page_size: int = MAX_PAGE_SIZE,
                 max_concurrency: int = DEFAULT_MAX_CONCURRENCY, max_requests_per_second: float | None = None,
                 first_page: int | None = None, last_page: int | None = None, what: str | None = None,
                 logger: ProgressLogger | None = None, count_misses: bool = True,
                 max_pages: int | None = None, limiter: AdaptiveLimiter | None = None,
                 hooks: HookPerThread | None = None) -> None:
        check_paging_arguments(endpoint, params, page_size, first_page, last_page)
        check_concurrency_arguments(max_concurrency, max_requests_per_second)
        self.endpoint = endpoint
        self.params = dict(params or {})
        self.page_size = page_size
        self.first_page = first_page or 1
        self.last_page = last_page
        self.window = 1 if max_concurrency == 1 else PAGES_IN_MEMORY_PER_WORKER * max_concurrency
        self.count_misses = count_misses
        self._guard = PageGuard(endpoint, page_size, self.first_page, MAX_PAGES if max_pages is None else max_pages)
        self.limiter = limiter or AdaptiveLimiter(max_concurrency, max_requests_per_second=max_requests_per_second)
        self._owns_hooks = hooks is None
        self._hooks = hooks or HookPerThread(hook_factory, self.limiter)
        self._progress = _Progress(what or f"Reading {endpoint}", logger or log)
        self._consistency: ListingConsistency | None = None
        self._report: ConsistencyReport | None = None
        self.items = 0
        self.pages = 0
        self._iterated = False

    def fetch(self, number: int, page_size: int | None = None) -> Page:
        """Read one page through the limiter (from any thread)."""
        size = page_size or self.page_size

        def read() -> Page:
            result = self._hooks.get().management_get(self.endpoint,
                                                      params={**self.params, "page": number, "page_size": size})
            if not isinstance(result.body, list):
                raise LogtoApiError(f"Logto GET {self.endpoint} did not answer a list, so it cannot be paginated: "
                                    "call it once, without paging", status=200, method="GET", path=self.endpoint)
            return Page(number, result.body, result.total)

        return self.limiter.call(read)

    def __iter__(self) -> Iterator[Any]:
        if self._iterated:
            raise LogtoUsageError("a ConcurrentListing can be iterated once; make a new one to read the list again")
        self._iterated = True
        try:
            yield from self._items()
            self._report = self._finish()
        finally:
            self._close()

    def read_pages(self) -> Generator[Page, None, None]:
        """The pages themselves from ``first_page`` on, in order, while :class:`PageGuard` says the list goes on —
        without deduplication, for a caller that reasons about whole pages (the audit-log reader). With
        ``max_concurrency=1`` each page is requested in the consuming thread, only after the one before was
        consumed, so Logto answers the pages in page order."""
        if self._iterated:
            raise LogtoUsageError("a ConcurrentListing can be iterated once; make a new one to read the list again")
        self._iterated = True
        try:
            for page in self._ordered_pages(self.fetch(self.first_page)):
                self.items += len(page.items)
                self.pages += 1
                yield page
        finally:
            self._close()

    def _close(self) -> None:
        if self._owns_hooks:
            self._hooks.close()

    def _items(self) -> Iterator[Any]:
        list_head = self.fetch(1)
        start = list_head if self.first_page == 1 else self.fetch(self.first_page)
        consistency = self._consistency = ListingConsistency(list_head.items, list_head.total, self.window,
                                                             newest_first=is_users_list(self.endpoint))
        expected = None
        if list_head.total is not None:
            last = pages_for(list_head.total, self.page_size)
            if self.last_page is not None:
                last = min(last, self.last_page)
            expected = max(0, min(list_head.total, last * self.page_size) - (self.first_page - 1) * self.page_size)
        for page in self._ordered_pages(start):
            consistency.observe_page(page.number, page.items, page.total)
            for item in page.items:
                if consistency.accept(item):
                    self.items += 1
                    yield item
            self.pages += 1
            self._progress.update(self.items, self.pages, expected)

    def _ordered_pages(self, start: Page) -> Iterator[Page]:
        """``start`` and the pages after it, in order, while :class:`PageGuard` says the list goes on; at most
        ``window`` pages requested and not yet consumed, none past ``last_page`` or the page cap."""
        guard = self._guard
        goes_on = guard.goes_on_after(start)
        yield start
        if not goes_on or (self.last_page is not None and start.number >= self.last_page):
            return
        known_last = max(start.number, pages_for(start.total, self.page_size) if start.total is not None else 0)
        last_wanted = guard.last_allowed if self.last_page is None else min(self.last_page, guard.last_allowed)
        if self.window == 1:  # sequential: each page in the consuming thread, after the one before was consumed
            number = start.number + 1
            while True:
                if self.last_page is not None and number > self.last_page:
                    return
                if number > guard.last_allowed:
                    raise guard.too_many_pages()
                page = self.fetch(number)
                goes_on = guard.goes_on_after(page)
                yield page
                if not goes_on:
                    return
                number += 1
        pending: dict[int, Future[Page]] = {}
        next_number = expected = start.number + 1
        with ThreadPoolExecutor(self.limiter.max_concurrency, thread_name_prefix="logto-page") as pool:
            try:
                while True:
                    while next_number <= min(known_last, last_wanted) and len(pending) < self.window:
                        pending[next_number] = pool.submit(self.fetch, next_number)
                        next_number += 1
                    if expected not in pending:  # the page before was full and did not end the list
                        if self.last_page is not None and expected > self.last_page:
                            return
                        if expected > guard.last_allowed:
                            raise guard.too_many_pages()
                        known_last = expected  # the list is longer than announced: read on, a page at a time
                        continue
                    page = pending.pop(expected).result()
                    if page.total is not None:
                        known_last = max(known_last, pages_for(page.total, self.page_size))
                    expected += 1
                    goes_on = guard.goes_on_after(page)
                    yield page
                    if not goes_on:
                        return
            finally:
                for future in pending.values():
                    future.cancel()

    def _finish(self) -> ConsistencyReport:
        consistency = self._consistency
        assert consistency is not None
        report = consistency.finish(self._recount if self.count_misses else None, self.page_size)
        if report.possibly_missed:
            self._progress.log.warning(
                "%s changed while it was read (%s item(s) before, %s after, %s created, %s deleted): up to %s "
                "item(s) may be missing from the output; run the export again when the list is quiet if that "
                "matters", self.endpoint, report.total_before, report.total_after, report.created_during_read,
                report.deleted_during_read, report.possibly_missed)
        elif report.possibly_missed is None:
            self._progress.log.warning("%s changed while it was read and has no newest-first order to reason "
                                       "with: some items may be missing from the output", self.endpoint)
        return report

    def _recount(self, number: int) -> tuple[list[Any], int | None]:
        page = self.fetch(number)
        return page.items, page.total

    def summary(self) -> dict[str, Any]:
        """Counts after a complete iteration (JSON-ready): items, pages, seconds, limiter and consistency."""
        if self._report is None:
            raise LogtoUsageError("summary() is known only after the listing was iterated to its end")
        seconds = time.monotonic() - self._progress.started
        return {"count": self.items, "pages": self.pages, "seconds": round(seconds, 3),
                **self._report.as_dict(), "requests": self.limiter.stats().as_dict()}
