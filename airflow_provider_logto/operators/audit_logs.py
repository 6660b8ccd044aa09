"""``LogtoAuditLogExportOperator``: one time window of Logto's audit log, each entry once, redacted, as JSON Lines."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseOperator

from airflow_provider_logto.connection.form import DEFAULT_CONN_ID
from airflow_provider_logto.exceptions import LogtoUsageError
from airflow_provider_logto.listing.concurrency import DEFAULT_MAX_CONCURRENCY

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context, ObjectStoragePath

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MILLISECOND = timedelta(milliseconds=1)
# Logto stamps an entry when its request starts and stores it when the request ends: a window is read only once it
# has been over this long, so entries of its last moments are already visible.
SETTLE = timedelta(seconds=5)
LINES_PER_WRITE = 500
NO_WINDOW_HINT = ("set start and end on the operator, e.g. start=\"{{ (dag_run.run_after - macros.timedelta(hours=1))"
                  ".isoformat() }}\" and end=\"{{ dag_run.run_after.isoformat() }}\" (as the example DAG "
                  "example_logto_audit_logs does)")


class LogtoAuditLogExportOperator(BaseOperator):
    """Export the entries of Logto's audit log created in ``[start, end)`` to a JSON Lines file or object.

    Each entry of the window is written exactly once, sorted by ``createdAt`` then ``id``
    (:mod:`airflow_provider_logto.audit.reader` says how, despite Logto's newest-first offset paging, entries
    written meanwhile, ties within a millisecond and retention). With ``redact=True`` (the default) every
    credential value in an entry — the ``client_secret`` Logto records for ``client_secret_post`` token requests
    (it authenticates as the app), tokens, passwords, ``Bearer``/``Basic`` credentials in text — is replaced by a
    marker before the entry is written, logged or put into an error; ``redact=False`` writes entries as Logto
    stores them, working credentials included.

    The window defaults to the run's data interval, so an hourly DAG exports each hour once: adjacent runs neither
    overlap nor leave a gap, a rerun rewrites the same file with the same content, a backfill exports past hours.
    A run without a data interval (Airflow 3, triggered from the UI or REST without a logical date), or with an
    empty one (Airflow 3 gives a run triggered by hand with a logical date ``[logical date, logical date)``), needs
    ``start`` and ``end``; without them it fails before any request and says what to set. A window that ends
    in the future is refused; one that ended less than 5 s ago is read once those 5 s have passed.

    The destination is checked before any Logto request and written all or nothing, as by
    ``LogtoExportOperator`` (:mod:`airflow_provider_logto.storage.writer`). When an outlet ``Asset`` (``Dataset`` on
    Airflow 2) of the task is the destination or a folder holding it, its asset event's ``extra`` carries
    ``{"start", "end", "count", "possibly_missed", "location"}``.

    Returns ``{"count", "location", "start", "end", "requests", "possibly_missed", "redacted"}``: ``start``/``end``
    in ISO-8601 UTC; ``requests``: HTTP requests sent to Logto's Management API (token requests aside);
    ``possibly_missed``: entries of the window that retention may have deleted while it was read (0 normally);
    ``redacted``: how many values were replaced.

    :param destination: a local path, a URL such as ``s3://bucket/audit/2026-01-01T10.jsonl``, or an
        ``ObjectStoragePath`` (templated).
    :param start: the window's first instant (inclusive): an aware ``datetime`` or an ISO-8601 string with an
        offset (templated). Default: the run's ``data_interval_start``.
    :param end: the window's end (exclusive), like ``start``. Default: the run's ``data_interval_end``.
    :param log_key: export only entries of this exact key, e.g. ``ExchangeTokenBy.ClientCredentials`` (templated).
    :param application_id: only entries of this application (templated).
    :param user_id: only entries of this user (templated).
    :param redact: replace credential values before anything leaves the provider (default True).
    :param max_concurrency: the most page requests in flight at once (1–64, default 8; halved on 429s).
    :param max_requests_per_second: pace requests when the tenant's limit is known (Logto Cloud: about 20).
    :param logto_conn_id: the ``logto`` connection (templated).
    :param destination_conn_id: Airflow connection of the object store of a URL destination (templated).
    """

    template_fields: Sequence[str] = ("destination", "start", "end", "log_key", "application_id", "user_id",
                                      "logto_conn_id", "destination_conn_id")
    ui_color = "#e4e0f7"
    _lineage: tuple[list[tuple[str, str]], list[tuple[str, str]]] = ([], [])  # set by execute

    def __init__(self, *, destination: str | ObjectStoragePath, start: datetime | str | None = None,
                 end: datetime | str | None = None, log_key: str | None = None, application_id: str | None = None,
                 user_id: str | None = None, redact: bool = True, max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
                 max_requests_per_second: float | None = None, logto_conn_id: str = DEFAULT_CONN_ID,
                 destination_conn_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.destination = destination
        self.start = start
        self.end = end
        self.log_key = log_key
        self.application_id = application_id
        self.user_id = user_id
        self.redact = redact
        self.max_concurrency = max_concurrency
        self.max_requests_per_second = max_requests_per_second
        self.logto_conn_id = logto_conn_id
        self.destination_conn_id = destination_conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_logto.audit.reader import AuditLogQuery, read_window
        from airflow_provider_logto.hooks.logto import LogtoHook
        from airflow_provider_logto.operators._lineage import attach_to_outlets, location_dataset, logto_dataset
        from airflow_provider_logto.storage.writer import open_export_writer

        start, end = self._window(context)
        if not isinstance(self.redact, bool):
            raise LogtoUsageError(f"redact must be True or False, not {self.redact!r}")
        query = AuditLogQuery(log_key=_text("log_key", self.log_key),
                              application_id=_text("application_id", self.application_id),
                              user_id=_text("user_id", self.user_id))
        hook = LogtoHook(logto_conn_id=self.logto_conn_id)
        _ = hook.settings  # a broken Logto connection fails here, before the destination is touched
        read = read_window(hook, query, _milliseconds(start), _milliseconds(end),
                           max_concurrency=self.max_concurrency,
                           max_requests_per_second=self.max_requests_per_second, log=self.log)
        self._wait_until_settled(end)
        writer = open_export_writer(self.destination, self.destination_conn_id)  # before any Logto request
        redacted = 0
        try:
            redacted = self._write(read, writer)
            writer.commit()
        except BaseException:
            writer.abort()
            raise
        finally:
            hook.close()
        window = {"start": _iso(start), "end": _iso(end)}
        result = {"count": read.count, "location": writer.location, **window, "requests": read.requests,
                  "possibly_missed": read.possibly_missed, "redacted": redacted}
        self.log.info("Exported %d audit-log entry(ies) of [%s, %s) to %s with %d request(s); %d value(s) redacted, "
                      "%d possibly missed", read.count, window["start"], window["end"], writer.location,
                      read.requests, redacted, read.possibly_missed)
        attach_to_outlets(self, context, {key: result[key] for key in
                                          ("start", "end", "count", "possibly_missed", "location")},
                          holding=writer.location)
        self._lineage = ([logto_dataset(hook.settings.endpoint, "logs")], [location_dataset(writer.location)])
        return result

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """OpenLineage datasets of the finished export: the tenant's audit log (``logto://{host}`` / ``logs``) in,
        the file or object out (called by the OpenLineage provider, when installed)."""
        from airflow_provider_logto.operators._lineage import operator_lineage

        return operator_lineage(*self._lineage)

    def _window(self, context: Context) -> tuple[datetime, datetime]:
        given = (self.start is not None and self.start != "", self.end is not None and self.end != "")
        if given == (True, True):
            start, end = _instant("start", self.start), _instant("end", self.end)
        elif any(given):
            missing = "end" if given[0] else "start"
            raise LogtoUsageError(f"{missing} is not set: give both start and end, or neither (then the run's data "
                                  "interval is the window)")
        else:
            interval = (context.get("data_interval_start"), context.get("data_interval_end"))
            if interval[0] is None or interval[1] is None or interval[0] == interval[1]:
                raise LogtoUsageError("this run has no data interval (it was triggered without a logical date, e.g. "
                                      "from the UI or the REST API) or an empty one (Airflow 3 gives a run "
                                      "triggered with a logical date the interval [logical date, logical date)), so "
                                      f"the window to export is unknown: {NO_WINDOW_HINT}")
            start, end = _instant("data_interval_start", interval[0]), _instant("data_interval_end", interval[1])
        if end <= start:
            raise LogtoUsageError(f"the window [{_iso(start)}, {_iso(end)}) is empty: end must be after start")
        if start < EPOCH:
            raise LogtoUsageError(f"start {_iso(start)} is before 1970; Logto's entries are stamped in epoch ms")
        now = datetime.now(UTC)
        if end > now + timedelta(seconds=1):
            raise LogtoUsageError(f"the window [{_iso(start)}, {_iso(end)}) ends in the future (now is {_iso(now)}): "
                                  "entries written later would be missing from the export and from the next window; "
                                  "export a window once it is over")
        return start, end

    def _wait_until_settled(self, end: datetime) -> None:
        wait = (end + SETTLE - datetime.now(UTC)).total_seconds()
        if wait > 0:
            self.log.info("The window ended %.1f s ago; waiting %.1f s so that its last entries are stored",
                          (SETTLE.total_seconds() - wait), wait)
            time.sleep(wait)

    def _write(self, read: Any, writer: Any) -> int:
        """Every entry of ``read`` as one JSON line (redacted unless ``redact`` is off); how many values were
        redacted."""
        from airflow_provider_logto.audit.redaction import redact_entry

        redacted = 0
        lines: list[str] = []
        for entry in read:
            if self.redact:
                entry, replaced = redact_entry(entry)
                redacted += replaced
            lines.append(json.dumps(entry, ensure_ascii=False, separators=(",", ":")))
            if len(lines) >= LINES_PER_WRITE:
                writer.write(("\n".join(lines) + "\n").encode())
                lines.clear()
        if lines:
            writer.write(("\n".join(lines) + "\n").encode())
        return redacted


def _text(name: str, value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise LogtoUsageError(f"{name} must be a string, not {type(value).__name__}")
    return value


def _instant(name: str, value: Any) -> datetime:
    """``value`` (an aware datetime or an ISO-8601 string with an offset) as an aware datetime."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise LogtoUsageError(f"{name} {value!r} is not an ISO-8601 date and time, e.g. "
                                  "2026-01-01T10:00:00+00:00") from None
    if not isinstance(value, datetime):
        raise LogtoUsageError(f"{name} must be a datetime or an ISO-8601 string, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise LogtoUsageError(f"{name} {value.isoformat()} has no time zone; give one (e.g. +00:00 or Z), so that "
                              "the window means the same instant everywhere")
    return value.astimezone(UTC)


def _milliseconds(value: datetime) -> int:
    return (value - EPOCH) // MILLISECOND


def _iso(value: datetime) -> str:
    return (EPOCH + MILLISECOND * _milliseconds(value)).isoformat(timespec="milliseconds")
