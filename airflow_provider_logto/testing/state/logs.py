"""The tenant's audit log (``logs`` table): entries as Logto v1.37.1 stores them, newest first on read.

A minimal stand-in written on the issue-17 branch until the issue-16 emulator work lands (it owns this module).
"""

from __future__ import annotations

import random
import secrets
import string
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any

_ID_ALPHABET = string.ascii_lowercase + string.digits


class AuditLog:
    """Thread-safe: tests write and delete while a reader pages through it."""

    def __init__(self, tenant_id: str) -> None:
        self.tenant_id = tenant_id
        self._lock = threading.Lock()
        self._entries: list[dict[str, Any]] = []  # ascending by createdAt
        self._random = random.Random()

    def add(self, key: str, *, created_at: int | None = None, application_id: str | None = None,
            user_id: str | None = None, result: str = "Success", payload: Mapping[str, Any] | None = None,
            ) -> dict[str, Any]:
        body: dict[str, Any] = {"key": key, "result": result}
        if application_id is not None:
            body["applicationId"] = application_id
        if user_id is not None:
            body["userId"] = user_id
        body.update(payload or {})
        entry = {"tenantId": self.tenant_id, "id": "".join(secrets.choice(_ID_ALPHABET) for _ in range(21)),
                 "key": key, "payload": body,
                 "createdAt": int(time.time() * 1000) if created_at is None else int(created_at)}
        with self._lock:
            index = len(self._entries)
            while index and self._entries[index - 1]["createdAt"] > entry["createdAt"]:
                index -= 1
            self._entries.insert(index, entry)
        return entry

    def add_many(self, entries: Iterable[Mapping[str, Any]]) -> int:
        return sum(1 for item in entries if self.add(**item))

    def delete_before(self, created_at_ms: int) -> int:
        with self._lock:
            kept = [entry for entry in self._entries if entry["createdAt"] >= created_at_ms]
            removed = len(self._entries) - len(kept)
            self._entries = kept
        return removed

    def newest_first(self, log_key: str | None, application_id: str | None, user_id: str | None
                     ) -> list[dict[str, Any]]:
        """Matching entries, newest first; entries of the same millisecond in no fixed order."""
        with self._lock:
            matching = [entry for entry in self._entries
                        if (not log_key or entry["key"] == log_key)
                        and (not application_id or entry["payload"].get("applicationId") == application_id)
                        and (not user_id or entry["payload"].get("userId") == user_id)]
        matching.sort(key=lambda entry: (-entry["createdAt"], self._random.random()))
        return matching

    def get(self, log_id: str) -> dict[str, Any] | None:
        with self._lock:
            return next((entry for entry in self._entries if entry["id"] == log_id), None)
