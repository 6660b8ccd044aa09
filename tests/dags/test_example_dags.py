"""Each example DAG runs for real inside Airflow (``dag.test()``, real metadata DB) against the emulator."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_logto.testing import LogtoEmulator
from airflow_provider_logto.testing.dag_runs import DagRunReport, run_dag


def _run(example_dags: dict[str, Any], dag_id: str, run_conf: dict | None = None) -> DagRunReport:
    report = run_dag(example_dags[dag_id], run_conf)
    assert report.succeeded, f"{dag_id}: {report.state} {report.task_states} {report.error}"
    return report


def test_the_examples_are_there(example_dags: dict[str, Any]) -> None:
    from airflow_provider_logto.compat import EVENT_DRIVEN_SCHEDULING

    assert set(example_dags) == {"example_logto_list_users", "example_logto_shopping_api",
                                 "example_logto_user_lifecycle", "example_logto_export_users",
                                 "example_logto_export_large_tenant", "example_logto_user_sync",
                                 "example_logto_audit_logs", "example_logto_audit_logs_arrived",
                                 *(["example_logto_failed_token_requests"] if EVENT_DRIVEN_SCHEDULING else [])}


def test_failed_token_requests_is_scheduled_on_a_watched_asset(example_dags: dict[str, Any]) -> None:
    """The DAG is started by the triggerer (tests/deployment/test_events_deployment.py runs it for real)."""
    from airflow_provider_logto.compat import EVENT_DRIVEN_SCHEDULING

    if not EVENT_DRIVEN_SCHEDULING:
        pytest.skip("event-driven scheduling needs Airflow 3; on 2.x the example defines no DAG")
    dag = example_dags["example_logto_failed_token_requests"]
    assets = dag.timetable.asset_condition.objects
    assert [asset.name for asset in assets] == ["logto_failed_token_requests"]
    classpath, kwargs = assets[0].watchers[0].trigger.serialize()
    assert classpath == "airflow_provider_logto.triggers.audit_logs.LogtoAuditLogTrigger"
    assert (kwargs["log_key"], kwargs["result"], kwargs["min_entries"]) == \
        ("ExchangeTokenBy.ClientCredentials", "Error", 3)


def test_list_users(example_dags: dict[str, Any], demo_tenant: LogtoEmulator) -> None:
    report = _run(example_dags, "example_logto_list_users")
    assert [u["username"] for u in report.return_values["list_users"]] == ["user3", "user2", "user1"]
    assert report.return_values["summary"] == "Listed 3 user(s): user3, user2, user1"
    assert demo_tenant.tokens_issued(resource="https://default.logto.app/api") == 1


def test_shopping_api(example_dags: dict[str, Any], demo_tenant: LogtoEmulator) -> None:
    report = _run(example_dags, "example_logto_shopping_api")
    assert report.return_values["add_product"]["name"].startswith("Airflow sticker ")
    assert len(report.return_values["list_products"]) == 3
    assert demo_tenant.tokens_issued(resource="https://shopping.api") == 1  # shared by both tasks
    calls = demo_tenant.journal.entries(server="resource", path="/products")
    assert [(c.method, c.status) for c in calls] == [("POST", 201), ("GET", 200)]


def test_user_lifecycle_with_a_deferred_sensor(example_dags: dict[str, Any], demo_tenant: LogtoEmulator) -> None:
    # dag.test() runs one task at a time, so the member is added before the sensor starts (the delay only
    # matters in a real deployment, see tests/deployment); here the membership is invisible once, so the
    # sensor's first poke defers and the trigger does the waiting
    demo_tenant.add_fault("status", "/api/organizations/*/users", method="GET", status=404, count=1)
    report = _run(example_dags, "example_logto_user_lifecycle", {"member_delay": 0})
    assert report.task_states["wait_for_membership"] == "success"
    assert len(report.return_values["wait_for_membership"]) == 1
    assert report.return_values["user_roles"][0].startswith("airflow-demo-viewer-")
    assert "then deleted user, organization and role" in report.return_values["summary"]
    polls = demo_tenant.journal.entries(method="GET")
    assert [e.status for e in polls if e.path.endswith("/users") and "/organizations/" in e.path] == [404, 200]
    state = demo_tenant.state
    assert [u["username"] for u in state.users.values()] == ["user1", "user2", "user3"]
    assert state.organizations == {}
    assert not any(r["name"].startswith("airflow-demo") for r in state.roles.values())
    assert demo_tenant.tokens_issued() == 1  # eleven tasks, one token


def test_user_lifecycle_cleanup_skips_what_was_never_created(example_dags: dict[str, Any],
                                                              demo_tenant: LogtoEmulator) -> None:
    demo_tenant.add_fault("status", "/api/users", method="POST", status=500, count=100)
    report = run_dag(example_dags["example_logto_user_lifecycle"], {"member_delay": 0})
    assert not report.succeeded
    assert report.task_states["create_user"] == "failed"
    assert report.task_states["delete_user"] == "skipped"
    assert report.task_states["delete_organization"] == "success"
    assert report.task_states["delete_role"] == "success"
    assert demo_tenant.state.organizations == {}
    assert not any(r["name"].startswith("airflow-demo") for r in demo_tenant.state.roles.values())


def test_export_users(example_dags: dict[str, Any], demo_tenant: LogtoEmulator, tmp_path: Path) -> None:
    for number in range(4, 151):
        demo_tenant.add_user(f"user{number}")
    destination = tmp_path / "users.jsonl"
    report = _run(example_dags, "example_logto_export_users", {"destination": str(destination)})
    result = report.return_values["export_users"]
    assert (result["count"], result["location"], result["possibly_missed"]) == (150, str(destination), 0)
    lines = destination.read_text().splitlines()
    assert len(lines) == 150 and len({json.loads(line)["id"] for line in lines}) == 150


def test_a_failing_task_fails_the_run(example_dags: dict[str, Any], demo_tenant: LogtoEmulator,
                                      monkeypatch: Any) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_LOGTO_DEFAULT", json.dumps({"conn_type": "logto", "host": demo_tenant.endpoint,
                                                                "login": "nobody", "password": "wrong-secret"}))
    report = run_dag(example_dags["example_logto_list_users"])
    assert not report.succeeded
    assert report.task_states["list_users"] == "failed"


def test_no_example_needs_a_logical_date() -> None:
    """Runs triggered from the UI, REST (logical_date null) or the CLI have no logical date; the real-deployment
    test triggers them so, this guards the templates cheaply."""
    import re

    from tests.conftest import EXAMPLE_DAGS

    logical_only = re.compile(r"\{\{[^}]*\b(ds|ds_nodash|ts|ts_nodash|ts_nodash_with_tz|logical_date|execution_date|"
                              r"data_interval_start|data_interval_end|prev_ds|next_ds)\b[^}]*\}\}")
    for path in EXAMPLE_DAGS.glob("*.py"):
        # a template may use them only behind a fallback for runs without them (``... is defined and ...``)
        unguarded = [m.group(0) for m in logical_only.finditer(path.read_text()) if "is defined" not in m.group(0)]
        assert unguarded == [], f"{path.name} uses a logical-date-only template variable without a fallback"


def test_audit_logs_export_the_previous_hour_redacted(example_dags: dict[str, Any],
                                                      demo_tenant: LogtoEmulator) -> None:
    report = _run(example_dags, "example_logto_audit_logs")
    result = report.return_values["export_audit_log"]
    path = Path(result["location"].removeprefix("file://"))
    text = path.read_text()
    entries = [json.loads(line) for line in text.splitlines()]
    start, end = (int(datetime.fromisoformat(result[key]).timestamp() * 1000) for key in ("start", "end"))
    assert end - start == 3_600_000 and path.name.startswith("audit-")
    assert result["count"] == len(entries) and result["possibly_missed"] == 0
    assert [(e["createdAt"], e["id"]) for e in entries] == sorted((e["createdAt"], e["id"]) for e in entries)
    assert all(start <= e["createdAt"] < end for e in entries)
    posted = [e for e in entries if "client_secret" in e["payload"].get("params", {})]
    assert result["redacted"] >= len(posted)
    assert "#internal:" not in text and "#internal:" not in json.dumps(report.return_values)  # the demo's secrets
    assert report.return_values["summary"].startswith(f"Exported {len(entries)} audit-log entries of [")
    # scheduled on the export's asset; run by hand (dag.test) no asset event triggered it
    assert _run(example_dags, "example_logto_audit_logs_arrived").return_values["windows_arrived"] == []
