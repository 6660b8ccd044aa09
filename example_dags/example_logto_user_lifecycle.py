"""User lifecycle — create a user, give it a role, add it to an organization, wait for the membership with a
deferrable sensor, then clean up whatever happened.

Connection ``logto_default``: an M2M app with the "Logto Management API access" role. The run creates (and
deletes again) a role, a user and an organization whose names start with ``airflow-demo``.
"""

from __future__ import annotations

import pendulum
from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_logto.operators.management import LogtoManagementApiOperator
from airflow_provider_logto.sensors.management import LogtoManagementApiSensor

USER = "{{ ti.xcom_pull(task_ids='create_user')['id'] }}"
ROLE = "{{ ti.xcom_pull(task_ids='create_role')['id'] }}"
ORGANIZATION = "{{ ti.xcom_pull(task_ids='create_organization')['id'] }}"

with DAG(
    dag_id="example_logto_user_lifecycle",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["logto", "example"],
    doc_md=__doc__,
) as dag:
    create_role = LogtoManagementApiOperator(
        task_id="create_role", method="POST", endpoint="/roles",
        json={"name": "airflow-demo-viewer-{{ ts_nodash }}", "description": "Created by an Airflow example",
              "type": "User"})
    create_user = LogtoManagementApiOperator(
        task_id="create_user", method="POST", endpoint="/users",
        json={"username": "airflow_demo_{{ ts_nodash }}", "name": "Airflow Demo",
              "customData": {"source": "airflow", "run_id": "{{ run_id }}"}})
    assign_role = LogtoManagementApiOperator(
        task_id="assign_role", method="POST", endpoint=f"/users/{USER}/roles", json={"roleIds": [ROLE]})
    create_organization = LogtoManagementApiOperator(
        task_id="create_organization", method="POST", endpoint="/organizations",
        json={"name": "airflow-demo-org-{{ ts_nodash }}"})
    add_member = LogtoManagementApiOperator(
        task_id="add_member", method="POST", endpoint=f"/organizations/{ORGANIZATION}/users",
        json={"userIds": [USER]})
    wait_for_membership = LogtoManagementApiSensor(
        task_id="wait_for_membership", endpoint=f"/organizations/{ORGANIZATION}/users", min_count=1,
        deferrable=True, poke_interval=1, timeout=120)
    user_roles = LogtoManagementApiOperator(
        task_id="user_roles", endpoint=f"/users/{USER}/roles",
        response_filter=lambda roles: [role["name"] for role in roles])

    cleanup = [
        LogtoManagementApiOperator(task_id=f"delete_{name}", method="DELETE", endpoint=endpoint,
                                   trigger_rule="all_done")
        for name, endpoint in (("user", f"/users/{USER}"), ("organization", f"/organizations/{ORGANIZATION}"),
                               ("role", f"/roles/{ROLE}"))
    ]

    @task
    def summary(user: dict, roles: list[str], members: list[dict]) -> str:
        return (f"Created user {user['username']} with role(s) {', '.join(roles)}, saw {len(members)} member(s) "
                "in the new organization, then deleted user, organization and role")

    [create_role, create_user] >> assign_role
    [create_user, create_organization] >> add_member >> wait_for_membership
    [assign_role, wait_for_membership] >> user_roles
    report = summary(create_user.output, user_roles.output, wait_for_membership.output)
    report >> cleanup
