"""Local folders versus executors that run tasks on many machines: which executors count, the immediate error
that names the fix, and the export operator's warning about a file left on one worker's disk."""

from __future__ import annotations

import pytest

from airflow_provider_logto.exceptions import LogtoUsageError
from airflow_provider_logto.operators.export import LogtoExportOperator
from airflow_provider_logto.storage.locality import executors_beyond_one_machine, is_local, require_shared_location
from airflow_provider_logto.testing import LogtoEmulator
from tests.export.conftest import add_users


@pytest.mark.parametrize(("configured", "elsewhere"), [
    ("LocalExecutor", []),
    ("airflow.executors.local_executor.LocalExecutor", []),
    ("SequentialExecutor", []),
    ("CeleryExecutor", ["CeleryExecutor"]),
    ("LocalExecutor,fast:airflow.providers.celery.executors.celery_executor.CeleryExecutor", ["CeleryExecutor"]),
    ("KubernetesExecutor", ["KubernetesExecutor"]),
    ("airflow.providers.edge3.executors.EdgeExecutor", ["EdgeExecutor"]),  # any executor not known to be local
])
def test_executors_that_may_run_a_task_elsewhere(monkeypatch: pytest.MonkeyPatch, configured: str,
                                                 elsewhere: list[str]) -> None:
    monkeypatch.delenv("AIRFLOW_IS_K8S_EXECUTOR_POD", raising=False)
    monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", configured)
    assert executors_beyond_one_machine() == elsewhere


def test_a_kubernetes_executor_pod_counts_whatever_its_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", "LocalExecutor")  # what the pod's own configuration may say
    monkeypatch.setenv("AIRFLOW_IS_K8S_EXECUTOR_POD", "True")
    assert executors_beyond_one_machine() == ["KubernetesExecutor"]


@pytest.mark.parametrize(("location", "local"), [
    ("/data/export", True), ("relative/dir", True), ("file:///data/x", True), ("FILE:///data/x", True),
    ("s3://bucket/prefix", False), ("gs://bucket/x", False),
])
def test_what_is_a_local_location(location: str, local: bool) -> None:
    assert is_local(location) is local


def test_a_local_folder_fails_at_once_on_celery_naming_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW_IS_K8S_EXECUTOR_POD", raising=False)
    monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", "CeleryExecutor")
    with pytest.raises(LogtoUsageError, match=r"params.folder /tmp/parts is on this worker's disk, but this "
                                              r"deployment runs tasks with CeleryExecutor.*Use s3://"):
        require_shared_location("/tmp/parts", "params.folder", "Use s3://bucket/prefix.")
    require_shared_location("s3://bucket/parts", "params.folder", "unused")  # object storage: fine
    monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", "LocalExecutor")
    require_shared_location("/tmp/parts", "params.folder", "unused")  # one machine: fine


@pytest.mark.parametrize(("executor", "warned"), [("CeleryExecutor", True), ("LocalExecutor", False)])
def test_a_local_export_on_many_machines_says_where_the_file_is(
        emulator: LogtoEmulator, default_conn: None, monkeypatch: pytest.MonkeyPatch, tmp_path: object,
        capfd: pytest.CaptureFixture[str], executor: str, warned: bool) -> None:
    monkeypatch.delenv("AIRFLOW_IS_K8S_EXECUTOR_POD", raising=False)
    monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", executor)
    add_users(emulator, 3)
    result = LogtoExportOperator(task_id="x", destination=f"{tmp_path}/users.jsonl").execute({})
    assert result["count"] == 3  # a warning, not an error: a folder mounted on every worker is fine
    output = capfd.readouterr()  # the operator's logger writes through Airflow's structlog setup
    warnings = [line for line in (output.out + output.err).splitlines() if "on the disk of" in line]
    assert len(warnings) == int(warned), warnings
    if warned:
        assert "CeleryExecutor" in warnings[0] and "object storage" in warnings[0]
