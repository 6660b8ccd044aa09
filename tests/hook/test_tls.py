"""TLS verification is on by default, a CA bundle path is honoured, and certificate errors are not retried."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from airflow_provider_logto.exceptions import LogtoTransportError
from airflow_provider_logto.hooks.logto import LogtoHook
from airflow_provider_logto.testing import LogtoEmulator


@pytest.fixture
def tls_emulator() -> Iterator[LogtoEmulator]:
    with LogtoEmulator(tls=True) as running:
        yield running


def _hook(tls_emulator: LogtoEmulator, monkeypatch: pytest.MonkeyPatch, **extra: object) -> LogtoHook:
    app = tls_emulator.add_m2m_app(f"tls-{len(tls_emulator.state.applications)}")
    monkeypatch.setenv("AIRFLOW_CONN_LOGTO_TLS", tls_emulator.airflow_connection(app, **extra))
    return LogtoHook("logto_tls")


def test_an_untrusted_certificate_is_refused_by_default(tls_emulator: LogtoEmulator,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    assert tls_emulator.endpoint.startswith("https://")
    hook = _hook(tls_emulator, monkeypatch)
    with caplog.at_level(logging.INFO), pytest.raises(LogtoTransportError, match="SSLError") as raised:
        hook.get_access_token()
    assert "after 1 attempt" in str(raised.value)  # a certificate problem is not retried
    assert "retrying" not in caplog.text
    assert tls_emulator.journal.entries() == []


def test_a_ca_bundle_path_is_honoured(tls_emulator: LogtoEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    hook = _hook(tls_emulator, monkeypatch, verify=tls_emulator.ca_bundle)
    assert hook.management_request("GET", "/users") == []
    assert [e.path for e in tls_emulator.journal.entries()] == ["/oidc/token", "/api/users"]


def test_verification_can_be_turned_off_explicitly(tls_emulator: LogtoEmulator,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    hook = _hook(tls_emulator, monkeypatch, verify=False)
    assert hook.management_request("GET", "/users") == []
