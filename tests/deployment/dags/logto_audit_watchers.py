"""Five asset watchers reading the same Logto audit-log entries (same connection, log key and poll interval) with
different thresholds: five triggers, which Airflow 3.3's triggerer runs on one shared poll
(LogtoAuditLogTrigger.shared_stream_key). Each asset schedules a DAG of its own, so every watcher is active."""

from __future__ import annotations

import pendulum
from airflow.providers.common.compat.sdk import DAG, Asset, task
from airflow.sdk import AssetWatcher

from airflow_provider_logto.triggers.audit_logs import LogtoAuditLogTrigger

for number in range(1, 6):
    asset = Asset(f"logto_token_successes_{number}", watchers=[AssetWatcher(
        name=f"logto_token_successes_{number}",
        trigger=LogtoAuditLogTrigger(log_key="ExchangeTokenBy.ClientCredentials", result="Success",
                                     min_entries=number, poll_interval=5))])
    with DAG(dag_id=f"logto_audit_watch_{number}", schedule=[asset],
             start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False, tags=["logto", "test"]):

        @task
        def received(triggering_asset_events: dict | None = None) -> int:
            return sum(event.extra["payload"]["count"] for events in (triggering_asset_events or {}).values()
                       for event in events)

        received()
