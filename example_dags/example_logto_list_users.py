"""Seed case 1 — a Management API token, then list users.

Connection ``logto_default`` (conn type ``logto``): host = your Logto endpoint, login/password = an M2M app that
holds the "Logto Management API access" role. The hook requests a token for the tenant's Management API
(``https://<tenant>.logto.app/api``, ``https://default.logto.app/api`` when self-hosted) with scope ``all``.
"""

from __future__ import annotations

import pendulum
from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_logto.operators.management import LogtoManagementApiOperator

with DAG(
    dag_id="example_logto_list_users",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["logto", "example"],
    doc_md=__doc__,
) as dag:
    list_users = LogtoManagementApiOperator(
        task_id="list_users",
        endpoint="/users",
        paginate=True,  # every page, 100 users per request
        response_filter=lambda users: [{"id": u["id"], "username": u["username"],
                                        "email": u["primaryEmail"]} for u in users],
    )

    @task
    def summary(users: list[dict]) -> str:
        names = ", ".join(u["username"] or u["email"] or u["id"] for u in users[:5])
        more = f" and {len(users) - 5} more" if len(users) > 5 else ""
        return f"Listed {len(users)} user(s): {names}{more}"

    summary(list_users.output)
