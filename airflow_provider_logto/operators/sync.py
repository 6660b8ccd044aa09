"""``LogtoUserSyncOperator``: keep Logto's users in step with a source of truth (HR, CRM, a warehouse table)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowFailException, BaseOperator

from airflow_provider_logto.connection.form import DEFAULT_CONN_ID
from airflow_provider_logto.exceptions import LogtoError, LogtoUsageError

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_logto.sync.planner import Plan

DEFAULT_MATCH_ON = "customData.externalId"
MAX_FAILURES_REPORTED = 1000


class LogtoSyncAbortedError(LogtoError, AirflowFailException):
    """The plan removes more users than ``max_removals`` allows: nothing was written, and retrying would not help
    (the task fails without retries)."""


class LogtoSyncError(LogtoError):
    """Some writes failed; the task fails so that Airflow retries it, and the retry converges."""


class LogtoUserSyncOperator(BaseOperator):
    """Create, update and suspend/delete Logto users so that they match ``source`` — a plan, then its application.

    The source is read and validated (invalid rows are reported with their line and never applied), Logto's
    users are read once, compared, the plan is logged, checked against ``max_removals``, and applied with at
    most ``max_concurrency`` concurrent writes. Running it twice makes no write the second time; a retry after a
    partial run converges; a create whose answer was lost is looked up by key before anything is created again.

    Users the sync creates or adopts carry ``customData.airflowUserSync = sync_id``; only those are ever suspended
    or deleted for being absent from the source, and a user carrying another ``sync_id`` is never touched.

    :param source: the rows: a list of dicts (e.g. an ``XComArg``), or a JSON Lines / CSV file as a local path, an
        object storage URL (``s3://…``, ``file://…``) or an ``ObjectStoragePath`` (templated). Row fields:
        ``username``, ``primaryEmail``, ``primaryPhone``, ``name``, ``avatar``, ``customData`` (merged),
        ``roles`` (User role names: the complete set), ``organizations`` (names or ids: the complete set among
        the organizations the source names) and ``isSuspended``.
    :param match_on: the key: ``"primaryEmail"``, ``"username"`` or ``"customData.<key>"`` — an external id in
        custom data, ``customData.externalId`` by default (templated).
    :param on_absent: what happens to managed users absent from the source: ``"ignore"`` (default),
        ``"suspend"`` or ``"delete"`` (templated).
    :param dry_run: plan and report, write nothing; the result holds the counts and the first ``preview_limit``
        changes.
    :param max_removals: the most users a run may suspend or delete — a count (``int``) or a share of the users
        this sync manages (``float`` from 0 to 1; default 0.1). Beyond it the task fails before any write: an
        empty or truncated source must not suspend half the tenant. ``None`` disables the check.
    :param sync_id: the mark of this sync's users; give each sync of a tenant its own (templated).
    :param max_concurrency: the most concurrent requests (1–64), reads and writes; it halves on 429 (honouring
        ``Retry-After``) and grows back slowly (:class:`~airflow_provider_logto.listing.concurrency.AdaptiveLimiter`).
    :param max_requests_per_second: pace requests for a tenant whose rate limit is known (Logto Cloud: about
        20); None (default): only the concurrency bound.
    :param preview_limit: how many changes a dry run returns (and every run logs).
    :param fail_on_write_errors: fail the task when a write failed (default), so that Airflow retries it; the
        summary is logged either way.
    :param source_conn_id: Airflow connection of the object store for a URL source (templated).
    :param source_format: ``"jsonl"`` or ``"csv"``; default from the file name (``.csv`` → CSV).
    :param logto_conn_id: the ``logto`` connection (templated).

    Each ``Asset`` in ``outlets`` gets an event whose ``extra`` holds the counts (``created``, ``updated``,
    ``unchanged``, ``suspended``, ``deleted``, ``failed_total``), ``dry_run`` and the ``source``; with the
    OpenLineage provider installed, lineage shows the source file or object as input and the Logto tenant's
    ``users`` (``logto://{host}``) as output.
    """

    template_fields: Sequence[str] = ("logto_conn_id", "source", "match_on", "on_absent", "sync_id",
                                      "source_conn_id")
    ui_color = "#e4e0f7"
    # The public name; it shadows BaseOperator.dry_run(), a method Airflow 3 never calls.
    dry_run: bool  # type: ignore[assignment]
    _lineage: tuple[list[tuple[str, str]], list[tuple[str, str]]] = ([], [])  # set by execute

    def __init__(self, *, source: Any, match_on: str = DEFAULT_MATCH_ON, on_absent: str = "ignore",
                 dry_run: bool = False, max_removals: float | None = 0.1, sync_id: str = "airflow",
                 max_concurrency: int = 8, max_requests_per_second: float | None = None,
                 preview_limit: int = 20, fail_on_write_errors: bool = True,
                 source_conn_id: str | None = None, source_format: str | None = None,
                 logto_conn_id: str = DEFAULT_CONN_ID, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.source = source
        self.match_on = match_on
        self.on_absent = on_absent
        self.dry_run = dry_run
        self.max_removals = max_removals
        self.sync_id = sync_id
        self.max_concurrency = max_concurrency
        self.max_requests_per_second = max_requests_per_second
        self.preview_limit = preview_limit
        self.fail_on_write_errors = fail_on_write_errors
        self.source_conn_id = source_conn_id
        self.source_format = source_format
        self.logto_conn_id = logto_conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_logto.hooks.logto import LogtoHook
        from airflow_provider_logto.operators._lineage import location_dataset, logto_dataset
        from airflow_provider_logto.sync.applier import Applier, now_ms
        from airflow_provider_logto.sync.index import SourceIndex
        from airflow_provider_logto.sync.planner import build_plan, concurrent_reader
        from airflow_provider_logto.sync.rows import MatchOn
        from airflow_provider_logto.sync.runner import JobPool, LimitedWriter
        from airflow_provider_logto.sync.source import SyncSource

        match = MatchOn.parse(self.match_on)
        self._check_arguments()
        source = SyncSource(self.source, conn_id=self.source_conn_id or None, source_format=self.source_format)
        hook = LogtoHook(logto_conn_id=self.logto_conn_id)
        hook.settings  # noqa: B018 - the connection is read and checked before any HTTP call
        self._lineage = ([location_dataset(source.location)] if source.location else [],
                         [logto_dataset(hook.settings.endpoint, "users")])

        started_ms = now_ms()
        index = SourceIndex.build(source, match, self.sync_id)
        self.log.info("Source: %s — %d row(s), %d key(s), %d invalid row(s)", source.description, index.rows,
                      len(index), len(index.problems))
        reader = concurrent_reader(hook, self.max_concurrency, self.max_requests_per_second)
        plan = build_plan(reader, index, match, self.sync_id, self.on_absent)
        self._log_plan(plan)
        refusal = self._removal_refusal(plan)
        if self.dry_run:
            return self._report(context, source.location, self._dry_run_summary(plan, refusal))
        if refusal:
            raise LogtoSyncAbortedError(refusal)

        writer = LimitedWriter(lambda: LogtoHook(logto_conn_id=self.logto_conn_id), self.max_concurrency,
                               self.max_requests_per_second)
        try:
            applier = Applier(hook, writer, plan, match, self.sync_id, JobPool(self.max_concurrency), started_ms)
            counts, write_failures = applier.apply(source)
        finally:
            writer.close()
        failed = [*_problems(index), *write_failures]
        summary = {"created": counts.created, "updated": counts.updated, "unchanged": counts.unchanged,
                   "suspended": counts.suspended, "deleted": counts.deleted,
                   "failed": failed[:MAX_FAILURES_REPORTED], "failed_total": len(failed), "dry_run": False}
        self.log.info("Logto user sync done in %.1f s: %d created, %d updated, %d unchanged, %d suspended, "
                      "%d deleted, %d failed (%d invalid row(s), %d write failure(s))",
                      (now_ms() - started_ms) / 1000, counts.created, counts.updated, counts.unchanged,
                      counts.suspended, counts.deleted, len(failed), len(index.problems), len(write_failures))
        for failure in failed[:self.preview_limit]:
            self.log.warning("  failed %s: %s", failure["key"], failure["reason"])
        if write_failures and self.fail_on_write_errors:
            raise LogtoSyncError(f"{len(write_failures)} write(s) failed (first: {write_failures[0]['key']}: "
                                 f"{write_failures[0]['reason']}); what succeeded stays, and a retry of this task "
                                 "applies only what is still missing")
        return self._report(context, source.location, summary)

    def _report(self, context: Context, source: str | None, summary: dict[str, Any]) -> dict[str, Any]:
        """Put the counts on the outlet asset events; returns ``summary``."""
        from airflow_provider_logto.operators._lineage import attach_to_outlets

        attach_to_outlets(self, context, {
            **{name: summary[name] for name in ("created", "updated", "unchanged", "suspended", "deleted",
                                                "failed_total", "dry_run")},
            "source": source or "inline rows"})
        return summary

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """OpenLineage datasets of the finished sync (called by the OpenLineage provider, when installed)."""
        from airflow_provider_logto.operators._lineage import operator_lineage

        return operator_lineage(*self._lineage)

    def _check_arguments(self) -> None:
        from airflow_provider_logto.listing.concurrency import check_concurrency_arguments
        from airflow_provider_logto.sync.planner import ON_ABSENT

        if self.on_absent not in ON_ABSENT:
            raise LogtoUsageError(f"on_absent must be one of {', '.join(ON_ABSENT)}, not {self.on_absent!r}")
        if not isinstance(self.dry_run, bool):
            raise LogtoUsageError(f"dry_run must be True or False, not {self.dry_run!r}")
        removals = self.max_removals
        if not (removals is None or (isinstance(removals, int) and not isinstance(removals, bool) and removals >= 0)
                or (isinstance(removals, float) and 0 <= removals <= 1)):
            raise LogtoUsageError(f"max_removals must be a count (int >= 0), a share of the managed users (float "
                                  f"from 0 to 1) or None, not {removals!r}")
        if not isinstance(self.sync_id, str) or not self.sync_id.strip():
            raise LogtoUsageError("sync_id must be a non-empty string: it marks the users this sync manages")
        check_concurrency_arguments(self.max_concurrency, self.max_requests_per_second)
        preview = self.preview_limit
        if isinstance(preview, bool) or not isinstance(preview, int) or not 0 <= preview <= MAX_FAILURES_REPORTED:
            raise LogtoUsageError(f"preview_limit must be a whole number from 0 to {MAX_FAILURES_REPORTED}, not "
                                  f"{preview!r}")
        if not isinstance(self.fail_on_write_errors, bool):
            raise LogtoUsageError(f"fail_on_write_errors must be True or False, not {self.fail_on_write_errors!r}")

    def _removal_refusal(self, plan: Plan) -> str | None:
        """Why the plan's removals exceed ``max_removals`` (None when they do not)."""
        removals, limit = len(plan.removals), self.max_removals
        if limit is None or not removals:
            return None
        allowed = limit if isinstance(limit, int) else math.floor(limit * plan.managed)
        if removals <= allowed:
            return None
        return (f"The plan would {plan.on_absent} {removals} of the {plan.managed} user(s) this sync manages, more "
                f"than max_removals={limit!r} allows ({allowed}); nothing was written. The source looks truncated "
                f"or empty ({plan.index.rows} row(s)): check it, or raise max_removals if these removals are "
                "intended.")

    def _log_plan(self, plan: Plan) -> None:
        counts = plan.counts()
        self.log.info("Plan: %d to create, %d to update, %d unchanged, %d to suspend, %d to delete, %d invalid "
                      "row(s)%s", counts["create"], counts["update"], counts["unchanged"], counts["suspend"],
                      counts["delete"], counts["invalid"], " (dry run: nothing is written)" if self.dry_run else "")
        for change in plan.preview(min(self.preview_limit, 20)):
            parts = f" ({', '.join(change['changes'])})" if change.get("changes") else ""
            self.log.info("  %s %s%s", change["action"], change["key"], parts)

    def _dry_run_summary(self, plan: Plan, refusal: str | None) -> dict[str, Any]:
        counts = plan.counts()
        failed = _problems(plan.index)
        return {"created": counts["create"], "updated": counts["update"], "unchanged": counts["unchanged"],
                "suspended": counts["suspend"], "deleted": counts["delete"],
                "failed": failed[:MAX_FAILURES_REPORTED], "failed_total": len(failed), "dry_run": True,
                "changes": plan.preview(self.preview_limit), "aborted": refusal}


def _problems(index: Any) -> list[dict[str, Any]]:
    return [{"key": problem.key, "reason": str(problem)}
            for problem in sorted(index.problems, key=lambda problem: problem.line)]


