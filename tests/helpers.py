"""Helpers shared by the test packages."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from airflow_provider_logto.testing import LogtoEmulator

if TYPE_CHECKING:
    from airflow_provider_logto.hooks.logto import LogtoHook

HookFactory = Callable[..., "LogtoHook"]


def set_connection(monkeypatch: pytest.MonkeyPatch, conn_id: str, **fields: Any) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": "logto", **fields}))


def token_requests(emulator: LogtoEmulator) -> int:
    return len(emulator.journal.entries(path="/oidc/token"))
