"""What the data-moving operators report about what they moved: the extra of their outlet asset events (read by
the DAGs scheduled on them) and their OpenLineage datasets (built only when the OpenLineage provider is there)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_logto.operators._lineage import location_dataset, logto_dataset
from airflow_provider_logto.operators.export import LogtoExportOperator
from airflow_provider_logto.operators.sync import LogtoUserSyncOperator
from airflow_provider_logto.testing import LogtoEmulator, M2MApp
from tests.helpers import HookFactory

HAS_OPENLINEAGE = importlib.util.find_spec("airflow.providers.openlineage") is not None


def outlet_events() -> Any:
    """Airflow's own accessor of a task's outlet events (``context["outlet_events"]``)."""
    from airflow_provider_logto.compat import AIRFLOW_V_3_0_PLUS

    if AIRFLOW_V_3_0_PLUS:
        from airflow.sdk.execution_time.context import OutletEventAccessors
    else:
        from airflow.utils.context import OutletEventAccessors  # type: ignore[no-redef,attr-defined]
    return OutletEventAccessors()


@pytest.fixture
def default_conn(management_app: M2MApp, connect: HookFactory) -> None:
    connect(management_app)


def test_dataset_names() -> None:
    assert logto_dataset("https://abc123.logto.app", "/users") == ("logto://abc123.logto.app", "users")
    assert logto_dataset("http://127.0.0.1:3001", "/logs?page=1") == ("logto://127.0.0.1:3001", "logs")
    assert location_dataset("s3://lake/logto/users.jsonl") == ("s3://lake", "logto/users.jsonl")
    assert location_dataset("file:///tmp/u.jsonl") == ("file", "/tmp/u.jsonl")
    assert location_dataset("/tmp/u.jsonl") == ("file", "/tmp/u.jsonl")


def test_users_export_puts_its_counts_on_the_outlet_event(emulator: LogtoEmulator, default_conn: None,
                                                          tmp_path: Path) -> None:
    from airflow.providers.common.compat.sdk import Asset

    for number in range(5):
        emulator.add_user(f"user{number}")
    asset = Asset("file:///lake/logto-users.jsonl")
    operator = LogtoExportOperator(task_id="export", destination=str(tmp_path / "users.jsonl"), outlets=[asset])
    events = outlet_events()
    result = operator.execute({"outlet_events": events})
    extra = dict(events[asset].extra)
    assert extra == {"count": 5, "location": str(tmp_path / "users.jsonl"), "endpoint": "/users",
                     "possibly_missed": 0, "requests": result["requests"]}
    inputs, outputs = operator._lineage
    assert inputs == [logto_dataset(emulator.endpoint, "users")]
    assert outputs == [("file", str(tmp_path / "users.jsonl"))]


def test_user_sync_puts_its_counts_on_the_outlet_event(emulator: LogtoEmulator, default_conn: None,
                                                      tmp_path: Path) -> None:
    from airflow.providers.common.compat.sdk import Asset

    source = tmp_path / "hr.jsonl"
    source.write_text('{"primaryEmail": "ada@example.com", "customData": {"externalId": "e1"}}\n')
    asset = Asset("logto_users")
    operator = LogtoUserSyncOperator(task_id="sync", source=str(source), outlets=[asset])
    events = outlet_events()
    operator.execute({"outlet_events": events})
    assert dict(events[asset].extra) == {"created": 1, "updated": 0, "unchanged": 0, "suspended": 0, "deleted": 0,
                                         "failed_total": 0, "dry_run": False, "source": str(source)}
    assert operator._lineage == ([("file", str(source))], [logto_dataset(emulator.endpoint, "users")])


@pytest.mark.skipif(not HAS_OPENLINEAGE, reason="apache-airflow-providers-openlineage is not installed")
def test_openlineage_sees_the_logto_collection_and_the_file(emulator: LogtoEmulator, default_conn: None,
                                                           tmp_path: Path) -> None:
    operator = LogtoExportOperator(task_id="export", destination=str(tmp_path / "users.jsonl"))
    operator.execute({})
    lineage = operator.get_openlineage_facets_on_complete(None)
    assert [(d.namespace, d.name) for d in lineage.inputs] == [logto_dataset(emulator.endpoint, "users")]
    assert [(d.namespace, d.name) for d in lineage.outputs] == [("file", str(tmp_path / "users.jsonl"))]


@pytest.mark.skipif(HAS_OPENLINEAGE, reason="checks the behaviour without the OpenLineage provider")
def test_without_openlineage_nothing_imports_it(emulator: LogtoEmulator, default_conn: None, tmp_path: Path) -> None:
    import sys

    LogtoExportOperator(task_id="export", destination=str(tmp_path / "users.jsonl")).execute({})
    assert "airflow.providers.openlineage" not in sys.modules


def test_audit_log_export_reports_the_audit_log_and_the_file(emulator: LogtoEmulator, default_conn: None,
                                                             tmp_path: Path) -> None:
    from airflow_provider_logto.operators.audit_logs import LogtoAuditLogExportOperator

    emulator.add_log("Interaction.Create", created_at=1_767_225_600_000)
    operator = LogtoAuditLogExportOperator(task_id="audit", destination=str(tmp_path / "audit.jsonl"),
                                           start="2026-01-01T00:00:00+00:00", end="2026-01-01T01:00:00+00:00")
    assert operator.execute({})["count"] == 1
    assert operator._lineage == ([logto_dataset(emulator.endpoint, "logs")], [("file", str(tmp_path / "audit.jsonl"))])
    if HAS_OPENLINEAGE:
        lineage = operator.get_openlineage_facets_on_complete(None)
        assert [(d.namespace, d.name) for d in lineage.inputs] == [logto_dataset(emulator.endpoint, "logs")]
