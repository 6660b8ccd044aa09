"""The deployment token cache: encrypted entries in Airflow Variables, with a claim for single-flight.

The real Airflow Variables are exercised in tests/deployment (a running deployment); here a thread-safe
in-memory Variable store stands in for them to drive the claim protocol with many concurrent fetchers.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from typing import Any

import pytest

from airflow_provider_logto.auth.token_cache.deployment import DeploymentVariableTier
from airflow_provider_logto.auth.token_cache.sealing import Sealer
from airflow_provider_logto.auth.token_cache.shared import key_id
from airflow_provider_logto.auth.token_cache.stored import StoredToken, through_tiers
from airflow_provider_logto.auth.tokens import TOKEN_CACHE
from airflow_provider_logto.testing import LogtoEmulator, M2MApp
from tests.helpers import HookFactory

IDENT = key_id(["https://tenant.example", "app", "secret-hash", "https://default.logto.app/api", ["all"], None])


class MemoryVariables:
    """Variables as the Task SDK offers them (get with a default, set, delete), shared by threads, with a delay
    per call like an Execution API round trip."""

    def __init__(self, latency: float = 0.01) -> None:
        self.values: dict[str, str] = {}
        self.latency = latency
        self._lock = threading.Lock()

    def get(self, key: str, default: Any = None) -> Any:
        time.sleep(self.latency)
        with self._lock:
            return self.values.get(key, default)

    def set(self, key: str, value: Any, description: str | None = None) -> None:
        time.sleep(self.latency)
        with self._lock:
            self.values[key] = value

    def delete(self, key: str) -> None:
        time.sleep(self.latency)
        with self._lock:
            self.values.pop(key, None)


def _tier(variables: MemoryVariables, secret: str = "app-secret") -> DeploymentVariableTier:
    return DeploymentVariableTier(IDENT, Sealer(secret, IDENT), claim_timeout=30, variables=variables)


def test_sixteen_fetchers_on_different_workers_fetch_once() -> None:
    variables = MemoryVariables()
    fetches: list[int] = []

    def fetch() -> StoredToken:
        fetches.append(1)
        time.sleep(0.2)  # a token request
        return StoredToken("the-token", time.time() + 3600, 3600, ("all",))

    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(through_tiers([_tier(variables)], fetch).value))
               for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert results == ["the-token"] * 16
    assert len(fetches) == 1
    entry, = (value for name, value in variables.values.items() if not name.endswith("_claim"))
    assert set(variables.values) == {f"logto_token_cache_{IDENT[:40]}"}  # the claim is released
    assert b"the-token" not in base64.b64decode(entry)


def test_an_entry_sealed_with_another_secret_counts_as_missing(caplog: pytest.LogCaptureFixture) -> None:
    variables = MemoryVariables(latency=0)
    _tier(variables, "old-secret").write(StoredToken("old", time.time() + 60, 60, ("all",)))
    caplog.set_level(logging.WARNING, logger="airflow_provider_logto")
    assert _tier(variables, "new-secret").read() is None
    assert _tier(variables, "old-secret").read() is not None
    assert "unusable" in caplog.text


def test_a_stale_claim_does_not_block(monkeypatch: pytest.MonkeyPatch) -> None:
    variables = MemoryVariables(latency=0)
    tier = _tier(variables)
    variables.set(tier.claim_variable, '{"owner": "crashed", "until": %f}' % (time.time() - 1))
    started = time.monotonic()
    token = through_tiers([tier], lambda: StoredToken("fresh", time.time() + 60, 60, ()))
    assert token.value == "fresh" and time.monotonic() - started < 5


def test_outside_a_task_without_variables_the_hook_still_gets_tokens(
        emulator: LogtoEmulator, management_app: M2MApp, connect: HookFactory,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="airflow_provider_logto")
    for _ in range(2):
        TOKEN_CACHE.clear()
        assert connect(management_app, cache_sharing="deployment").get_access_token()
    # the worker tier in front of the Variables served the second "process"
    assert emulator.tokens_issued() == 1
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "Airflow Variables" in warnings[0], warnings
