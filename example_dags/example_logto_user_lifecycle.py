"""User lifecycle — create a user, give it a role, add it to an organization after a pause while a deferrable
sensor waits for the membership, then clean up whatever was created.

Connection ``logto_default``: an M2M app with the "Logto Management API access" role. The run creates (and
deletes again) a role, a user and an organization whose names start with ``airflow-demo``, suffixed with the
run's ``run_after`` time, which every run has however it was triggered (UI, REST, CLI, schedule).

The member is added on a parallel branch after ``member_delay`` seconds, so the sensor's first check finds
nobody and the task defers to the triggerer, which keeps polling until the member appears. The cleanup tasks
run whatever happened before them and skip what was never created.
"""

from __future__ import annotations

import time

import pendulum
from airflow.providers.common.compat.sdk import DAG, Param, get_current_context, task

from airflow_provider_logto.operators.management import LogtoManagementApiOperator
from airflow_provider_logto.sensors.management import LogtoManagementApiSensor

# When the run was due or triggered: every Airflow 3 run has run_after (one triggered from the UI or REST may
# have no logical date); Airflow 2 has no run_after, but every run there has a logical date.
RUN_TIME = "(dag_run.run_after if dag_run.run_after is defined else dag_run.logical_date)"
SUFFIX = "{{ " + RUN_TIME + ".strftime('%Y%m%d%H%M%S%f') }}"
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
    params={"member_delay": Param(15, type="integer", minimum=0,
                                  description="seconds before the member is added (the sensor waits meanwhile)")},
) as dag:
    create_role = LogtoManagementApiOperator(
        task_id="create_role", method="POST", endpoint="/roles",
        json={"name": f"airflow-demo-viewer-{SUFFIX}", "description": "Created by an Airflow example",
              "type": "User"})
    create_user = LogtoManagementApiOperator(
        task_id="create_user", method="POST", endpoint="/users",
        json={"username": f"airflow_demo_{SUFFIX}", "name": "Airflow Demo",
              "customData": {"source": "airflow", "run_id": "{{ run_id }}"}})
    assign_role = LogtoManagementApiOperator(
        task_id="assign_role", method="POST", endpoint=f"/users/{USER}/roles", json={"roleIds": [ROLE]})
    create_organization = LogtoManagementApiOperator(
        task_id="create_organization", method="POST", endpoint="/organizations",
        json={"name": f"airflow-demo-org-{SUFFIX}"})

    @task
    def add_member(user: dict, organization: dict, params: dict | None = None) -> None:
        """Add the user to the organization after a pause, while the sensor is already waiting."""
        from airflow_provider_logto.hooks.logto import LogtoHook

        time.sleep(int((params or {}).get("member_delay", 0)))
        LogtoHook().management_request("POST", f"/organizations/{organization['id']}/users",
                                       json={"userIds": [user["id"]]})

    wait_for_membership = LogtoManagementApiSensor(
        task_id="wait_for_membership", endpoint=f"/organizations/{ORGANIZATION}/users", min_count=1,
        deferrable=True, poke_interval=2, timeout=300)
    user_roles = LogtoManagementApiOperator(
        task_id="user_roles", endpoint=f"/users/{USER}/roles",
        response_filter=lambda roles: [role["name"] for role in roles])

    @task
    def summary(user: dict, roles: list[str], members: list[dict]) -> str:
        return (f"Created user {user['username']} with role(s) {', '.join(roles)}, saw {len(members)} member(s) "
                "in the new organization, then deleted user, organization and role")

    def delete_created(creator: str, collection: str) -> None:
        """Delete what ``creator`` created; skip when it created nothing (it failed or never ran)."""
        from airflow.providers.common.compat.sdk import AirflowSkipException

        from airflow_provider_logto.hooks.logto import LogtoHook

        created = get_current_context()["ti"].xcom_pull(task_ids=creator)
        if not created:
            raise AirflowSkipException(f"{creator} created nothing, so there is nothing to delete")
        LogtoHook().management_request("DELETE", f"/{collection}/{created['id']}")

    cleanup = [
        task(task_id=f"delete_{name}", trigger_rule="all_done")(delete_created)(creator, collection)
        for name, creator, collection in (("user", "create_user", "users"),
                                          ("organization", "create_organization", "organizations"),
                                          ("role", "create_role", "roles"))
    ]

    [create_role, create_user] >> assign_role
    # the sensor starts once the role is assigned, while add_member is still pausing: its first check defers
    [assign_role, create_organization] >> wait_for_membership
    member_added = add_member(create_user.output, create_organization.output)
    [assign_role, wait_for_membership] >> user_roles
    report = summary(create_user.output, user_roles.output, wait_for_membership.output)
    report >> cleanup
    member_added >> cleanup
