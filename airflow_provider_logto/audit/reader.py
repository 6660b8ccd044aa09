"""Read one time window of Logto's audit log — each entry of ``[start_ms, end_ms)`` exactly once, oldest first.

Logto serves ``GET /api/logs`` newest first by ``createdAt`` (milliseconds), offset-paged, with no tie-break and
no time filter (logto-facts §4). Three things move under a reader: entries written during the read enter at the
head and push older ones to later pages; retention deletes the oldest entries at the tail; and entries of the same
millisecond come in a different order on every request. How this module stays exact anyway:

**Locate** (:meth:`AuditLogRead._locate`): page 1 first — when its newest entry is older than ``start_ms`` (or the
list is empty) the window is empty and that was the only request. Otherwise the page holding the window's newest
entry and the page holding its oldest are found by bisection on page numbers, interpolated by ``createdAt``
(alternating with plain halving when interpolation stalls), so a window a week back in a million-entry tenant
costs a handful of requests, not a read of every newer entry.

**Read in lanes**: the window's pages are split into segments of at most ``SEGMENT_PAGES`` pages. Each segment is
read *sequentially* (a page is requested only after the one before was answered) through the same
:class:`~airflow_provider_logto.listing.paging.ConcurrentListing` and
:class:`~airflow_provider_logto.listing.paging.PageGuard` as every other list, and up to ``max_concurrency``
segments run at once, all through one :class:`~airflow_provider_logto.listing.concurrency.AdaptiveLimiter`
(bounded, halved on 429s, optionally paced).

**Why sequential pages cannot leave a gap**: inserts only ever push entries to *later* positions and retention
only removes entries older than every survivor, so between two pages answered in order the content shifts by
``s >= 0`` positions. If the next page's newest entry is older than the previous page's oldest, ``s`` is 0 and the
pages are exactly adjacent; if it is newer, the pages overlap (those entries are dropped — they were already read).
A millisecond group split across a page boundary (the next page starts in the same millisecond) is read again in
one request whose offset range (``page``/``page_size`` chosen for it) holds the whole group with a newer and an
older entry around it, since its order may differ between requests. A group complete on one page is complete.

**Seams between lanes are time, not pages**: a segment is responsible for the milliseconds from the newest entry of
the next older segment's first page (inclusive) up to its own first page's newest entry (exclusive), and reads on
past its pages until it has finished that range — so a segment whose pages moved because of inserts still meets its
neighbour without a gap or an overlap. The newest segment begins on a page that shows an entry at or after
``end_ms`` (or on page 1), so the window's first millisecond is complete too.

**Retention** (:attr:`AuditLogRead.possibly_missed`): when a lane finds the list ending before it reached its
range's bottom, entries of the window may have been deleted during the read. Page 1 is read once more to count the
entries written meanwhile, and from the ``Total-Number`` then and now and where the window's bottom was, an upper
bound of the window's deleted entries is reported (it is exact when nothing but retention changed the list). A
millisecond holding more entries than one request can (more than 100) is gathered over several passes; entries a
pass counted but no pass showed are reported too.

**Memory**: each segment's entries are sorted by ``(createdAt, id)`` and handed out oldest segment first; at most
``2 × max_concurrency`` segments (``SEGMENT_PAGES × 100`` entries each) are held, however long the window.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol, cast

from airflow_provider_logto.exceptions import LogtoApiError, LogtoUsageError
from airflow_provider_logto.listing.concurrency import (
    DEFAULT_MAX_CONCURRENCY,
    AdaptiveLimiter,
    check_concurrency_arguments,
)
from airflow_provider_logto.listing.paging import (
    MAX_PAGE_SIZE,
    ConcurrentListing,
    HookPerThread,
    Page,
    ProgressLogger,
    pages_for,
)

ENDPOINT = "/logs"
PAGE_SIZE = MAX_PAGE_SIZE
SEGMENT_PAGES = 10  # pages per lane segment at most: bounds memory (segments held at once)
MIN_SEGMENT_PAGES = 4  # and at least: each seam between two segments costs about one page read twice
BOUNDARY_REREADS = 4  # attempts to read a millisecond split across a page boundary in one request
LOCATE_MAX_PAGES = 1_000_000  # 100M entries: far beyond any tenant's retention; only a broken server gets there
STALLED_AIMS = 3  # aims in a row that did not halve the search range before it halves instead
GATHER_PASSES = 3  # passes over a millisecond too large for one request
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AuditLogQuery:
    """Logto's filters of ``GET /api/logs``: ``logKey`` (exact), ``applicationId``, ``userId`` (on the payload)."""

    log_key: str | None = None
    application_id: str | None = None
    user_id: str | None = None

    def params(self) -> dict[str, str]:
        given = {"logKey": self.log_key, "applicationId": self.application_id, "userId": self.user_id}
        return {name: value for name, value in given.items() if value}


class AuditLogSource(Protocol):
    """What the reader needs of a hook (``LogtoHook`` is one): its connection id, to make one hook per thread, and
    what :class:`~airflow_provider_logto.listing.paging.ConcurrentListing` calls on each."""

    logto_conn_id: str

    def management_get(self, endpoint: str, *, params: Mapping[str, Any] | None = None) -> Any: ...

    def get_conn(self) -> Any: ...

    def close(self) -> None: ...


def read_window(hook: AuditLogSource, query: AuditLogQuery, start_ms: int, end_ms: int, *,
                max_concurrency: int = DEFAULT_MAX_CONCURRENCY, max_requests_per_second: float | None = None,
                log: ProgressLogger | None = None) -> AuditLogRead:
    """The entries of ``[start_ms, end_ms)`` (epoch milliseconds) matching ``query``: iterate the answer once.

    Arguments are checked here; nothing is sent before the iteration starts. Entries come raw (unredacted) —
    redact them before they leave the provider (:func:`airflow_provider_logto.audit.redaction.redact_entry`).
    """
    for name, value in (("start_ms", start_ms), ("end_ms", end_ms)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise LogtoUsageError(f"{name} must be epoch milliseconds (a whole number >= 0), not {value!r}")
    if end_ms <= start_ms:
        raise LogtoUsageError(f"the window is empty or reversed: end ({end_ms}) must be after start ({start_ms})")
    if not isinstance(query, AuditLogQuery):
        raise LogtoUsageError(f"query must be an AuditLogQuery, not {type(query).__name__}")
    check_concurrency_arguments(max_concurrency, max_requests_per_second)
    conn_id = hook.logto_conn_id
    hook_type = type(hook)
    return AuditLogRead(lambda: hook_type(logto_conn_id=conn_id),  # type: ignore[call-arg]
                        query, start_ms, end_ms, max_concurrency, max_requests_per_second, log or _log)


def _stamp(entry: Any) -> int:
    if isinstance(entry, dict) and isinstance(entry.get("id"), str):
        created = entry.get("createdAt")
        if isinstance(created, int) and not isinstance(created, bool):
            return created
    raise LogtoApiError("Logto GET /logs answered an item that is not an audit-log entry (an object with a string "
                        "id and a numeric createdAt); is the endpoint a Logto server?", status=200, method="GET",
                        path=ENDPOINT)


def _checked(page: Page) -> list[int]:
    """The ``createdAt`` of each entry of ``page``, checked to be newest first (as Logto orders the log)."""
    stamps = [_stamp(entry) for entry in page.items]
    if any(a < b for a, b in zip(stamps, stamps[1:], strict=False)):
        raise LogtoApiError(f"Logto GET /logs page {page.number} is not ordered newest first by createdAt, as "
                            "Logto orders its audit log; the window cannot be read exactly. Is the endpoint a "
                            "Logto server?", status=200, method="GET", path=ENDPOINT)
    return stamps


@dataclass
class _Segment:
    """What one lane delivered: its entries (sorted) and whether the list ended before the lane's range did."""

    entries: list[dict[str, Any]]
    cut_short: bool


class AuditLogRead:
    """One read of a window (see the module doc); iterate it once. ``requests`` and ``possibly_missed`` are
    up to date during and after the iteration."""

    def __init__(self, hook_factory: Callable[[], AuditLogSource], query: AuditLogQuery, start_ms: int, end_ms: int,
                 max_concurrency: int, max_requests_per_second: float | None, logger: ProgressLogger) -> None:
        self.query = query
        self.start_ms = start_ms
        self.end_ms = end_ms
        self.max_concurrency = max_concurrency
        self.log = logger
        self._factory = cast("Callable[[], Any]", hook_factory)
        self.limiter = AdaptiveLimiter(max_concurrency, max_requests_per_second=max_requests_per_second)
        self._hooks = HookPerThread(self._factory, self.limiter)
        self._probe = self._listing(1)
        self.possibly_missed = 0
        self.boundary_rereads = 0
        self.unverified_groups = 0
        self.count = 0
        self._known_total = 0
        self._lock = threading.Lock()
        self._iterated = False

    @property
    def requests(self) -> int:
        """HTTP requests made to Logto so far (each page, probe and boundary re-read; not token requests)."""
        return self.limiter.stats().calls

    def _listing(self, first_page: int) -> ConcurrentListing:
        return ConcurrentListing(self._factory, ENDPOINT, params=self.query.params(), page_size=PAGE_SIZE,
                                 max_concurrency=1, first_page=first_page, count_misses=False, logger=self.log,
                                 limiter=self.limiter, hooks=self._hooks, what="Reading the audit log")

    def _fetch(self, number: int, page_size: int = PAGE_SIZE) -> Page:
        page = self._probe.fetch(number, page_size)
        _checked(page)
        return page

    def __iter__(self) -> Iterator[dict[str, Any]]:
        if self._iterated:
            raise LogtoUsageError("an AuditLogRead can be iterated once; call read_window again to read again")
        self._iterated = True
        try:
            yield from self._read()
        finally:
            self._hooks.close()

    # --- locating the window ------------------------------------------------------------------------------------
    def _read(self) -> Iterator[dict[str, Any]]:
        head = self._fetch(1)
        if not head.items or _stamp(head.items[0]) < self.start_ms:
            return  # nothing at or after start: one request
        newest = self._locate(self.end_ms, head)
        if newest is None:
            return  # every entry is at or after end
        oldest = self._locate(self.start_ms, newest)
        stamps = _checked(newest)
        first_in = next(i for i, stamp in enumerate(stamps) if stamp < self.end_ms)
        window_top = (newest.number - 1) * PAGE_SIZE + first_in
        if oldest is not None:
            below = next(i for i, stamp in enumerate(_checked(oldest)) if stamp < self.start_ms)
            window_bottom = (oldest.number - 1) * PAGE_SIZE + below
            last_number = oldest.number
        else:
            window_bottom = self._known_total
            last_number = max(newest.number, pages_for(self._known_total, PAGE_SIZE))
        expected = max(0, window_bottom - window_top)  # the window's size when located (an upper bound)
        first_number = newest.number - 1 if first_in == 0 and newest.number > 1 else newest.number
        pages = last_number - first_number + 1
        rounds = math.ceil(pages / (self.max_concurrency * SEGMENT_PAGES))  # segments per lane, at the most
        per_segment = max(MIN_SEGMENT_PAGES, math.ceil(pages / (self.max_concurrency * rounds)))  # even lanes
        heads = list(range(first_number, last_number + 1, per_segment))
        self.log.info("Audit log window [%d, %d): about %s entries on pages %d-%d, read in %d segment(s) of %d "
                      "page(s), %d at a time", self.start_ms, self.end_ms, f"{expected:,}", first_number, last_number,
                      len(heads), per_segment, self.max_concurrency)
        cut_short = False
        for segment in self._segments(heads):
            cut_short = cut_short or segment.cut_short
            self.count += len(segment.entries)
            yield from segment.entries
        if cut_short:
            # Retention deletes the oldest entries first. While entries older than start existed when the window
            # was located, none of the window had been deleted; so the window lost at most the entries deleted
            # since then beyond those older than start: inserts + window_bottom - Total-Number now. Otherwise
            # at most everything deleted since page 1: inserts + Total-Number then - Total-Number now.
            inserted, total_now = self._inserted_since(head)
            reference = window_bottom if oldest is not None else head.total or 0
            lost = max(0, inserted + reference - total_now)
            with self._lock:
                self.possibly_missed += lost
            if lost:
                self.log.warning("Logto's audit log lost its oldest entries while the window [%d, %d) was read "
                                 "(retention): up to %d entry(ies) of the window may be missing from the output",
                                 self.start_ms, self.end_ms, lost)

    def _inserted_since(self, head: Page) -> tuple[int, int]:
        """How many entries were written since ``head`` (page 1) was read — those now newer than its newest
        entry, or as new and beyond the ones it showed — and the list's Total-Number now."""
        newest = _stamp(head.items[0])
        had = sum(1 for entry in head.items if _stamp(entry) == newest)
        page = self._fetch(1)
        total = page.total if page.total is not None else 0
        after = self._locate(newest, page)
        if after is None:
            position = total
        else:
            position = (after.number - 1) * PAGE_SIZE + next(
                i for i, stamp in enumerate(_checked(after)) if stamp < newest)
        return max(0, position - had), total

    def _locate(self, target: int, known: Page) -> Page | None:
        """The first page whose oldest entry is older than ``target`` (None when no entry is), searching after
        ``known`` — a page whose oldest entry is at or after ``target`` unless it is the answer itself.

        Each probe aims where the last page read says the target lies (its entries per millisecond carried on),
        and halves the range instead when the aim falls outside it or ``STALLED_AIMS`` aims in a row did not
        halve it. A page that holds the crossing (its newest entry at or after ``target``, its oldest before)
        ends the search at once."""
        stamps = _checked(known)
        if known.total is not None:
            self._known_total = known.total
        if stamps and stamps[-1] < target:
            return known
        if len(known.items) < PAGE_SIZE:
            return None  # the list ends on this page
        low = known.number
        high: int | None = pages_for(known.total, PAGE_SIZE) + 1 if known.total is not None else None
        high_page: Page | None = None
        page, stalled = known, 0
        while True:
            while high is None or high - low > 1:
                before = None if high is None else high - low
                aim = _aim(page, target)
                if high is None:
                    number = max(low * 2, aim or 0)  # no (believable) Total-Number: gallop past the target
                elif stalled < STALLED_AIMS and aim is not None and low < aim < high:
                    number = aim
                else:
                    number = (low + high) // 2
                page = self._fetch_within(number)
                stamps = _checked(page)
                if stamps and stamps[-1] >= target:
                    if len(stamps) < PAGE_SIZE:
                        return None  # the list ends here and every entry is at or after target
                    low = number
                elif stamps and stamps[0] >= target:
                    return page  # the crossing is on this page
                else:
                    high, high_page = number, page if stamps else None
                halved = before is None or high is None or (high - low) * 2 <= before
                stalled = 0 if halved or number != aim else stalled + 1
            if high_page is not None:
                return high_page
            page = self._fetch_within(high)  # past the end by Total-Number, never read: is it?
            stamps = _checked(page)
            if not stamps:
                return None
            if stamps[-1] < target:
                return page
            if len(stamps) < PAGE_SIZE:
                return None
            low, high = high, None  # Total-Number said the list ended before this full page: gallop on

    def _fetch_within(self, number: int) -> Page:
        """A probe of page ``number``; past ``LOCATE_MAX_PAGES`` pages of full answers the server is not
        believed (probes are logarithmic: reaching the cap costs about 20 requests, not a read)."""
        if number > LOCATE_MAX_PAGES:
            raise LogtoApiError(f"Logto GET /logs kept answering full pages up to page {LOCATE_MAX_PAGES:,} while "
                                "the window was located; stopped. Is the endpoint a Logto server?", status=200,
                                method="GET", path=ENDPOINT)
        page = self._fetch(number)
        if page.total is not None:
            self._known_total = page.total
        return page

    # --- reading the located pages ------------------------------------------------------------------------------
    def _segments(self, heads: list[int]) -> Iterator[_Segment]:
        """Each segment's result, oldest segment first; at most ``2 × max_concurrency`` segments held at once."""
        count = len(heads)
        bounds: list[Future[int]] = [Future() for _ in range(count + 1)]
        bounds[count].set_result(self.start_ms)  # bounds[m]: the lowest millisecond segment m-1 delivers
        in_flight = 2 * self.max_concurrency
        with ThreadPoolExecutor(self.max_concurrency, thread_name_prefix="logto-audit") as pool:
            order = list(range(count - 1, -1, -1))
            futures: dict[int, Future[_Segment]] = {}
            try:
                for position, index in enumerate(order):
                    while len(futures) < in_flight and position + len(futures) < count:
                        following = order[position + len(futures)]
                        futures[following] = pool.submit(self._segment, following, heads[following], bounds)
                    yield futures.pop(index).result()
            finally:
                for future in futures.values():
                    future.cancel()
                for bound in bounds:
                    if not bound.done():
                        bound.set_exception(LogtoUsageError("the read was stopped"))

    def _segment(self, index: int, number: int, bounds: list[Future[int]]) -> _Segment:
        try:
            return self._read_segment(index, number, bounds)
        except BaseException as error:
            if not bounds[index].done():
                bounds[index].set_exception(error)  # the newer segment waiting for this seam fails too
            raise

    def _read_segment(self, index: int, number: int, bounds: list[Future[int]]) -> _Segment:
        while True:
            pages = self._listing(number).read_pages()
            head = next(pages)
            stamps = _checked(head)
            if index == 0 and stamps and number > 1 and stamps[0] < self.end_ms:
                pages.close()  # the window's newest millisecond may have begun on the page before: start there
                number -= 1
                continue
            break
        bottom = bounds[index + 1].result()
        if index == 0:
            top = self.end_ms
        else:
            top = min(self.end_ms, max(stamps[0], bottom)) if stamps else bottom
            bounds[index].set_result(top)
        lane = _Lane(self, bottom, top)
        try:
            if top > bottom and not lane.head(head, stamps):
                for page in pages:
                    if lane.next(page):
                        break
                else:
                    lane.end_of_list()  # PageGuard ended the list after the last page
        finally:
            pages.close()
        lane.out.sort(key=lambda entry: (entry["createdAt"], entry["id"]))
        return _Segment(lane.out, lane.cut_short)


class _Lane:
    """Walks one segment's pages newest first, finishing each millisecond group once it is proven complete (see
    the module doc) and keeping those in ``[bottom, top)``."""

    def __init__(self, read: AuditLogRead, bottom: int, top: int) -> None:
        self.read = read
        self.bottom = bottom
        self.top = top
        self.out: list[dict[str, Any]] = []
        self.cut_short = False
        self.edge_stamp: int | None = None  # the oldest millisecond seen, not yet finished
        self.edge: dict[str, dict[str, Any]] = {}
        self.edge_whole = False  # the edge group's newest end lies in the snapshot that holds its entries
        self.edge_on_last = 0  # how many of its entries the previous page held
        self.edge_page = 0  # the page its newest entry was seen on
        self.previous: Page | None = None

    def head(self, page: Page, stamps: list[int]) -> bool:
        """The segment's first page; True when the segment is already done."""
        self.previous = page
        if page.number == 1:  # nothing is newer than page 1: its first group is whole too
            return self._take(page, page.items, stamps)
        rest = [i for i, stamp in enumerate(stamps) if stamp < stamps[0]]
        self.edge_stamp, self.edge, self.edge_page = stamps[0], {}, page.number  # at or above top: not delivered
        if not rest:  # one millisecond fills the page: the groups below it start on the next page
            self.edge_whole, self.edge_on_last = False, len(stamps)
            return self._short(page) and self.end_of_list()
        first = rest[0]
        return self._take(page, page.items[first:], stamps[first:])

    def next(self, page: Page) -> bool:
        """One more page (answered after the one before); True when the segment is done."""
        stamps = _checked(page)
        if not page.items:
            return self.end_of_list()
        x = self.edge_stamp
        assert x is not None and self.previous is not None
        same = [entry for entry, stamp in zip(page.items, stamps, strict=True) if stamp == x]
        older = [i for i, stamp in enumerate(stamps) if stamp < x]
        self.previous = page
        if not older:  # the page ends inside (or above) the edge group: it goes on after this page
            self.edge.update((entry["id"], entry) for entry in same)
            self.edge_whole = stamps[0] > x
            self.edge_on_last = len(same)
            return self._short(page) and self.end_of_list()
        if stamps[0] > x:  # overlap: this page holds the whole edge group between newer and older entries
            done = self._finish(x, [*self.edge.values(), *same], exact=True)
        elif stamps[0] < x:  # exactly adjacent: the edge group ended on the page before
            done = self._finish(x, list(self.edge.values()), exact=self.edge_whole)
        else:  # the group goes across the boundary, in an order that may differ between the two requests
            group, exact = self._reread(page, x, [*self.edge.values(), *same])
            done = self._finish(x, group, exact=exact)
        first = older[0]
        return done or self._take(page, page.items[first:], stamps[first:])

    def end_of_list(self) -> bool:
        """The list ended (an empty or short page, or Total-Number said so): the edge group is finished, and when
        it is still at or above the bottom, entries the segment should have reached no longer exist. True."""
        if self.edge_stamp is not None:
            self._finish(self.edge_stamp, list(self.edge.values()), exact=self.edge_whole)
        if self.edge_stamp is None or self.edge_stamp >= self.bottom:
            self.cut_short = True
        self.edge_stamp, self.edge = None, {}
        return True

    def _take(self, page: Page, items: list[Any], stamps: list[int]) -> bool:
        """Entries of ``page`` below the edge, newest first: every group but the last is complete (both its ends
        lie on this page); the last becomes the edge, its newest end on this page. True when the segment is done."""
        start = 0
        for i in range(1, len(stamps) + 1):
            if i < len(stamps) and stamps[i] == stamps[start]:
                continue
            group = {entry["id"]: entry for entry in items[start:i]}
            if i < len(stamps):
                if self._finish(stamps[start], list(group.values()), exact=True):
                    return True
            else:
                self.edge_stamp, self.edge, self.edge_page = stamps[start], group, page.number
                self.edge_whole, self.edge_on_last = True, i - start
            start = i
        if self.edge_stamp is not None and self.edge_stamp < self.bottom:
            return True
        return self._short(page) and self.end_of_list()

    def _short(self, page: Page) -> bool:
        return len(page.items) < PAGE_SIZE

    def _finish(self, stamp: int, entries: list[dict[str, Any]], *, exact: bool) -> bool:
        """A finished group (``exact``: proven complete; else gathered by :meth:`_gather`), kept when in
        ``[bottom, top)``. True when it lies below the bottom (the segment is done)."""
        if self.bottom <= stamp < self.top:
            if not exact:
                entries = self._gather(stamp, entries)
            unique = {entry["id"]: entry for entry in entries}
            self.out.extend(unique.values())
        return stamp < self.bottom

    def _gather(self, x: int, seen: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Millisecond ``x`` holds more entries than one request can (100), in an order that changes between
        requests: read its pages again, in order, ``GATHER_PASSES`` times and keep every id seen. Entries the
        passes counted but never showed (the most ``x`` entries one pass saw, minus the ids gathered) go to
        ``possibly_missed``."""
        union = {entry["id"]: entry for entry in seen}
        most = 0
        for _ in range(GATHER_PASSES):
            counted, number = 0, self.edge_page
            while True:
                page = self.read._fetch(number)
                stamps = _checked(page)
                counted += sum(1 for stamp in stamps if stamp == x)
                union.update((entry["id"], entry) for entry, stamp in zip(page.items, stamps, strict=True)
                             if stamp == x)
                if not stamps or stamps[-1] < x or len(stamps) < PAGE_SIZE:
                    break
                number += 1
            most = max(most, counted)
        missed = max(0, most - len(union))
        with self.read._lock:
            self.read.unverified_groups += 1
            self.read.possibly_missed += missed
        self.read.log.warning("Audit log: %d entries share the millisecond %d, more than one request can hold; "
                              "gathered over %d passes, %d possibly missed", len(union), x, GATHER_PASSES, missed)
        return list(union.values())

    def _reread(self, page: Page, x: int,
                seen: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], bool]:
        """Millisecond ``x``, split between the page before and ``page``, read again in one request that holds it whole
        (a newer entry before it and an older one after it): the group and whether that succeeded."""
        on_page = sum(1 for entry in page.items if _stamp(entry) == x)
        start = (page.number - 1) * PAGE_SIZE
        low = max(0, start - self.edge_on_last - 1)
        high = start + on_page  # the first older entry
        union = {entry["id"]: entry for entry in seen}
        if not self.edge_whole:
            return list(union.values()), False
        for _ in range(BOUNDARY_REREADS):
            choice = _covering_page(low, high)
            if choice is None:
                return list(union.values()), False
            number, size = choice
            with self.read._lock:
                self.read.boundary_rereads += 1
            answer = self.read._fetch(number, size)
            stamps = _checked(answer)
            offset = (number - 1) * size
            indexes = [i for i, stamp in enumerate(stamps) if stamp == x]
            union.update((answer.items[i]["id"], answer.items[i]) for i in indexes)
            if not indexes:
                if stamps and stamps[-1] > x:  # the group moved later (entries written meanwhile)
                    low, high = low + len(stamps) // 2, high + len(stamps) // 2
                    continue
                return list(union.values()), False
            head_ok = indexes[0] > 0 or offset == 0
            tail_ok = indexes[-1] < len(stamps) - 1 or len(stamps) < size
            if head_ok and tail_ok:
                return [answer.items[i] for i in indexes], True
            if not head_ok:
                low = max(0, offset - 1)
            if not tail_ok:
                high = offset + len(stamps) + 1
        return list(union.values()), False


def _aim(page: Page, target: int) -> int | None:
    """The page where ``target`` should be, extrapolating from ``page``'s entries per millisecond (None when the
    page is empty or one millisecond)."""
    stamps = [_stamp(entry) for entry in page.items]
    if len(stamps) < 2 or stamps[0] == stamps[-1]:
        return None
    per_ms = (len(stamps) - 1) / (stamps[0] - stamps[-1])
    entries = (stamps[-1] - target) * per_ms  # > 0: target is older than the page (later pages)
    return max(1, page.number + math.floor(entries / PAGE_SIZE) + (1 if entries > 0 else 0))


def _covering_page(low: int, high: int) -> tuple[int, int] | None:
    """``(page, page_size)`` whose offset range holds positions ``low``..``high`` with the widest room after
    ``high`` (entries written meanwhile move the group later), or None when no page of ≤ 100 entries does."""
    best: tuple[int, int, int] | None = None
    for size in range(PAGE_SIZE, high - low, -1):
        number = low // size + 1
        room = number * size - 1 - high
        if room >= 0 and (best is None or room > best[0]):
            best = (room, number, size)
    return None if best is None else (best[1], best[2])
