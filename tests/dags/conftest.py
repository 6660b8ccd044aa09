from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider_logto.testing import LogtoEmulator
from airflow_provider_logto.testing.dag_runs import load_dags, migrate_database
from airflow_provider_logto.testing.seed import seed_demo
from tests.conftest import EXAMPLE_DAGS


@pytest.fixture(scope="session")
def example_dags() -> dict[str, Any]:
    """``airflow db migrate`` once for the session's throw-away AIRFLOW_HOME, then the example DAGs."""
    migrate_database()
    return load_dags(EXAMPLE_DAGS)


@pytest.fixture
def demo_tenant(emulator: LogtoEmulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[LogtoEmulator]:
    """The emulator seeded exactly as ``make demo`` seeds it, with AIRFLOW_CONN_LOGTO_DEFAULT pointing at it."""
    for name, value in seed_demo(emulator, users=3).items():
        monkeypatch.setenv(name, value)
    return emulator
