"""``LogtoAuditLogTrigger``: start DAGs on Logto activity — an ``AssetWatcher`` trigger over Logto's audit log.

One poll loop reads the entries written since the last read (Logto's first page, or the exact window reader
from the watcher's floor, in a worker thread), and each trigger turns the new entries that match it into events
(:class:`~airflow_provider_logto.audit.watch.WatchState`). On Airflow 3.3 the loop is shared by every trigger with
the same connection, Logto filters and poll interval (``shared_stream_key``), and each trigger keeps its position
in the asset state store, so a triggerer restart continues where it stopped. Airflow 3.0–3.2 run one loop per
trigger and keep the position in memory: a restarted triggerer starts again from the newest entry.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import AsyncIterator, Hashable, Iterator
from typing import TYPE_CHECKING, Any

from airflow_provider_logto.compat import BaseEventTrigger, TriggerEvent, asset_state_accessors
from airflow_provider_logto.exceptions import LogtoUsageError

if TYPE_CHECKING:
    from airflow_provider_logto.audit.watch import WatchFilter, WatchState
    from airflow_provider_logto.hooks.logto import LogtoHook

log = logging.getLogger(__name__)

RESULTS = ("Success", "Error")
MIN_POLL_INTERVAL = 1.0
MAX_BACKOFF = 300.0  # seconds between polls while Logto answers 5xx/429 or cannot be reached
DEFINITIVE_RETRY = 600.0  # seconds between attempts while the connection itself is wrong (secret, scope)
PAGE_SIZE = 100  # Logto's largest page
CHUNK = 1_000  # entries handed to the triggers at once while a long read (after downtime) goes on
FUTURE_MS = 86_400_000  # a read ends a day after the triggerer's clock: Logto's clock may run ahead
STATE_KEY_PREFIX = "logto_audit_log_watch"

# Each shared poll loop reads from the lowest floor among the triggers consuming it (key -> trigger -> floor).
_FLOORS: dict[Hashable, dict[int, int]] = {}


class LogtoAuditLogTrigger(BaseEventTrigger):
    """Fires when new entries of Logto's audit log match its filters — for ``Asset(watchers=[AssetWatcher(...)])``.

    Every matching entry is reported once: an event is yielded as soon as ``min_entries`` matching entries arrived
    that no earlier event reported. Its payload (JSON; a DAG reads it from ``triggering_asset_events`` as
    ``event.extra["payload"]``)::

        {"count": 3, "first_created_at": "2026-12-04T18:00:00.123Z", "last_created_at": "…",
         "entries": [...], "entries_omitted": 0, "applications": {"<app id>": 3}, "ips": {"10.0.0.7": 3},
         "redacted": 3, "filter": {...}}

    ``count`` is exact; ``entries`` holds at most 20 entries (the oldest first) after the audit-log redaction, so
    no credential reaches the event, the log or the database; ``applications`` and ``ips`` count the matches per
    application and client IP (up to 100 distinct each).

    Idle cost: one ``GET /api/logs`` per ``poll_interval``. Where the poll starts (Airflow 3.3: the asset state
    store, surviving triggerer restarts; 3.0–3.2: memory, from the trigger's start) and how errors behave are in
    ``docs/events-and-lineage.md``. Airflow 2.11 has no event-driven scheduling: creating the trigger there raises
    :class:`~airflow_provider_logto.exceptions.LogtoUnsupportedAirflowError`.

    :param logto_conn_id: the ``logto`` connection; its app needs the Management API (``all`` scope).
    :param log_key: an exact audit-log key, e.g. ``"ExchangeTokenBy.ClientCredentials"`` (Logto filters by it).
    :param application_id: only entries of this application (Logto filters by it).
    :param user_id: only entries of this user (Logto filters by it).
    :param result: ``"Success"``, ``"Error"`` or None (both). Logto cannot filter by result: the poll reads all
        entries of the other filters and the trigger keeps the matching ones.
    :param poll_interval: seconds between polls (at least 1).
    :param min_entries: fire once at least this many new matching entries arrived (default 1).
    """

    def __init__(self, *, logto_conn_id: str | None = None, log_key: str | None = None,
                 application_id: str | None = None, user_id: str | None = None, result: str | None = None,
                 poll_interval: float = 30.0, min_entries: int = 1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        from airflow_provider_logto.connection.form import DEFAULT_CONN_ID

        # A trigger has no execute(): its arguments are checked here, so a mistake fails when the DAG is parsed.
        if result not in (*RESULTS, None):
            raise LogtoUsageError(f"result must be 'Success', 'Error' or None, not {result!r}")
        if isinstance(min_entries, bool) or not isinstance(min_entries, int) or min_entries < 1:
            raise LogtoUsageError(f"min_entries must be a whole number >= 1, not {min_entries!r}")
        if isinstance(poll_interval, bool) or not isinstance(poll_interval, (int, float)) \
                or not poll_interval >= MIN_POLL_INTERVAL:
            raise LogtoUsageError(f"poll_interval must be a number of seconds >= {MIN_POLL_INTERVAL:g}, not "
                                  f"{poll_interval!r}")
        for name, value in (("log_key", log_key), ("application_id", application_id), ("user_id", user_id)):
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise LogtoUsageError(f"{name} must be a non-empty string or None, not {value!r}")
        self.logto_conn_id = logto_conn_id or DEFAULT_CONN_ID
        self.log_key = log_key
        self.application_id = application_id
        self.user_id = user_id
        self.result = result
        self.poll_interval = float(poll_interval)
        self.min_entries = min_entries
        self._memory: WatchState | None = None  # Airflow 3.0–3.2: the position lives as long as this trigger

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (f"{type(self).__module__}.{type(self).__qualname__}", {
            "logto_conn_id": self.logto_conn_id, "log_key": self.log_key, "application_id": self.application_id,
            "user_id": self.user_id, "result": self.result, "poll_interval": self.poll_interval,
            "min_entries": self.min_entries,
        })

    # --- Airflow 3.3: one poll for every trigger with the same connection, Logto filters and interval ----------
    def shared_stream_key(self) -> Hashable | None:
        return _stream_key(self.serialize()[1])

    @classmethod
    async def open_shared_stream(cls, kwargs: dict[str, Any]) -> AsyncIterator[Any]:
        async for raw in _poll(kwargs, _stream_key(kwargs)):
            yield raw

    async def filter_shared_stream(self, shared_stream: AsyncIterator[Any]) -> AsyncIterator[TriggerEvent]:
        async for event in self._events(shared_stream, _stream_key(self.serialize()[1])):
            yield event

    # --- Airflow 3.0–3.2 (and 3.3 when the triggerer does not share): a poll of its own ----------------------
    async def run(self) -> AsyncIterator[TriggerEvent]:
        own_key = ("standalone", id(self))
        async for event in self._events(_poll(self.serialize()[1], own_key), own_key):
            yield event

    async def _events(self, stream: AsyncIterator[Any], key: Hashable) -> AsyncIterator[TriggerEvent]:
        """Turn the poll's reads into this trigger's events, keeping the position after each complete read."""
        from airflow_provider_logto.audit.watch import WatchFilter

        matcher = WatchFilter(self.log_key, self.application_id, self.user_id, self.result)
        state = await self._load_state()
        floors = _FLOORS.setdefault(key, {})
        floors[id(self)] = state.floor
        reading: int | None = None  # the read this trigger follows from its first chunk on
        changed = False
        try:
            async for raw in stream:
                if raw["chunk"] == 0:
                    # A read that started above this trigger's floor may miss entries it has not examined: skip
                    # it; the next read starts at the lowest floor, this one's included.
                    reading = raw["read"] if raw["floor"] <= state.floor else None
                if reading != raw["read"]:
                    continue
                new, matching = state.absorb(raw["entries"], matcher)
                changed = changed or new > 0
                if matching:
                    self.log.info("Logto audit log: %d new matching entr%s (%d pending, firing at %d)", matching,
                                  "y" if matching == 1 else "ies", state.pending.count, self.min_entries)
                if not raw["last"]:
                    continue
                floors[id(self)] = state.floor
                payload = state.take_event(self.min_entries, matcher)
                if payload is not None:
                    self.log.info("Logto audit log: reporting %d matching entr%s from %s to %s",
                                  payload["count"], "y" if payload["count"] == 1 else "ies",
                                  payload["first_created_at"], payload["last_created_at"])
                    yield TriggerEvent(payload)
                if changed:  # saved once the event is queued: a read without news writes nothing
                    await self._save_state(state)
                    changed = False
        finally:
            floors.pop(id(self), None)
            if not floors:
                _FLOORS.pop(key, None)

    # --- the position: Airflow 3.3's asset state store, else memory --------------------------------------------
    def _state_key(self) -> str:
        """Per connection and filters, so two watchers of one asset keep separate positions; ``min_entries`` and
        ``poll_interval`` may change without losing the position."""
        kwargs = self.serialize()[1]
        identity = json.dumps([kwargs["logto_conn_id"], kwargs["log_key"], kwargs["application_id"],
                               kwargs["user_id"], kwargs["result"]])
        return f"{STATE_KEY_PREFIX}_{hashlib.sha256(identity.encode()).hexdigest()[:16]}"

    async def _load_state(self) -> WatchState:
        from airflow_provider_logto.audit.watch import WatchState

        accessors = asset_state_accessors(getattr(self, "asset_state_store", None))
        for accessor in accessors:
            stored = WatchState.from_json(await accessor.aget(self._state_key()))
            if stored is not None:
                self.log.info("Logto audit log: continuing from the stored position (floor %d)", stored.floor)
                return stored
        if self._memory is not None:
            return self._memory
        failures = 0
        while True:
            try:
                state = await asyncio.to_thread(_starting_state, self.serialize()[1])
                break
            except Exception as error:
                failures += 1
                await asyncio.sleep(_failure_delay(error, failures, self.poll_interval, self.logto_conn_id))
        self.log.info("Logto audit log: watching from the newest entry on (floor %d)%s", state.floor,
                      "" if accessors else "; the position lives in memory (Airflow before 3.3): a restarted "
                      "triggerer starts again from the newest entry")
        await self._save_state(state)
        return state

    async def _save_state(self, state: WatchState) -> None:
        accessors = asset_state_accessors(getattr(self, "asset_state_store", None))
        if not accessors:
            self._memory = state
            return
        value = state.to_json()
        for accessor in accessors:
            await accessor.aset(self._state_key(), value)


def _stream_key(kwargs: dict[str, Any]) -> Hashable:
    """Triggers that read the same entries share a poll; ``result`` and ``min_entries`` apply per trigger."""
    return ("logto-audit-log", kwargs["logto_conn_id"], kwargs["log_key"], kwargs["application_id"],
            kwargs["user_id"], float(kwargs["poll_interval"]))


def _filters(kwargs: dict[str, Any]) -> tuple[WatchFilter, Any]:
    from airflow_provider_logto.audit.reader import AuditLogQuery
    from airflow_provider_logto.audit.watch import WatchFilter

    matcher = WatchFilter(kwargs["log_key"], kwargs["application_id"], kwargs["user_id"], kwargs.get("result"))
    return matcher, AuditLogQuery(log_key=kwargs["log_key"], application_id=kwargs["application_id"],
                                  user_id=kwargs["user_id"])


def _starting_state(kwargs: dict[str, Any]) -> WatchState:
    """Where a new watcher starts: after the newest entry for its Logto filters (one request), so it reports
    what happens from now on — by Logto's clock, whatever the triggerer's clock says."""
    from airflow_provider_logto.audit.watch import WatchState
    from airflow_provider_logto.hooks.logto import LogtoHook

    hook = LogtoHook(logto_conn_id=kwargs["logto_conn_id"])
    try:
        page = _first_page(hook, _filters(kwargs)[1])
        return WatchState.starting_after(page, complete=len(page) < PAGE_SIZE)
    finally:
        hook.close()


def _first_page(hook: LogtoHook, query: Any) -> list[dict[str, Any]]:
    """Logto's newest entries for ``query`` (one request, newest first)."""
    body = hook.management_get("/logs", params={"page": 1, "page_size": PAGE_SIZE, **query.params()}).body
    if not isinstance(body, list) or not all(isinstance(entry, dict) and isinstance(entry.get("id"), str)
                                             and isinstance(entry.get("createdAt"), int) for entry in body):
        raise ValueError("Logto GET /logs answered something that is not a list of audit-log entries")
    return body


def _read_since(hook: LogtoHook, query: Any, floor: int, end_ms: int) -> Iterator[dict[str, Any]]:
    """The entries at or after ``floor``, oldest first. A poll usually finds them all on Logto's first page —
    which then holds an entry older than ``floor``, or the whole list — and costs that one request; more go
    through the exact window reader."""
    from airflow_provider_logto.audit.reader import read_window

    page = _first_page(hook, query)
    if len(page) < PAGE_SIZE or page[-1]["createdAt"] < floor:
        return iter(sorted((entry for entry in page if entry["createdAt"] >= floor),
                           key=lambda entry: (entry["createdAt"], entry["id"])))
    return iter(read_window(hook, query, floor, end_ms, log=log))


def _failure_delay(error: Exception, failures: int, interval: float, conn_id: str) -> float:
    """Log a failed request to Logto and return how long to wait before the next one."""
    from airflow_provider_logto.exceptions import LogtoError, scrub
    from airflow_provider_logto.triggers.conditions import keeps_waiting

    if isinstance(error, LogtoError) and not keeps_waiting(error):  # messages are scrubbed of credentials
        log.error("Logto audit log poll failed and waiting will not fix it: %s. Fix the connection %r (its app "
                  "needs the Management API role with the 'all' scope); trying again in %.0f s", error, conn_id,
                  DEFINITIVE_RETRY)
        return DEFINITIVE_RETRY
    delay = min(interval * 2 ** failures, MAX_BACKOFF)
    log.warning("Logto audit log poll failed (%s: %s); polling again in %.0f s", type(error).__name__,
                scrub(str(error)), delay)
    return delay


def _take(entries: Iterator[dict[str, Any]], size: int) -> list[dict[str, Any]]:
    chunk: list[dict[str, Any]] = []
    for entry in entries:
        chunk.append(entry)
        if len(chunk) >= size:
            break
    return chunk


async def _poll(kwargs: dict[str, Any], key: Hashable) -> AsyncIterator[dict[str, Any]]:
    """Read the audit log from the lowest floor of the triggers on ``key`` every ``poll_interval`` seconds, forever.

    Yields ``{"read", "chunk", "floor", "entries", "last"}``: the entries at or after ``floor`` (raw — each trigger
    redacts what it keeps), ascending, in chunks. Transient failures (5xx, 429, timeouts) back off up to
    :data:`MAX_BACKOFF` with a log line each; a failure that waiting cannot fix (wrong secret, missing scope) is
    logged with its fix and tried again only every :data:`DEFINITIVE_RETRY` seconds, with a fresh connection.
    """
    from airflow_provider_logto.hooks.logto import LogtoHook

    query = _filters(kwargs)[1]
    interval = float(kwargs["poll_interval"])
    hook: LogtoHook | None = None
    failures = 0
    read_number = 0
    try:
        while True:
            floors = _FLOORS.get(key)
            if not floors:  # no trigger has loaded its position yet
                await asyncio.sleep(0.05)
                continue
            floor = min(floors.values())
            read_number += 1
            try:
                hook = hook or LogtoHook(logto_conn_id=kwargs["logto_conn_id"])
                end_ms = int(time.time() * 1000) + FUTURE_MS
                entries = await asyncio.to_thread(_read_since, hook, query, floor, end_ms)
                chunk_number = 0
                while True:
                    chunk = await asyncio.to_thread(_take, entries, CHUNK)
                    last = len(chunk) < CHUNK
                    yield {"read": read_number, "chunk": chunk_number, "floor": floor, "entries": chunk,
                           "last": last}
                    chunk_number += 1
                    if last:
                        break
                failures = 0
                delay = interval
            except Exception as error:
                failures += 1
                delay = _failure_delay(error, failures, interval, kwargs["logto_conn_id"])
                if delay == DEFINITIVE_RETRY and hook is not None:
                    hook.close()
                    hook = None  # the next attempt reads the (possibly fixed) connection again
            await asyncio.sleep(delay)
    finally:
        if hook is not None:
            hook.close()
