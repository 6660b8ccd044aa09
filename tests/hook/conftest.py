from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from airflow_provider_logto.hooks.logto import LogtoHook
from airflow_provider_logto.testing import LogtoEmulator, M2MApp
from airflow_provider_logto.tokens import TOKEN_CACHE

HookFactory = Callable[..., LogtoHook]


@pytest.fixture(autouse=True)
def fresh_token_cache() -> Iterator[None]:
    """The cache is process-wide by design; each test starts without tokens."""
    TOKEN_CACHE.clear()
    yield
    TOKEN_CACHE.clear()


def set_connection(monkeypatch: pytest.MonkeyPatch, conn_id: str, **fields: Any) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": "logto", **fields}))


@pytest.fixture
def connect(emulator: LogtoEmulator, monkeypatch: pytest.MonkeyPatch) -> HookFactory:
    """``connect(app, conn_id=..., **extra)``: a hook on a connection to the emulator (fast retry backoff)."""

    def make(app: M2MApp, conn_id: str = "logto_default", **extra: Any) -> LogtoHook:
        extra.setdefault("retry_backoff_ms", 1)
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", emulator.airflow_connection(app, **extra))
        return LogtoHook(conn_id)

    return make


@pytest.fixture
def management_app(emulator: LogtoEmulator) -> M2MApp:
    return emulator.add_m2m_app("Airflow")


@pytest.fixture
def shop_app(emulator: LogtoEmulator) -> M2MApp:
    emulator.add_role("Shopping service", {"https://shopping.api": ["read:products", "write:products"]})
    return emulator.add_m2m_app("Shop", roles=["Shopping service"])


def token_requests(emulator: LogtoEmulator) -> int:
    return len(emulator.journal.entries(path="/oidc/token"))
