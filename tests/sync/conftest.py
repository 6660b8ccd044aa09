from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_logto.testing import LogtoEmulator
from tests.dags.conftest import demo_tenant, example_dags  # noqa: F401 - the example-DAG fixtures, reused

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
Sync = Callable[..., dict[str, Any]]


@pytest.fixture
def tenant(emulator: LogtoEmulator, monkeypatch: pytest.MonkeyPatch) -> LogtoEmulator:
    """The emulator with a Management API app as ``logto_default`` (fast retries), two User roles and an
    organization named "Acme"."""
    app = emulator.add_m2m_app("Airflow")
    monkeypatch.setenv("AIRFLOW_CONN_LOGTO_DEFAULT", emulator.airflow_connection(app, retry_backoff_ms=1))
    emulator.add_role("employee", role_type="User")
    emulator.add_role("manager", role_type="User")
    emulator.add_organization("Acme")
    return emulator


@pytest.fixture
def sync() -> Sync:
    """``sync(source, **options)``: run ``LogtoUserSyncOperator.execute`` as a task would and return its result."""
    from airflow_provider_logto.operators.sync import LogtoUserSyncOperator

    def run(source: Any, **options: Any) -> dict[str, Any]:
        result = LogtoUserSyncOperator(task_id="sync_users", source=source, **options).execute({})
        json.dumps(result)  # what XCom stores
        return result

    return run


def writes(emulator: LogtoEmulator) -> list[tuple[str, str, int]]:
    """Every Management API write the emulator saw: (method, path, status)."""
    return [(e.method, e.path, e.status) for e in emulator.journal.entries(server="logto")
            if e.method in WRITE_METHODS and e.path.startswith("/api/")]


def employees(count: int, *, start: int = 0, **extra: Any) -> list[dict[str, Any]]:
    return [{"customData": {"externalId": f"E{n:05d}", "team": "data"}, "primaryEmail": f"user{n}@example.com",
             "name": f"User {n}", **extra} for n in range(start, start + count)]


def state_users(emulator: LogtoEmulator) -> list[dict[str, Any]]:
    return list(emulator.state.users.values())
