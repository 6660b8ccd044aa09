"""The operators against the emulator: arguments, validation before any HTTP call, XCom values."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_provider_logto.exceptions import LogtoError, LogtoUnsafeUrlError, LogtoUsageError
from airflow_provider_logto.operators.export import LogtoExportOperator
from airflow_provider_logto.operators.management import LogtoManagementApiOperator
from airflow_provider_logto.operators.resource import LogtoResourceApiOperator
from airflow_provider_logto.testing import LogtoEmulator, M2MApp
from tests.helpers import HookFactory


@pytest.fixture
def default_conn(management_app: M2MApp, connect: HookFactory) -> None:
    connect(management_app)


@pytest.fixture
def shop_conn(shop_app: M2MApp, connect: HookFactory) -> None:
    connect(shop_app, resource="https://shopping.api", scopes="read:products write:products")


# --- LogtoManagementApiOperator ---------------------------------------------------------------------------------
def test_management_get_with_query(emulator: LogtoEmulator, default_conn: None) -> None:
    emulator.add_user("jane", primary_email="jane@example.com")
    emulator.add_user("joe", primary_email="joe@other.org")
    operator = LogtoManagementApiOperator(task_id="t", endpoint="/users",
                                          query_params={"search.primaryEmail": "%@example.com"})
    result = operator.execute({})
    assert [u["username"] for u in result] == ["jane"]
    json.dumps(result)


def test_management_paginate_and_filter(emulator: LogtoEmulator, default_conn: None) -> None:
    for number in range(130):
        emulator.add_user(f"user{number}")
    operator = LogtoManagementApiOperator(task_id="t", endpoint="/users", paginate=True,
                                          response_filter=lambda users: len(users))
    assert operator.execute({}) == 130
    assert len(emulator.journal.entries(path="/api/users")) == 2  # 2 pages; no recount: no consistency report


def test_application_secrets_do_not_reach_xcom(emulator: LogtoEmulator, management_app: M2MApp,
                                               default_conn: None) -> None:
    apps = LogtoManagementApiOperator(task_id="t", endpoint="/applications").execute({})
    assert apps[0]["secret"] == "***" and management_app.secret not in json.dumps(apps)
    raw = LogtoManagementApiOperator(task_id="t", endpoint="/applications", redact_secrets=False).execute({})
    assert raw[0]["secret"] == management_app.secret


def test_management_write(emulator: LogtoEmulator, default_conn: None) -> None:
    operator = LogtoManagementApiOperator(task_id="t", method="post", endpoint="/api/organizations",
                                          json={"name": "Acme"})
    assert operator.execute({})["name"] == "Acme"


def test_response_filter_receives_context(emulator: LogtoEmulator, default_conn: None) -> None:
    operator = LogtoManagementApiOperator(task_id="t", endpoint="/users",
                                          response_filter=lambda users, run_id: f"{run_id}:{len(users)}")
    assert operator.execute({"run_id": "r1"}) == "r1:0"


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"method": "FETCH"}, LogtoUsageError, "method 'FETCH'"),
    ({"endpoint": "https://evil.example/api/users"}, LogtoUnsafeUrlError, "points outside"),
    ({"method": "POST", "paginate": True}, LogtoUsageError, "paginate=True needs method GET"),
    ({"response_filter": "not callable"}, LogtoUsageError, "response_filter must be a callable"),
    ({"paginate": True, "page_size": 500}, LogtoUsageError, "page_size"),
])
def test_management_bad_input_fails_before_http(emulator: LogtoEmulator, default_conn: None, kwargs: dict,
                                                error: type[Exception], message: str) -> None:
    operator = LogtoManagementApiOperator(task_id="t", **{"endpoint": "/users", **kwargs})
    with pytest.raises(error, match=message):
        operator.execute({})
    assert emulator.journal.entries() == []


def test_non_serialisable_filter_result_is_refused(emulator: LogtoEmulator, default_conn: None) -> None:
    operator = LogtoManagementApiOperator(task_id="t", endpoint="/users", response_filter=lambda users: object())
    with pytest.raises(LogtoUsageError, match="not JSON-serialisable"):
        operator.execute({})


def test_template_fields_cover_conn_id_and_inputs() -> None:
    assert {"logto_conn_id", "endpoint", "query_params", "json", "method"} <= set(
        LogtoManagementApiOperator.template_fields)
    assert {"logto_conn_id", "endpoint", "query_params", "json", "resource", "scopes", "headers"} <= set(
        LogtoResourceApiOperator.template_fields)
    assert {"logto_conn_id", "endpoint", "query_params", "destination", "destination_conn_id"} <= set(
        LogtoExportOperator.template_fields)


def test_init_only_stores_arguments(emulator: LogtoEmulator) -> None:
    LogtoManagementApiOperator(task_id="t", endpoint="https://evil.example", method="NOPE", paginate=True,
                               logto_conn_id="does_not_exist")
    LogtoResourceApiOperator(task_id="r", endpoint="/x", logto_conn_id="does_not_exist")
    LogtoExportOperator(task_id="e", destination="", logto_conn_id="does_not_exist")
    assert emulator.journal.entries() == []


# --- LogtoResourceApiOperator -----------------------------------------------------------------------------------
def test_resource_operator_reads_and_writes(emulator: LogtoEmulator, shop_conn: None) -> None:
    created = LogtoResourceApiOperator(task_id="p", method="POST", endpoint="/products",
                                       json={"name": "Mug", "price": 9}).execute({})
    assert created["name"] == "Mug"
    products = LogtoResourceApiOperator(task_id="g", endpoint="/products",
                                        response_filter=lambda items: [p["name"] for p in items]).execute({})
    assert "Mug" in products
    (token,) = emulator.journal.entries(path="/oidc/token")
    assert b"scope=read%3Aproducts+write%3Aproducts" in token.body


def test_resource_operator_explicit_resource_and_scopes(emulator: LogtoEmulator, shop_app: M2MApp,
                                                        connect: HookFactory) -> None:
    connect(shop_app)  # no default resource on the connection
    result = LogtoResourceApiOperator(task_id="g", endpoint="/products", resource="https://shopping.api",
                                      scopes=["read:products"]).execute({})
    assert len(result) == 2


def test_resource_operator_missing_resource(emulator: LogtoEmulator, shop_app: M2MApp,
                                            connect: HookFactory) -> None:
    connect(shop_app)
    with pytest.raises(LogtoUsageError, match="no API resource"):
        LogtoResourceApiOperator(task_id="g", endpoint="/products").execute({})
    assert emulator.journal.entries() == []


def test_resource_operator_response_check(emulator: LogtoEmulator, shop_conn: None) -> None:
    operator = LogtoResourceApiOperator(task_id="g", endpoint="/products", response_check=lambda items: False)
    with pytest.raises(LogtoError, match="response_check rejected"):
        operator.execute({})


def test_resource_operator_refuses_foreign_hosts(emulator: LogtoEmulator, shop_conn: None) -> None:
    with pytest.raises(LogtoUnsafeUrlError):
        LogtoResourceApiOperator(task_id="g", endpoint="//evil.example/products").execute({})
    assert emulator.journal.entries() == []


# --- LogtoExportOperator ----------------------------------------------------------------------------------------
def test_export_to_a_local_path(emulator: LogtoEmulator, default_conn: None, tmp_path: Path) -> None:
    for number in range(205):
        emulator.add_user(f"user{number}", primary_email=f"user{number}@example.com")
    target = tmp_path / "users.jsonl"
    result = LogtoExportOperator(task_id="x", destination=str(target)).execute({})
    assert (result["count"], result["location"], result["possibly_missed"]) == (205, str(target), 0)
    lines = target.read_text().splitlines()
    assert len(lines) == 205 and json.loads(lines[0])["username"] == "user204"
    assert not (tmp_path / "users.jsonl.part").exists()


def test_export_with_search_to_an_object_storage_url(emulator: LogtoEmulator, default_conn: None,
                                                     tmp_path: Path) -> None:
    emulator.add_user("jane", primary_email="jane@example.com")
    emulator.add_user("joe", primary_email="joe@other.org")
    target = f"file://{tmp_path}/found.jsonl"
    result = LogtoExportOperator(task_id="x", destination=target,
                                 query_params={"search.primaryEmail": "%@example.com"}).execute({})
    assert result["count"] == 1 and result["location"].endswith("found.jsonl")
    assert json.loads((tmp_path / "found.jsonl").read_text())["username"] == "jane"


def test_export_failure_leaves_no_partial_file(emulator: LogtoEmulator, management_app: M2MApp,
                                               connect: HookFactory, tmp_path: Path) -> None:
    connect(management_app, max_attempts=1)
    for number in range(150):
        emulator.add_user(f"user{number}")
    emulator.add_fault("status", "/api/users", status=503, count=None)
    target = tmp_path / "users.jsonl"
    target.write_text("previous export\n")
    with pytest.raises(LogtoError):
        LogtoExportOperator(task_id="x", destination=str(target)).execute({})
    assert target.read_text() == "previous export\n"
    assert list(tmp_path.iterdir()) == [target]


@pytest.mark.parametrize("destination", ["{tmp}/missing-dir/users.jsonl", "{tmp}", ""])
def test_export_target_that_cannot_be_written(emulator: LogtoEmulator, default_conn: None, tmp_path: Path,
                                              destination: str) -> None:
    with pytest.raises(LogtoUsageError):
        LogtoExportOperator(task_id="x", destination=destination.format(tmp=tmp_path)).execute({})
    assert emulator.journal.entries() == []


# --- import cost ------------------------------------------------------------------------------------------------
def test_importing_operator_modules_stays_cheap() -> None:
    """DAG parsing imports these modules: they may load Airflow's base classes, not the HTTP/token stack."""
    code = ("import sys\n"
            "from airflow.providers.common.compat.sdk import BaseOperator, BaseSensorOperator\n"
            "import airflow.triggers.base\n"
            "before = set(sys.modules)\n"
            "import airflow_provider_logto.operators.management, airflow_provider_logto.operators.resource\n"
            "import airflow_provider_logto.operators.export, airflow_provider_logto.sensors.management\n"
            "import airflow_provider_logto.triggers.management, airflow_provider_logto.operators.sync\n"
            "import airflow_provider_logto.operators.audit_logs, airflow_provider_logto.triggers.audit_logs\n"
            "added = set(sys.modules) - before\n"
            "print(sorted(m for m in added if not m.startswith('airflow_provider_logto')))\n"
            "print(sorted(m for m in ('requests', 'urllib3', 'airflow_provider_logto.hooks.logto',"
            " 'airflow_provider_logto.auth.tokens', 'jwt') if m in added))\n")
    lines = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True
                           ).stdout.strip().splitlines()
    assert lines[-2] == "[]", f"operator modules import third-party modules: {lines[-2]}"
    assert lines[-1] == "[]", f"operator modules import the HTTP stack: {lines[-1]}"
