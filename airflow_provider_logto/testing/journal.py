"""The emulator's memory of traffic: every request it saw, and how many tokens it issued to whom."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from airflow_provider_logto.testing.http import Request


@dataclass(frozen=True)
class JournalEntry:
    """One request as received (headers lower-cased) and the status it was answered with (0: dropped)."""

    server: str
    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]
    body: bytes
    status: int
    at: float


class Journal:
    """Thread-safe request log plus token counters, for tests to assert on."""

    def __init__(self) -> None:
        self._entries: list[JournalEntry] = []
        self._tokens: Counter[tuple[str, str | None]] = Counter()
        self._lock = threading.Lock()

    def record(self, server: str, request: Request, status: int) -> None:
        entry = JournalEntry(server, request.method, request.path, request.query, request.headers, request.body,
                             status, time.time())
        with self._lock:
            self._entries.append(entry)

    def count_token(self, client_id: str, resource: str | None) -> None:
        with self._lock:
            self._tokens[(client_id, resource)] += 1

    def entries(self, *, server: str | None = None, method: str | None = None,
                path: str | None = None) -> list[JournalEntry]:
        """The recorded requests, oldest first, optionally filtered (``path`` is matched exactly)."""
        with self._lock:
            entries = list(self._entries)
        return [
            e for e in entries
            if (server is None or e.server == server)
            and (method is None or e.method == method.upper())
            and (path is None or e.path == path)
        ]

    def tokens_issued(self, client_id: str | None = None, resource: str | None = None) -> int:
        """Access tokens issued, optionally only to one client and/or for one resource indicator."""
        with self._lock:
            return sum(
                n for (client, indicator), n in self._tokens.items()
                if (client_id is None or client == client_id) and (resource is None or indicator == resource)
            )

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._tokens.clear()
