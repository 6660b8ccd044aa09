"""Twenty tasks at once, each in a process of its own, each calling the Management API with a token.

With the worker token cache the twenty processes share one token. ``separate_cache_dir`` gives every task a
fresh, empty cache directory (as a fresh container would have), so only ``cache_sharing=deployment`` (Airflow
Variables) can share the token then.
"""

from __future__ import annotations

import os
import tempfile

import pendulum
from airflow.sdk import DAG, Param, task

TASKS = 20

with DAG(
    dag_id="logto_parallel_tokens",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_tasks=TASKS,
    tags=["logto", "test"],
    params={"conn_id": Param("logto_default", type="string"),
            "separate_cache_dir": Param(False, type="boolean")},
) as dag:

    @task
    def call_logto(index: int, params: dict | None = None) -> int:
        from airflow_provider_logto.hooks.logto import LogtoHook

        settings = params or {}
        if settings.get("separate_cache_dir"):
            os.environ["AIRFLOW__LOGTO__TOKEN_CACHE_DIR"] = tempfile.mkdtemp(prefix="logto-fresh-container-")
        LogtoHook(settings.get("conn_id", "logto_default")).management_get("/users", params={"page_size": 1})
        return index

    for number in range(TASKS):
        call_logto.override(task_id=f"call_{number:02d}")(number)
