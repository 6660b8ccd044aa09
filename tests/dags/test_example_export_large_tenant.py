"""The large-tenant export example: mapped page ranges (at most four at once, no pool to create), joined without
repeats, parts removed; a local folder fails at once when tasks may run on other machines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_logto.testing import LogtoEmulator
from airflow_provider_logto.testing.dag_runs import run_dag


def test_export_large_tenant_in_mapped_ranges(example_dags: dict[str, Any], demo_tenant: LogtoEmulator,
                                              tmp_path: Path) -> None:
    for number in range(4, 1051):
        demo_tenant.add_user(f"user{number}")
    report = run_dag(example_dags["example_logto_export_large_tenant"],
                     {"folder": str(tmp_path / "export"), "pages_per_task": 3})
    assert report.succeeded, f"{report.state} {report.task_states} {report.error}"
    result = report.return_values["join"]
    assert (result["count"], result["parts"], result["possibly_missed"]) == (1050, 4, 0)
    lines = (tmp_path / "export" / "users.jsonl").read_text().splitlines()
    ids = [json.loads(line)["id"] for line in lines]
    assert ids == [user["id"] for user in demo_tenant.state.users_newest_first()]
    assert sorted(path.name for path in (tmp_path / "export").iterdir()) == ["users.jsonl"]
    ranges = sorted((int(e.query["page"][0])) for e in demo_tenant.journal.entries(path="/api/users"))
    assert ranges.count(5) == 1  # each page read once (page 1: plan, first range and the join's recount)


@pytest.mark.full_suite_only  # names CeleryExecutor in the configuration: the newest line installs its provider
def test_a_local_folder_on_many_machines_fails_before_any_request(example_dags: dict[str, Any],
                                                                  demo_tenant: LogtoEmulator, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", "CeleryExecutor")  # tasks may run on other workers
    report = run_dag(example_dags["example_logto_export_large_tenant"], {"folder": str(tmp_path / "export")})
    assert report.task_states["baseline"] == "failed" and not report.succeeded, report.task_states
    assert demo_tenant.journal.entries(path="/api/users") == []  # failed at once: not one Logto request
    assert not (tmp_path / "export").exists()
    # a folder every worker mounts is the user's to declare
    report = run_dag(example_dags["example_logto_export_large_tenant"],
                     {"folder": str(tmp_path / "export"), "mounted_on_every_worker": True})
    assert report.succeeded, f"{report.state} {report.task_states} {report.error}"
