"""Fixtures for the audit-log tests: a hook on the emulator, and history written into its audit log."""

from __future__ import annotations

import random
from collections.abc import Iterable
from typing import Any

import pytest

from airflow_provider_logto.hooks.logto import LogtoHook
from airflow_provider_logto.testing import LogtoEmulator, M2MApp
from tests.helpers import HookFactory

# a fixed past instant: the emulator's own entries (one per token request, stamped now) stay out of the windows
BASE_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
KEY = "ExchangeTokenBy.ClientCredentials"


def write(emulator: LogtoEmulator, stamps: Iterable[int], key: str = KEY, **fields: Any) -> list[dict[str, Any]]:
    """One entry per stamp (epoch ms); the stored entries."""
    return [emulator.add_log(key, created_at=stamp, **fields) for stamp in stamps]


def expected(entries: Iterable[dict[str, Any]], start: int, end: int) -> list[tuple[int, str]]:
    """What a read of ``[start, end)`` must deliver: (createdAt, id) of each entry in it, sorted."""
    return sorted((entry["createdAt"], entry["id"]) for entry in entries if start <= entry["createdAt"] < end)


def keys(entries: Iterable[dict[str, Any]]) -> list[tuple[int, str]]:
    return [(entry["createdAt"], entry["id"]) for entry in entries]


def log_requests(emulator: LogtoEmulator) -> int:
    return len([entry for entry in emulator.journal.entries(method="GET") if entry.path == "/api/logs"])


@pytest.fixture
def hook(management_app: M2MApp, connect: HookFactory) -> LogtoHook:
    return connect(management_app)


@pytest.fixture
def rng() -> random.Random:
    return random.Random(16)
