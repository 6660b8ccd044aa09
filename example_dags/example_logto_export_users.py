"""Export every user to JSON Lines, streaming page by page (memory holds one page, whatever the user count).

Connection ``logto_default``: an M2M app with the "Logto Management API access" role. The ``destination`` param
is a local path or an object-storage URL (``s3://…``, ``gs://…``, ``file://…``); set ``destination_conn_id`` on
the operator for the object store's credentials.
"""

from __future__ import annotations

import tempfile

import pendulum
from airflow.providers.common.compat.sdk import DAG, Param, task

from airflow_provider_logto.operators.export import LogtoExportOperator

with DAG(
    dag_id="example_logto_export_users",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["logto", "example"],
    doc_md=__doc__,
    params={"destination": Param(f"{tempfile.gettempdir()}/logto-users.jsonl", type="string",
                                 description="where to write the JSON Lines file")},
) as dag:
    export = LogtoExportOperator(task_id="export_users", destination="{{ params.destination }}")

    @task
    def summary(result: dict) -> str:
        return f"Exported {result['count']} user(s) to {result['location']}"

    summary(export.output)
