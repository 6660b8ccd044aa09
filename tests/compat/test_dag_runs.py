"""The sensor in poke and in deferred mode through this Airflow line's own ``dag.test()`` (the operators run
through it in tests/dags/, the example DAGs)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_logto.testing import LogtoEmulator, M2MApp
from airflow_provider_logto.testing.dag_runs import (
    add_dags_folder,
    load_dags,
    migrate_database,
    run_dag,
)
from airflow_provider_logto.triggers.management import LogtoManagementApiTrigger

COMPAT_DAGS = Path(__file__).resolve().parent / "dags"


@pytest.fixture(scope="module")
def compat_dags() -> dict[str, Any]:
    add_dags_folder(COMPAT_DAGS)
    migrate_database()
    return load_dags(COMPAT_DAGS)


def test_sensor_pokes_and_defers_inside_a_dag_run(compat_dags: dict[str, Any], emulator: LogtoEmulator,
                                                  management_app: M2MApp, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_LOGTO_DEFAULT", emulator.airflow_connection(management_app))
    emulator.add_user("jane")
    emulator.add_role("viewer", {})
    # each sensor's first look finds nothing yet, so the poke sensor pokes again and the other one defers
    emulator.add_fault("status", "/api/users", method="GET", status=404, count=1)
    emulator.add_fault("status", "/api/roles", method="GET", status=404, count=1)
    trigger_runs: list[str] = []
    original_run = LogtoManagementApiTrigger.run

    async def counted_run(self: LogtoManagementApiTrigger) -> AsyncIterator[Any]:
        trigger_runs.append(self.endpoint)
        async for event in original_run(self):
            yield event

    monkeypatch.setattr(LogtoManagementApiTrigger, "run", counted_run)

    report = run_dag(compat_dags["compat_logto_sensor_modes"])

    assert report.succeeded, f"{report.state} {report.task_states} {report.error}"
    assert trigger_runs == ["/roles"], "only the deferrable sensor hands its wait to the trigger"
    assert [u["username"] for u in report.return_values["poke"]] == ["jane"]
    assert "viewer" in [r["name"] for r in report.return_values["deferred"]]
    for path in ("/api/users", "/api/roles"):
        assert [e.status for e in emulator.journal.entries(method="GET", path=path)] == [404, 200], path
