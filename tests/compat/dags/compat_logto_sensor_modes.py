"""The sensor in both modes inside one DAG run: poke (in the worker) and deferred (through the trigger).

Used by tests/compat/test_dag_runs.py on every Airflow line; connection ``logto_default``.
"""

from __future__ import annotations

import pendulum
from airflow.providers.common.compat.sdk import DAG

from airflow_provider_logto.sensors.management import LogtoManagementApiSensor

with DAG(
    dag_id="compat_logto_sensor_modes",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
) as dag:
    LogtoManagementApiSensor(task_id="poke", endpoint="/users", min_count=1,
                             poke_interval=0.2, timeout=60, mode="poke")
    LogtoManagementApiSensor(task_id="deferred", endpoint="/roles", min_count=1,
                             poke_interval=0.2, timeout=60, deferrable=True)
