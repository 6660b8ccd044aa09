"""Fixtures for the export tests: a tenant with users, and a connection with a fast retry backoff."""

from __future__ import annotations

import pytest

from airflow_provider_logto.hooks.logto import LogtoHook
from airflow_provider_logto.testing import LogtoEmulator, M2MApp
from tests.helpers import HookFactory


def add_users(emulator: LogtoEmulator, count: int, prefix: str = "user") -> list[str]:
    """``count`` users; their ids, oldest first."""
    return [emulator.add_user(f"{prefix}{number}", primary_email=f"{prefix}{number}@example.com")["id"]
            for number in range(count)]


@pytest.fixture
def hook(management_app: M2MApp, connect: HookFactory) -> LogtoHook:
    return connect(management_app)


@pytest.fixture
def default_conn(management_app: M2MApp, connect: HookFactory) -> None:
    """``logto_default`` points at the emulator (what the operators use by default)."""
    connect(management_app)
