"""The tenant's audit log (Logto's ``logs`` table, ``queries/log.ts``): newest first, ties in no fixed order.

Entries are kept sorted by ``createdAt`` (newest first) in one list, so a page of a million-entry log is a slice
plus a binary search, not a scan. Logto orders by ``created_at desc`` with no tie-break, so entries of the same
millisecond may come in any order; the emulator shuffles the millisecond groups a page touches on every request,
as PostgreSQL may. It has its own lock: tests write and delete entries (``add_log``, ``delete_logs_before``)
while an export reads.
"""

from __future__ import annotations

import bisect
import random
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from airflow_provider_logto.testing.state.base import new_id, now_ms

# the keys GET /api/logs lists (``routes/log.ts``): other keys are stored but never listed
LISTED_KEY_PREFIXES = ("ExchangeTokenBy.", "RevokeToken", "Interaction.", "JwtCustomizer.", "Saml", "Unknown")


def log_entry(tenant_id: str, key: str, *, created_at: int | None = None, application_id: str | None = None,
              user_id: str | None = None, result: str = "Success", payload: Mapping[str, Any] | None = None,
              entry_id: str | None = None) -> dict[str, Any]:
    """An entry in Logto's shape: ``tenantId, id, key, payload, createdAt``; the payload starts with its key and
    result, then the given fields (``applicationId``/``userId`` when given)."""
    body: dict[str, Any] = {"key": key, "result": result}
    if application_id is not None:
        body["applicationId"] = application_id
    if user_id is not None:
        body["userId"] = user_id
    body.update(payload or {})
    return {"tenantId": tenant_id, "id": entry_id or new_id(), "key": key, "payload": body,
            "createdAt": now_ms() if created_at is None else int(created_at)}


class AuditLog:
    """The entries, newest first; thread-safe."""

    def __init__(self, tenant_id: str) -> None:
        self.tenant_id = tenant_id
        self._lock = threading.Lock()
        self._order: list[int] = []  # -createdAt of each entry, ascending (so newest first)
        self._entries: list[dict[str, Any]] = []
        self._by_id: dict[str, dict[str, Any]] = {}
        self._unlisted = 0  # entries whose key GET /api/logs does not list
        self._random = random.Random()

    def add(self, key: str, **fields: Any) -> dict[str, Any]:
        entry = log_entry(self.tenant_id, key, **fields)
        with self._lock:
            # after the entries of the same millisecond (bisect_right): inserting now is cheap at the head
            index = bisect.bisect_right(self._order, -entry["createdAt"])
            self._order.insert(index, -entry["createdAt"])
            self._entries.insert(index, entry)
            self._by_id[entry["id"]] = entry
            self._unlisted += not _listed(key)
        return entry

    def add_many(self, entries: Iterable[Mapping[str, Any]]) -> int:
        """Bulk: each mapping holds :func:`log_entry`'s arguments (``key`` and the keywords)."""
        made = [log_entry(self.tenant_id, **dict(entry)) for entry in entries]
        with self._lock:
            merged = self._entries + made
            merged.sort(key=lambda entry: -entry["createdAt"])  # stable; Timsort merges the two runs
            self._entries = merged
            self._order = [-entry["createdAt"] for entry in merged]
            self._by_id.update((entry["id"], entry) for entry in made)
            self._unlisted += sum(1 for entry in made if not _listed(entry["key"]))
        return len(made)

    def delete_before(self, created_at: int) -> int:
        """Retention: every entry older than ``created_at`` (epoch ms) goes; how many."""
        with self._lock:
            index = bisect.bisect_right(self._order, -created_at)  # the first entry older than created_at
            gone = self._entries[index:]
            del self._entries[index:]
            del self._order[index:]
            for entry in gone:
                del self._by_id[entry["id"]]
                self._unlisted -= not _listed(entry["key"])
        return len(gone)

    def get(self, entry_id: str) -> dict[str, Any] | None:
        with self._lock:
            return self._by_id.get(entry_id)

    def page(self, offset: int, limit: int, *, key: str | None = None, application_id: str | None = None,
             user_id: str | None = None) -> tuple[int, list[dict[str, Any]]]:
        """``Total-Number`` and one page of the listed entries matching the filters, in one consistent snapshot;
        the millisecond groups the page touches are shuffled."""
        with self._lock:
            if key is None and application_id is None and user_id is None and not self._unlisted:
                return len(self._entries), self._shuffled(self._entries, offset, limit)  # a slice, no scan
            rows = [entry for entry in self._entries if _listed(entry["key"])
                    and (key is None or entry["key"] == key)
                    and (application_id is None or entry["payload"].get("applicationId") == application_id)
                    and (user_id is None or entry["payload"].get("userId") == user_id)]
            return len(rows), self._shuffled(rows, offset, limit)

    def _shuffled(self, rows: list[dict[str, Any]], offset: int, limit: int) -> list[dict[str, Any]]:
        window = rows[offset:offset + limit]
        if not window:
            return []
        first = _group_start(rows, offset)
        last = _group_end(rows, offset + len(window) - 1)
        span = rows[first:last]
        groups: dict[int, list[dict[str, Any]]] = {}
        for entry in span:
            groups.setdefault(entry["createdAt"], []).append(entry)
        ordered: list[dict[str, Any]] = []
        for stamp in sorted(groups, reverse=True):
            group = groups[stamp]
            self._random.shuffle(group)
            ordered.extend(group)
        return ordered[offset - first:offset - first + len(window)]


def _listed(key: str) -> bool:
    return key.startswith(LISTED_KEY_PREFIXES)


def _group_start(rows: list[dict[str, Any]], index: int) -> int:
    stamp = rows[index]["createdAt"]
    while index > 0 and rows[index - 1]["createdAt"] == stamp:
        index -= 1
    return index


def _group_end(rows: list[dict[str, Any]], index: int) -> int:
    stamp = rows[index]["createdAt"]
    while index + 1 < len(rows) and rows[index + 1]["createdAt"] == stamp:
        index += 1
    return index + 1
