"""What an offset-paged Logto list guarantees when it changes during a read, and how the provider keeps the promise.

Logto pages lists with ``page``/``page_size`` over a live table. ``GET /api/users`` (with or without search) is
ordered newest first by ``createdAt``; a user created during the read enters at the front and shifts every later
user back by one, a deleted user shifts every later user forward by one. Between the reads of two neighbouring
pages such a shift makes a user appear on both (a duplicate) or on neither (a miss).

**No duplicates** (:meth:`ListingConsistency.accept`): for a list Logto orders newest first (the users list; every
item has an ``id`` and a numeric ``createdAt``, and every page is checked to be in that order) the writer keeps
only the cursor (the oldest ``createdAt`` written so far and the ids written with exactly that ``createdAt``) and
drops any item that is not older than the cursor: a duplicate, or a user created after the read began. Memory
stays constant however long the list. Lists without that order fall back to remembering every id (about 100 bytes
per item; such lists — roles, applications, organizations — are small).

**Misses are counted, not hidden** (:meth:`ListingConsistency.finish`): a user can only be missed by crossing a
page boundary whose two pages were read at different times, and each creation or deletion moves at most one user
across each boundary. At most ``window + 1`` boundaries are "open" at once (``window`` = pages requested but not
yet written), so

    possibly_missed = changes × (window + 1), capped at the list's size,

where ``changes`` = users created during the read (counted on a fresh page 1 at the end, by ``createdAt``) plus
users deleted (from ``Total-Number`` before and after), or the sum of ``Total-Number`` steps between successive
pages when that is larger. This is an upper bound for every user that existed for the whole read and is not in
the output; a user created *and* deleted between two page reads leaves no trace any client of an offset-paged
API can see, so its shifts are outside the bound. ``possibly_missed == 0`` means no change was seen: the output
is the complete list. For lists without the newest-first order the count is ``None`` (unknown) when the
``Total-Number`` moved, else 0.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from airflow_provider_logto.exceptions import LogtoError


@dataclass(frozen=True)
class ConsistencyReport:
    """The part of an export's result that says how complete it is (JSON-ready through :meth:`as_dict`)."""

    ordered: bool
    total_before: int | None
    total_after: int | None
    created_during_read: int | None
    deleted_during_read: int | None
    duplicates_skipped: int
    possibly_missed: int | None

    def as_dict(self) -> dict[str, Any]:
        return {"total_before": self.total_before, "total_after": self.total_after,
                "created_during_read": self.created_during_read, "deleted_during_read": self.deleted_during_read,
                "duplicates_skipped": self.duplicates_skipped, "possibly_missed": self.possibly_missed}


def _created_at(item: Any) -> int | float | None:
    if not isinstance(item, dict) or not isinstance(item.get("id"), str):
        return None
    value = item.get("createdAt")
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def is_newest_first(items: Sequence[Any]) -> bool:
    """Every item has an ``id`` and a numeric ``createdAt``, in non-increasing ``createdAt`` order."""
    keys = [_created_at(item) for item in items]
    return all(key is not None for key in keys) and all(a >= b for a, b in pairwise(keys))  # type: ignore[operator]


class ListingConsistency:
    """Deduplicates the items of one paged read and bounds what the read may have missed (see the module doc).

    :param first_page: page 1's items, read before any other page.
    :param total_before: page 1's ``Total-Number``.
    :param window: the most pages requested but not yet written at any moment.
    :param newest_first: Logto orders this list newest first by ``createdAt`` (the users list does).
    """

    def __init__(self, first_page: Sequence[Any], total_before: int | None, window: int, *,
                 newest_first: bool) -> None:
        self.ordered = newest_first and bool(first_page) and is_newest_first(first_page)
        self.total_before = total_before
        self.window = window
        self._newest = _created_at(first_page[0]) if self.ordered else None
        self._newest_id = first_page[0]["id"] if self.ordered else None
        self._cursor: int | float | None = None
        self._at_cursor: set[str] = set()
        self._seen: set[Any] = set()
        self._totals: list[int] = [total_before] if total_before is not None else []
        self.duplicates_skipped = 0
        self.pages_read = 0
        self.ranged = False  # the read started after page 1, which was read separately

    def observe_page(self, number: int, items: Sequence[Any], total: int | None) -> None:
        """A page about to be written, in page order: its ``Total-Number`` is a sample of the list's size."""
        self.pages_read += 1
        self.ranged = self.ranged or number > 1 and self.pages_read == 1
        if total is not None and number > 1:
            self._totals.append(total)
        if self.ordered and not is_newest_first(items):
            raise LogtoError(f"page {number} of the list is not ordered newest first by createdAt, as Logto orders "
                             "users; the export cannot be deduplicated safely. Is the endpoint a Logto server?")

    def accept(self, item: Any) -> bool:
        """True if ``item`` belongs in the output; False for a duplicate (counted)."""
        if self.ordered:
            created = _created_at(item)
            if created is not None and (self._cursor is None or created < self._cursor):
                self._cursor, self._at_cursor = created, {item["id"]}
                return True
            if created is not None and created == self._cursor and item["id"] not in self._at_cursor:
                self._at_cursor.add(item["id"])
                return True
            self.duplicates_skipped += 1
            return False
        key = item.get("id") if isinstance(item, dict) and isinstance(item.get("id"), (str, int)) else None
        if key is None:
            return True  # nothing to deduplicate by
        if key in self._seen:
            self.duplicates_skipped += 1
            return False
        self._seen.add(key)
        return True

    def created_since_start(self, items: Sequence[Any]) -> int:
        """How many of ``items`` (a fresh read of the list's head, in order) were created after page 1 was read:
        newer than the newest user then, or as old to the millisecond but listed before it."""
        if self._newest is None:
            return 0
        ids = [item.get("id") if isinstance(item, dict) else None for item in items]
        anchor = ids.index(self._newest_id) if self._newest_id in ids else -1
        return sum(1 for index, item in enumerate(items)
                   if (created := _created_at(item)) is not None
                   and (created > self._newest or (created == self._newest and index < anchor)))

    def finish(self, recount: Callable[[int], tuple[Sequence[Any], int | None]] | None,
               page_size: int) -> ConsistencyReport:
        """The report; ``recount(page)`` re-reads a page of the list (items, ``Total-Number``) to count creations.

        Page 1 is read again (and page 2, … while every item on it is new) only when the list is ordered and was
        read in more than one request (a single page is one consistent snapshot: nothing can be missed). Without
        ``recount`` nothing is read again: creations stay unknown (None) and the bound rests on the
        ``Total-Number`` steps seen between pages.
        """
        created: int | None = None
        total_after = self._totals[-1] if self._totals else None
        if self.ordered and self.pages_read <= 1 and not self.ranged:
            return ConsistencyReport(True, self.total_before, total_after, 0, 0, self.duplicates_skipped, 0)
        if self.ordered and recount is not None:
            created, page = 0, 1
            while True:
                items, total = recount(page)
                if page == 1:
                    total_after = total
                new = self.created_since_start(items)
                created += new
                if new < len(items) or len(items) < page_size:
                    break
                page += 1
        deleted = None
        if created is not None and self.total_before is not None and total_after is not None:
            deleted = max(0, created - (total_after - self.total_before))
        totals = [*self._totals, *([total_after] if total_after is not None else [])]
        steps = sum(abs(b - a) for a, b in pairwise(totals))
        if self.ordered:
            changes = max((created or 0) + (deleted or 0), steps)
            possibly_missed: int | None = min(changes * (self.window + 1), max(self.total_before or 0, *totals, 0))
        else:
            possibly_missed = 0 if steps == 0 else None
        return ConsistencyReport(self.ordered, self.total_before, total_after, created, deleted,
                                 self.duplicates_skipped, possibly_missed)
