"""Every hour, copy the previous hour of Logto's audit log out of Logto — each entry once, credentials redacted.

Logto Cloud keeps its audit log 3 days (Free) or 14 days (Pro); this DAG keeps it in your own storage.
``LogtoAuditLogExportOperator`` writes the entries of the run's data interval (the hour before the run) to
``<LOGTO_AUDIT_EXPORT_URI>/audit-<window start>.jsonl``, sorted by time, with every credential value (the
``client_secret`` Logto records for ``client_secret_post`` token requests, tokens, passwords) replaced by
``[REDACTED]``. Adjacent hours neither overlap nor leave a gap; a rerun rewrites the same file; a backfill of
last week exports last week.

A run triggered by hand (from the UI, the REST API or ``dag.test()``) has no data interval on Airflow 3, or an
empty one: it exports the hour before the moment it was triggered (``dag_run.run_after``) instead.

The file is the outlet asset's content: ``example_logto_audit_logs_arrived`` is scheduled on that asset and reads
the window and count each export announces (``triggering_asset_events``).

Connection ``logto_default``: an M2M app with the "Logto Management API access" role. Environment (read when
the DAG is parsed, since an asset's URI is fixed): ``LOGTO_AUDIT_EXPORT_URI`` — a folder such as
``s3://security-lake/logto`` or ``file:///data/logto-audit`` (default: ``logto-audit`` in the temp directory),
and ``LOGTO_AUDIT_EXPORT_CONN_ID`` — the object store's Airflow connection (empty for local files).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import pendulum
from airflow.providers.common.compat.sdk import DAG, Asset, task

from airflow_provider_logto.operators.audit_logs import LogtoAuditLogExportOperator

EXPORT_URI = os.environ.get("LOGTO_AUDIT_EXPORT_URI") or f"file://{tempfile.gettempdir()}/logto-audit"
EXPORT_CONN_ID = os.environ.get("LOGTO_AUDIT_EXPORT_CONN_ID") or None
AUDIT_LOG = Asset(EXPORT_URI.rstrip("/"))
# The window: the run's data interval; a run without one (Airflow 3, triggered from the UI or REST without a
# logical date) or with an empty one (Airflow 3 gives a run triggered by hand with a logical date the interval
# [logical date, logical date)) takes the hour before it was triggered. Airflow 2 runs always have an interval.
WINDOW_START = ("(data_interval_start if data_interval_start is defined and data_interval_start and "
                "data_interval_start < data_interval_end else dag_run.run_after - macros.timedelta(hours=1))")
WINDOW_END = ("(data_interval_end if data_interval_start is defined and data_interval_start and "
              "data_interval_start < data_interval_end else dag_run.run_after)")
START = "{{ " + WINDOW_START + ".isoformat() }}"
END = "{{ " + WINDOW_END + ".isoformat() }}"
FILE_NAME = "audit-{{ " + WINDOW_START + ".strftime('%Y-%m-%dT%H%M%S') }}Z.jsonl"  # Airflow's times are UTC

with DAG(
    dag_id="example_logto_audit_logs",
    schedule="@hourly",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=4,
    tags=["logto", "example", "audit"],
    doc_md=__doc__,
) as dag:

    @task
    def prepare_folder() -> None:
        """A local folder must exist before a file is written into it (object stores need no folders)."""
        if EXPORT_URI.startswith("file://"):
            Path(EXPORT_URI.removeprefix("file://")).mkdir(parents=True, exist_ok=True)

    export = LogtoAuditLogExportOperator(
        task_id="export_audit_log",
        destination=f"{EXPORT_URI.rstrip('/')}/{FILE_NAME}",
        destination_conn_id=EXPORT_CONN_ID,
        start=START,
        end=END,
        outlets=[AUDIT_LOG],
    )

    @task
    def summary(result: dict[str, Any]) -> str:
        missed = f", {result['possibly_missed']} possibly missed" if result["possibly_missed"] else ""
        return (f"Exported {result['count']} audit-log entries of [{result['start']}, {result['end']}) to "
                f"{result['location']} ({result['redacted']} value(s) redacted{missed})")

    prepare_folder() >> export
    summary(export.output)


with DAG(
    dag_id="example_logto_audit_logs_arrived",
    schedule=[AUDIT_LOG],
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["logto", "example", "audit"],
    doc_md="Runs when `example_logto_audit_logs` exported an hour: says which windows arrived, with their counts.",
) as arrived_dag:

    @task
    def windows_arrived(**context: Any) -> list[dict[str, Any]]:
        """The window, count and file of each export that triggered this run (Airflow 2 names them datasets)."""
        events = context.get("triggering_asset_events") or context.get("triggering_dataset_events") or {}
        return [dict(event.extra) for asset_events in events.values() for event in asset_events]

    windows_arrived()
