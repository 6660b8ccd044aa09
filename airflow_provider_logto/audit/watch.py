"""What a watcher of Logto's audit log has examined and what it has yet to report — the state behind
:class:`~airflow_provider_logto.triggers.audit_logs.LogtoAuditLogTrigger`, kept as plain JSON.

Logto lists entries newest first with no time filter and no tie-break (logto-facts §4), and an entry becomes
visible when its insert commits, which may be a little after its ``createdAt``. So the state is not one timestamp:
it is a *floor* (reads start there) plus the ids of the entries examined at or after it. An entry is new when it
is at or after the floor and its id was not examined. After each read the floor moves up to
``LOOKBACK_MS`` before the newest examined entry, so an entry of the same millisecond, or one that committed a
moment late, is still found by the next read — and reported once.

Matching entries that do not yet reach ``min_entries`` wait in ``pending`` (redacted, at most
:data:`MAX_EVENT_ENTRIES` kept, the count exact) until enough arrived.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

LOOKBACK_MS = 2_000
MAX_EVENT_ENTRIES = 20  # entries an event carries (the oldest first); `count` stays exact beyond it
MAX_DISTINCT = 100  # distinct applications / IPs counted per event
STATE_VERSION = 1


@dataclass(frozen=True)
class WatchFilter:
    """What a watcher reports: Logto filters ``logKey``, ``applicationId`` and ``userId`` itself; ``result``
    (``"Success"``/``"Error"``) has no server-side filter. Every field is checked again here, so a server that
    ignored a filter cannot raise a false alarm."""

    log_key: str | None = None
    application_id: str | None = None
    user_id: str | None = None
    result: str | None = None

    def matches(self, entry: Mapping[str, Any]) -> bool:
        payload = entry.get("payload") if isinstance(entry.get("payload"), Mapping) else {}
        assert isinstance(payload, Mapping)
        return ((self.log_key is None or entry.get("key") == self.log_key)
                and (self.application_id is None or payload.get("applicationId") == self.application_id)
                and (self.user_id is None or payload.get("userId") == self.user_id)
                and (self.result is None or payload.get("result") == self.result))


@dataclass
class Pending:
    """Matching entries not reported yet."""

    count: int = 0
    first_ms: int | None = None
    last_ms: int | None = None
    entries: list[dict[str, Any]] = field(default_factory=list)
    applications: dict[str, int] = field(default_factory=dict)
    ips: dict[str, int] = field(default_factory=dict)
    redacted: int = 0

    def add(self, entry: Mapping[str, Any], created: int) -> None:
        from airflow_provider_logto.audit.redaction import redact_entry

        self.count += 1
        self.first_ms = created if self.first_ms is None else min(self.first_ms, created)
        self.last_ms = created if self.last_ms is None else max(self.last_ms, created)
        payload = entry.get("payload") if isinstance(entry.get("payload"), Mapping) else {}
        assert isinstance(payload, Mapping)
        _tally(self.applications, payload.get("applicationId"))
        _tally(self.ips, payload.get("ip"))
        if len(self.entries) < MAX_EVENT_ENTRIES:
            clean, removed = redact_entry(entry)
            self.entries.append(clean)
            self.redacted += removed


def _tally(counts: dict[str, int], value: Any) -> None:
    if isinstance(value, str) and value and (value in counts or len(counts) < MAX_DISTINCT):
        counts[value] = counts.get(value, 0) + 1


@dataclass
class WatchState:
    """A watcher's position in the audit log and its unreported matches (JSON round trip: :meth:`to_json`)."""

    floor: int = 0
    seen: dict[str, int] = field(default_factory=dict)  # id -> createdAt of examined entries at or after floor
    pending: Pending = field(default_factory=Pending)

    @classmethod
    def starting_after(cls, newest: Sequence[Mapping[str, Any]], *, complete: bool) -> WatchState:
        """The state of a watcher that starts now: ``newest`` is Logto's first page (newest first) for its
        filters, and every entry on it counts as examined; ``complete`` says the page holds the whole log (it was
        not full). No entry at all: everything to come is new."""
        entries = [(str(entry["id"]), int(entry["createdAt"])) for entry in newest]
        if not entries:
            return cls()
        floor = max(created for _, created in entries) - LOOKBACK_MS
        oldest = min(created for _, created in entries)
        if not complete and oldest >= floor:  # entries of the lookback may lie beyond the page: start after it
            floor = oldest + 1
        return cls(floor=floor, seen={entry_id: created for entry_id, created in entries if created >= floor})

    def absorb(self, entries: Iterable[Mapping[str, Any]], matcher: WatchFilter) -> tuple[int, int]:
        """Examine one read's entries (ascending by ``createdAt``); returns (new entries, new matching ones)."""
        new = matching = 0
        newest = None
        for entry in entries:
            entry_id, created = str(entry["id"]), int(entry["createdAt"])
            if created < self.floor or entry_id in self.seen:
                continue
            self.seen[entry_id] = created
            new += 1
            newest = created if newest is None else max(newest, created)
            if matcher.matches(entry):
                matching += 1
                self.pending.add(entry, created)
        if newest is not None:
            self.floor = max(self.floor, newest - LOOKBACK_MS)
            self.seen = {entry_id: created for entry_id, created in self.seen.items() if created >= self.floor}
        return new, matching

    def take_event(self, min_entries: int, matcher: WatchFilter) -> dict[str, Any] | None:
        """The event payload once ``min_entries`` matches are pending (then nothing is pending), else None."""
        pending = self.pending
        if pending.count < min_entries or pending.count == 0:
            return None
        self.pending = Pending()
        return {
            "count": pending.count,
            "first_created_at": iso_ms(pending.first_ms),
            "last_created_at": iso_ms(pending.last_ms),
            "entries": pending.entries,
            "entries_omitted": pending.count - len(pending.entries),
            "applications": pending.applications,
            "ips": pending.ips,
            "redacted": pending.redacted,
            "filter": {"log_key": matcher.log_key, "application_id": matcher.application_id,
                       "user_id": matcher.user_id, "result": matcher.result},
        }

    def to_json(self) -> dict[str, Any]:
        pending = self.pending
        return {"version": STATE_VERSION, "floor": self.floor, "seen": self.seen,
                "pending": {"count": pending.count, "first_ms": pending.first_ms, "last_ms": pending.last_ms,
                            "entries": pending.entries, "applications": pending.applications, "ips": pending.ips,
                            "redacted": pending.redacted}}

    @classmethod
    def from_json(cls, value: Any) -> WatchState | None:
        """The stored state, or None when ``value`` is missing or not a state this version wrote."""
        if not isinstance(value, Mapping) or value.get("version") != STATE_VERSION:
            return None
        pending = value.get("pending") or {}
        return cls(floor=int(value["floor"]), seen={str(k): int(v) for k, v in dict(value["seen"]).items()},
                   pending=Pending(count=int(pending.get("count", 0)), first_ms=pending.get("first_ms"),
                                   last_ms=pending.get("last_ms"), entries=list(pending.get("entries", [])),
                                   applications=dict(pending.get("applications", {})),
                                   ips=dict(pending.get("ips", {})), redacted=int(pending.get("redacted", 0))))


def iso_ms(epoch_ms: int | None) -> str | None:
    """Logto's epoch milliseconds as ISO-8601 UTC (``2026-12-04T18:00:00.123Z``)."""
    if epoch_ms is None:
        return None
    moment = datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
