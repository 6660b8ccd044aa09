"""Start a DAG when machine-to-machine apps fail to get tokens — a leaked, rotated or expired app secret.

No schedule, no sensor: the DAG is scheduled on an asset that :class:`LogtoAuditLogTrigger` watches from the
triggerer. The trigger reads Logto's audit log every ``poll_interval`` seconds and fires once ``min_entries`` new
failed ``client_credentials`` token requests arrived; the DAG run's task reads the (redacted) entries from
``triggering_asset_events`` and reports which apps and client IPs failed.

Needs Airflow 3 (event-driven scheduling) and a running triggerer; on Airflow 2 this file defines no DAG.
Connection ``logto_default``: an M2M app with the "Logto Management API access" role (it reads ``/api/logs``).
"""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.providers.common.compat.sdk import DAG, Asset, task

from airflow_provider_logto.compat import EVENT_DRIVEN_SCHEDULING

if EVENT_DRIVEN_SCHEDULING:
    from airflow.sdk import AssetWatcher

    from airflow_provider_logto.triggers.audit_logs import LogtoAuditLogTrigger

    failed_token_requests = Asset(
        "logto_failed_token_requests",
        watchers=[AssetWatcher(
            name="logto_failed_client_credentials",
            trigger=LogtoAuditLogTrigger(log_key="ExchangeTokenBy.ClientCredentials", result="Error",
                                         min_entries=3, poll_interval=5),
        )],
    )

    with DAG(
        dag_id="example_logto_failed_token_requests",
        schedule=[failed_token_requests],
        start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
        catchup=False,
        tags=["logto", "example", "security"],
        doc_md=__doc__,
    ) as dag:

        @task
        def report_failed_apps(triggering_asset_events: Any = None) -> dict[str, Any]:
            """Which apps and IPs failed, summed over every trigger event behind this run."""
            apps: dict[str, int] = {}
            ips: dict[str, int] = {}
            failures = 0
            for events in (triggering_asset_events or {}).values():
                for event in events:
                    payload = (event.extra or {}).get("payload") or {}
                    failures += payload.get("count", 0)
                    for name, into in (("applications", apps), ("ips", ips)):
                        for key, count in (payload.get(name) or {}).items():
                            into[key] = into.get(key, 0) + count
            print(f"{failures} failed token request(s); by app: {apps}; by client IP: {ips}")
            return {"failures": failures, "applications": apps, "ips": ips}

        report_failed_apps()
