"""Shared fixtures. Airflow reads its configuration at import time, so AIRFLOW_HOME is pointed at a throw-away
directory (and the DAGs folder at example_dags/) before anything imports airflow: the tests never touch a
developer's own Airflow."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_logto.testing.dag_runs import configure_airflow

EXAMPLE_DAGS = Path(__file__).resolve().parent.parent / "example_dags"
configure_airflow(Path(tempfile.mkdtemp(prefix="logto-provider-tests-")), EXAMPLE_DAGS)

from airflow_provider_logto.testing import LogtoEmulator, M2MApp  # noqa: E402
from tests.helpers import HookFactory  # noqa: E402


@pytest.fixture
def emulator() -> Iterator[LogtoEmulator]:
    """A fresh emulated Logto tenant on free ports; fails the test if the emulator itself crashed."""
    with LogtoEmulator() as running:
        yield running
    assert running.internal_errors == [], "the emulator raised while serving"


@pytest.fixture(autouse=True)
def fresh_token_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The token caches outlive a hook by design; each test starts without tokens (and its own worker cache)."""
    from airflow_provider_logto.auth.tokens import TOKEN_CACHE

    monkeypatch.setenv("AIRFLOW__LOGTO__TOKEN_CACHE_DIR", str(tmp_path_factory.mktemp("token-cache")))

    TOKEN_CACHE.clear()
    yield
    TOKEN_CACHE.clear()


@pytest.fixture
def management_app(emulator: LogtoEmulator) -> M2MApp:
    return emulator.add_m2m_app("Airflow")


@pytest.fixture
def shop_app(emulator: LogtoEmulator) -> M2MApp:
    emulator.add_role("Shopping service", {"https://shopping.api": ["read:products", "write:products"]})
    return emulator.add_m2m_app("Shop", roles=["Shopping service"])


@pytest.fixture
def connect(emulator: LogtoEmulator, monkeypatch: pytest.MonkeyPatch) -> HookFactory:
    """``connect(app, conn_id=..., **extra)``: a hook on a connection to the emulator (fast retry backoff)."""
    from airflow_provider_logto.hooks.logto import LogtoHook

    def make(app: M2MApp, conn_id: str = "logto_default", **extra: Any) -> LogtoHook:
        extra.setdefault("retry_backoff_ms", 1)
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", emulator.airflow_connection(app, **extra))
        return LogtoHook(conn_id)

    return make
