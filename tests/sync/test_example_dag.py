"""The nightly-sync example runs inside Airflow (``dag.test()``, a real metadata DB) against the emulator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from airflow_provider_logto.testing import LogtoEmulator
from airflow_provider_logto.testing.dag_runs import run_dag
from tests.sync.conftest import writes


def test_nightly_sync_creates_then_converges(example_dags: dict[str, Any], demo_tenant: LogtoEmulator,
                                             tmp_path: Path) -> None:
    conf = {"export_base": f"file://{tmp_path}"}
    report = run_dag(example_dags["example_logto_user_sync"], conf)
    assert report.succeeded, f"{report.state} {report.task_states} {report.error}"
    result = report.return_values["sync_users"]
    assert (result["created"], result["updated"], result["failed"]) == (3, 0, [])
    assert report.return_values["summary"].startswith("Synced the HR export: 3 created")
    exports = list(tmp_path.glob("users-*.jsonl"))
    assert len(exports) == 1  # named after dag_run.run_after, whatever triggered the run
    state = demo_tenant.state
    ada = next(u for u in state.users.values() if u["primaryEmail"] == "ada@example.com")
    assert ada["customData"] == {"employeeId": "E1001", "department": "Data", "airflowUserSync": "hr-nightly"}
    assert sorted(state.roles[r]["name"] for r in state.user_roles[ada["id"]]) == ["employee", "manager"]
    acme = next(o for o in state.organizations.values() if o["name"] == "Acme")
    assert len(state.org_users[acme["id"]]) == 3

    # the next night: Alan left, Grace changed department; the first three users of the seed are not managed
    rows = [json.loads(line) for line in exports[0].read_text().splitlines()]
    rows = [row for row in rows if row["name"] != "Alan Turing"]
    rows[1]["customData"]["department"] = "Platform"
    exports[0].write_text("".join(json.dumps(row) + "\n" for row in rows))
    demo_tenant.journal.clear()
    report = run_dag(example_dags["example_logto_user_sync"], conf)
    assert report.succeeded, f"{report.state} {report.task_states} {report.error}"
    result = report.return_values["sync_users"]
    assert (result["created"], result["updated"], result["unchanged"], result["suspended"]) == (0, 1, 1, 1)
    assert [(m, s) for m, _, s in writes(demo_tenant)] == [("PATCH", 200), ("PATCH", 200)]
    alan = next(u for u in state.users.values() if u["primaryEmail"] == "alan@example.com")
    assert alan["isSuspended"] is True
    assert not any(u["isSuspended"] for u in state.users.values() if u["username"] in ("user1", "user2", "user3"))
