"""Nightly provisioning: keep Logto's users in step with the HR system's export.

The HR system drops a JSON Lines file per night into object storage
(``<export_base>/users-YYYY-MM-DD.jsonl``, one employee per line)::

    {"customData": {"employeeId": "E1001", "department": "Data"}, "primaryEmail": "ada@example.com",
     "name": "Ada Lovelace", "roles": ["employee"], "organizations": ["Acme"]}

``LogtoUserSyncOperator`` creates new employees, updates changed ones (profile, merged custom data, roles,
membership of the "Acme" organization) and suspends the ones that left — only users this sync created or
adopted (``customData.airflowUserSync == "hr-nightly"``), and never more than 25 of them in one night (a
truncated export aborts the run before any write). Running it twice writes nothing the second time.

The file name comes from ``dag_run.run_after`` (when the run was due, or triggered), so the DAG works however it
is started: on schedule, by hand, or by ``dag.test()``. For the demo, ``stage_sample_export`` writes a sample
file when the night's export is missing, and ``ensure_roles_and_organization`` creates the User roles and the
organization the export names when the tenant lacks them (both do nothing on a tenant that has them).

Connection ``logto_default``: an M2M app with the "Logto Management API access" role. Params: ``export_base``
(an object storage URL such as ``s3://hr-exports/logto`` or ``file:///data/hr``) and ``export_conn_id`` (the
object store's Airflow connection, empty for local files). A local ``export_base`` works when every task runs on
one machine (LocalExecutor); with CeleryExecutor or KubernetesExecutor the staged file and the sync may land on
different workers, so ``stage_sample_export`` fails at once unless ``export_base`` is object storage or
``mounted_on_every_worker`` says the folder is a shared mount.
"""

from __future__ import annotations

import tempfile
from typing import Any

import pendulum
from airflow.providers.common.compat.sdk import DAG, Param, task

from airflow_provider_logto.operators.sync import LogtoUserSyncOperator

ROLES = {"employee": "Everyone on the HR payroll", "manager": "People managers"}
ORGANIZATION = "Acme"
# When the run was due or triggered: every Airflow 3 run has run_after (one triggered from the UI or REST may
# have no logical date); Airflow 2 has no run_after, but every run there has a logical date.
RUN_TIME = "(dag_run.run_after if dag_run.run_after is defined else dag_run.logical_date)"
EXPORT = "{{ params.export_base.rstrip('/') }}/users-{{ " + RUN_TIME + ".strftime('%Y-%m-%d') }}.jsonl"
SAMPLE = [
    {"customData": {"employeeId": "E1001", "department": "Data"}, "primaryEmail": "ada@example.com",
     "name": "Ada Lovelace", "roles": ["employee", "manager"], "organizations": [ORGANIZATION]},
    {"customData": {"employeeId": "E1002", "department": "Platform"}, "primaryEmail": "alan@example.com",
     "name": "Alan Turing", "roles": ["employee"], "organizations": [ORGANIZATION]},
    {"customData": {"employeeId": "E1003", "department": "Data"}, "primaryEmail": "grace@example.com",
     "username": "grace", "name": "Grace Hopper", "roles": ["employee"], "organizations": [ORGANIZATION]},
]

with DAG(
    dag_id="example_logto_user_sync",
    schedule="0 2 * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,  # two syncs of one tenant at once would race each other
    tags=["logto", "example"],
    doc_md=__doc__,
    params={
        "export_base": Param(f"file://{tempfile.gettempdir()}/logto-hr-exports", type="string",
                             description="object storage folder the HR system exports to"),
        "export_conn_id": Param("", type="string", description="Airflow connection of that object store"),
        "mounted_on_every_worker": Param(False, type="boolean",
                                         description="a local export_base that every worker mounts"),
    },
) as dag:

    @task
    def stage_sample_export(export: str, conn_id: str, params: dict[str, Any]) -> str:
        """Demo only: write a sample export when tonight's is missing (a real HR system writes it). First: the
        sync task must be able to read what is staged here, wherever it runs."""
        import json

        from airflow.providers.common.compat.sdk import ObjectStoragePath

        from airflow_provider_logto.storage.locality import require_shared_location

        if not params["mounted_on_every_worker"]:
            require_shared_location(export, "params.export_base", (
                "Give params.export_base object storage every worker reaches (s3://bucket/prefix, with "
                "params.export_conn_id), or set params.mounted_on_every_worker to true if the folder is a mount "
                "that every worker shares."))

        path = ObjectStoragePath(export, conn_id=conn_id or None)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("".join(json.dumps(row) + "\n" for row in SAMPLE))
        return str(path)

    @task
    def ensure_roles_and_organization() -> None:
        """Create the User roles and the organization the export names, when missing (idempotent)."""
        from airflow_provider_logto.hooks.logto import LogtoHook

        hook = LogtoHook()
        existing = {role["name"] for role in hook.management_paginate("/roles", params={"type": "User"})}
        for name, description in ROLES.items():
            if name not in existing:
                hook.management_request("POST", "/roles", json={"name": name, "description": description,
                                                                "type": "User"})
        if not any(org["name"] == ORGANIZATION for org in hook.management_paginate("/organizations")):
            hook.management_request("POST", "/organizations", json={"name": ORGANIZATION})

    sync = LogtoUserSyncOperator(
        task_id="sync_users",
        source=EXPORT,
        source_conn_id="{{ params.export_conn_id }}",
        match_on="customData.employeeId",
        on_absent="suspend",
        max_removals=25,  # leavers per night; a truncated export aborts before any write
        sync_id="hr-nightly",
        retries=3,  # a retry after a partial run applies only what is still missing
        retry_delay=pendulum.duration(seconds=30),
    )

    @task
    def summary(result: dict[str, Any]) -> str:
        return (f"Synced the HR export: {result['created']} created, {result['updated']} updated, "
                f"{result['unchanged']} unchanged, {result['suspended']} suspended, {len(result['failed'])} failed")

    staged = stage_sample_export(EXPORT, "{{ params.export_conn_id }}")
    [staged, ensure_roles_and_organization()] >> sync
    summary(sync.output)
