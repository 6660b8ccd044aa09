"""The audit log (``logs`` table, ``queries/log.ts`` of Logto v1.37.1): entries kept sorted by ``createdAt`` so a
page of ``GET /api/logs`` costs the same at offset 0 and at offset 999,900, for millions of entries.

Each index is a pair of parallel sequences, ``createdAt`` values (an ``array('q')``, 8 bytes an entry, searched
with ``bisect``) and the records, ascending; the API reads them from the end (newest first). Besides the index
of every entry (retention, ``GET /api/logs/{id}``) there is one of the entries the list shows (keys with the
prefixes Logto lists) and one per ``key``, per ``payload.applicationId`` and per ``payload.userId`` value, so a
filtered page is a slice too. A record keeps its payload as compact JSON in PostgreSQL ``jsonb`` key order
(shorter keys first, then bytewise), or nothing when it is the default payload built from the other fields —
a million entries then take about 300 MB.

Logto orders by ``createdAt desc`` only: entries of the same millisecond come back in whatever order PostgreSQL
picks. :meth:`LogsMixin.logs_page` reproduces that on purpose: every request orders each run of equal
``createdAt`` differently (the direction alternates between requests, the starting point is random).
"""

from __future__ import annotations

import json
import random
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_logto.testing.errors import api_error
from airflow_provider_logto.testing.state.base import TenantBase, new_id, now_ms

# routes/log.ts: ``includeKeyPrefix`` (``key like 'prefix%'``); other keys (webhook logs) are stored, not listed
LISTED_KEY_PREFIXES = ("ExchangeTokenBy", "RevokeToken", "Interaction", "JwtCustomizer", "SamlApplication",
                       "Unknown")


def jsonb_order(value: Any) -> Any:
    """``value`` with every object's keys in the order PostgreSQL's ``jsonb`` returns them: by length, then by
    their UTF-8 bytes (``lengthCompareJsonbStringValue``); arrays keep their order."""
    if isinstance(value, Mapping):
        return {key: jsonb_order(value[key])
                for key in sorted(value, key=lambda k: (len(k.encode()), k.encode()))}
    if isinstance(value, (list, tuple)):
        return [jsonb_order(item) for item in value]
    return value


@dataclass(frozen=True, slots=True)
class LogRecord:
    """One stored entry; ``payload_json`` is None for the default payload (see :meth:`LogRecord.payload`)."""

    id: str
    key: str
    created_at: int
    result: str
    application_id: str | None
    user_id: str | None
    payload_json: str | None

    def payload(self) -> dict[str, Any]:
        if self.payload_json is not None:
            loaded: dict[str, Any] = json.loads(self.payload_json)
            return loaded
        base: dict[str, Any] = {"key": self.key, "result": self.result}
        if self.application_id is not None:
            base["applicationId"] = self.application_id
        if self.user_id is not None:
            base["userId"] = self.user_id
        return jsonb_order(base)

    def entry(self, tenant_id: str) -> dict[str, Any]:
        """The row as the Management API returns it: ``tenantId, id, key, payload, createdAt``."""
        return {"tenantId": tenant_id, "id": self.id, "key": self.key, "payload": self.payload(),
                "createdAt": self.created_at}


class _Index:
    """Records ascending by ``createdAt`` (equal ones in insertion order) with their times in an array."""

    __slots__ = ("created", "records")

    def __init__(self) -> None:
        self.created = array("q")
        self.records: list[LogRecord] = []

    def __len__(self) -> int:
        return len(self.records)

    def insert(self, record: LogRecord) -> None:
        if not self.created or record.created_at >= self.created[-1]:  # the usual case: "now" goes last
            self.created.append(record.created_at)
            self.records.append(record)
            return
        position = bisect_right(self.created, record.created_at)
        self.created.insert(position, record.created_at)
        self.records.insert(position, record)

    def extend(self, records: list[LogRecord]) -> None:
        """Add many at once: appended when they all come last, else merged by one stable sort."""
        if not records:
            return
        ordered = sorted(records, key=lambda r: r.created_at)
        if not self.created or ordered[0].created_at >= self.created[-1]:
            self.records.extend(ordered)
            self.created.extend(r.created_at for r in ordered)
            return
        self.records.extend(ordered)
        self.records.sort(key=lambda r: r.created_at)
        self.created = array("q", (r.created_at for r in self.records))

    def drop_before(self, created_at: int) -> list[LogRecord]:
        """Remove (and return) every record older than ``created_at``."""
        cut = bisect_left(self.created, created_at)
        dropped = self.records[:cut]
        del self.records[:cut], self.created[:cut]
        return dropped

    def newest_first(self, offset: int, limit: int, turn: int, rng: random.Random) -> list[LogRecord]:
        """Positions ``offset … offset+limit-1`` of the newest-first order, runs of equal ``createdAt`` ordered
        for this request only (``turn`` flips the direction, ``rng`` picks the rotation)."""
        total = len(self.records)
        page: list[LogRecord] = []
        rotations: dict[int, int] = {}
        for position in range(offset, min(total, offset + limit)):
            index = total - 1 - position
            value = self.created[index]
            first, end = bisect_left(self.created, value), bisect_right(self.created, value)
            size = end - first
            if size == 1:
                page.append(self.records[index])
                continue
            # a pair only flips (a rotation could undo the flip); longer runs also start at a random place
            rotation = rotations.setdefault(first, rng.randrange(size) if size > 2 else 0)
            local = (end - 1 - index + rotation) % size  # 0 = the run's newest-first slot
            if turn % 2:
                local = size - 1 - local
            page.append(self.records[end - 1 - local])
        return page


class LogsMixin(TenantBase):
    """The tenant's audit log; every method takes :attr:`TenantBase.lock`, so writers, retention and readers
    may run in parallel threads."""

    def __init__(self, tenant_id: str = "default") -> None:
        super().__init__(tenant_id)
        self.logs_by_id: dict[str, LogRecord] = {}
        self._all_logs = _Index()
        self._listed_logs = _Index()
        self._logs_by_key: dict[str, _Index] = {}
        self._logs_by_application: dict[str, _Index] = {}
        self._logs_by_user: dict[str, _Index] = {}
        self._log_turns = 0
        self._log_random = random.Random()
        self._interned: dict[str, str] = {}

    # --- writing ------------------------------------------------------------------------------------------
    def _intern(self, value: str | None) -> str | None:
        return None if value is None else self._interned.setdefault(value, value)

    def build_log(self, key: str, *, created_at: int | None = None, application_id: str | None = None,
                  user_id: str | None = None, result: str = "Success",
                  payload: Mapping[str, Any] | None = None, log_id: str | None = None) -> LogRecord:
        """A record as Logto's ``koaAuditLog`` writes it: ``payload`` starts with ``key`` and ``result`` (and
        ``applicationId``/``userId`` when given), then ``payload``'s own fields, which win."""
        if not isinstance(key, str) or not key:
            raise ValueError(f"a log entry needs a non-empty key, not {key!r}")
        created = now_ms() if created_at is None else int(created_at)
        payload_json = None
        if payload:
            merged: dict[str, Any] = {"key": key, "result": result}
            if application_id is not None:
                merged["applicationId"] = application_id
            if user_id is not None:
                merged["userId"] = user_id
            merged.update(payload)
            application = merged.get("applicationId")
            application_id = application if isinstance(application, str) else None
            user = merged.get("userId")
            user_id = user if isinstance(user, str) else None
            result = str(merged.get("result", result))
            payload_json = json.dumps(jsonb_order(merged), separators=(",", ":"), ensure_ascii=False)
        return LogRecord(log_id or new_id(), self._intern(key) or key, created, self._intern(result) or result,
                         self._intern(application_id), self._intern(user_id), payload_json)

    def insert_log(self, record: LogRecord) -> None:
        with self.lock:
            self._insert_logs([record])

    def insert_logs(self, records: list[LogRecord]) -> int:
        with self.lock:
            self._insert_logs(records)
        return len(records)

    def _insert_logs(self, records: list[LogRecord]) -> None:
        for record in records:
            if record.id in self.logs_by_id:
                raise ValueError(f"a log entry with id {record.id!r} already exists")
            self.logs_by_id[record.id] = record
        listed = [r for r in records if r.key.startswith(LISTED_KEY_PREFIXES)]
        groups: list[tuple[_Index, list[LogRecord]]] = [(self._all_logs, records), (self._listed_logs, listed)]
        by_index: dict[int, tuple[_Index, list[LogRecord]]] = {}
        for record in listed:
            for table, value in ((self._logs_by_key, record.key), (self._logs_by_application, record.application_id),
                                 (self._logs_by_user, record.user_id)):
                if value is not None:
                    index = table.setdefault(value, _Index())
                    by_index.setdefault(id(index), (index, []))[1].append(record)
        groups.extend(by_index.values())
        for index, batch in groups:
            if len(batch) == 1:
                index.insert(batch[0])
            else:
                index.extend(batch)

    def delete_logs_before(self, created_at: int) -> int:
        """Retention: remove every entry older than ``created_at`` (epoch ms); how many went."""
        with self.lock:
            dropped = self._all_logs.drop_before(created_at)
            if not dropped:
                return 0
            self._listed_logs.drop_before(created_at)
            for table in (self._logs_by_key, self._logs_by_application, self._logs_by_user):
                for value, index in list(table.items()):
                    index.drop_before(created_at)
                    if not index:
                        del table[value]
            for record in dropped:
                del self.logs_by_id[record.id]
            return len(dropped)

    # --- reading ------------------------------------------------------------------------------------------
    def log_entry(self, log_id: str) -> dict[str, Any]:
        """``findLogById``: any stored entry (listed or not), else 404 ``entity.not_exists_with_id``."""
        with self.lock:
            record = self.logs_by_id.get(log_id)
        if record is None:
            raise api_error("entity.not_exists_with_id", name="logs", id=log_id)
        return record.entry(self.tenant_id)

    def _log_index(self, log_key: str | None, application_id: str | None,
                   user_id: str | None) -> _Index | list[LogRecord]:
        """The listed entries matching the filters: an index (one filter or none) or a filtered list."""
        chosen: list[tuple[_Index, str, str]] = []
        for table, value, field in ((self._logs_by_key, log_key, "key"),
                                    (self._logs_by_application, application_id, "application_id"),
                                    (self._logs_by_user, user_id, "user_id")):
            if value:
                index = table.get(value)
                if index is None:
                    return []
                chosen.append((index, field, value))
        if not chosen:
            return self._listed_logs
        if len(chosen) == 1:
            return chosen[0][0]
        chosen.sort(key=lambda item: len(item[0]))
        rest = chosen[1:]
        return [r for r in chosen[0][0].records if all(getattr(r, field) == value for _, field, value in rest)]

    def logs_total(self, log_key: str | None = None, application_id: str | None = None,
                   user_id: str | None = None) -> int:
        with self.lock:
            return len(self._log_index(log_key, application_id, user_id))

    def logs_page(self, offset: int, limit: int, log_key: str | None = None, application_id: str | None = None,
                  user_id: str | None = None) -> tuple[int, list[dict[str, Any]]]:
        """``countLogs`` and ``findLogs`` of one request: the total and one page, newest first."""
        with self.lock:
            selected = self._log_index(log_key, application_id, user_id)
            self._log_turns += 1
            turn = self._log_turns
            if isinstance(selected, list):
                index = _Index()
                index.extend(selected)
            else:
                index = selected
            records = index.newest_first(offset, limit, turn, self._log_random)
            total = len(index)
        return total, [record.entry(self.tenant_id) for record in records]

    def all_logs(self) -> Iterable[LogRecord]:
        """Every stored record, oldest first (a snapshot)."""
        with self.lock:
            return list(self._all_logs.records)
