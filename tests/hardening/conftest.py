"""Fixtures for the hardening tests: hooks on a hostile Logto, or on the emulator with a hostile API."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_logto.hooks.logto import LogtoHook

APP_ID = "hostile-app-id-0001"
APP_SECRET = "hostile-app-secret-that-must-never-leak"

HostileHook = Callable[..., LogtoHook]


@pytest.fixture
def hostile_hook(monkeypatch: pytest.MonkeyPatch) -> HostileHook:
    """``hostile_hook(logto_url, **extra)``: a hook whose Logto endpoint is ``logto_url`` (fast retries)."""

    def make(logto_url: str, conn_id: str = "hostile", **extra: Any) -> LogtoHook:
        extra.setdefault("retry_backoff_ms", 1)
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(
            {"conn_type": "logto", "host": logto_url, "login": APP_ID, "password": APP_SECRET, "extra": extra}))
        return LogtoHook(conn_id)

    return make
