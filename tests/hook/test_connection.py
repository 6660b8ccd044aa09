"""The ``logto`` connection: validation with clear messages, tenant derivation, and the connection form."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from airflow_provider_logto.connection.form import CONN_FIELDS
from airflow_provider_logto.connection.settings import LogtoSettings
from airflow_provider_logto.exceptions import LogtoConnectionError
from airflow_provider_logto.hooks.logto import LogtoHook
from airflow_provider_logto.testing import LogtoEmulator, M2MApp
from tests.helpers import HookFactory, set_connection, token_requests

GOOD = {"host": "https://acme.logto.app", "login": "app-id", "password": "app-secret-value"}


def _settings(monkeypatch: pytest.MonkeyPatch, extra: dict[str, Any] | None = None, **fields: Any) -> LogtoSettings:
    set_connection(monkeypatch, "logto_check", **{**GOOD, **fields}, extra=extra or {})
    return LogtoHook("logto_check").settings


@pytest.mark.parametrize(("fields", "extra", "message"), [
    ({"host": None}, {}, "host (Logto endpoint) is empty"),
    ({"host": "acme.logto.app"}, {}, "has no scheme"),
    ({"host": "ftp://acme.logto.app"}, {}, "needs a scheme and a host"),
    ({"login": None}, {}, "login (App ID) is empty"),
    ({"password": None}, {}, "password (App secret) is empty"),
    ({}, {"client_auth": "private_key_jwt"}, "client_auth 'private_key_jwt' is not supported"),
    ({}, {"timeout": "soon"}, "timeout must be a number"),
    ({}, {"timeout": 0}, "timeout must be a positive number"),
    ({}, {"max_attempts": 1.5}, "max_attempts must be a positive whole number"),
    ({"host": "http://logto.internal.example"}, {}, "plain http:// to a non-local host"),
    ({}, {"api_base_url": "http://api.example.com"}, "api_base_url 'http://api.example.com' uses plain http://"),
    ({}, {"api_base_url": "api.example.com"}, "api_base_url 'api.example.com' needs a scheme"),
    ({}, {"verify": "/no/such/ca.pem"}, "neither true/false nor an existing CA bundle"),
    ({}, {"allow_insecure_http": "maybe"}, "allow_insecure_http must be true or false"),
    ({}, {"tenant_id": "other"}, "contradicts the host"),
    ({}, {"resource": "shopping.api"}, "not an absolute URI"),
    ({}, {"scopes": 42}, "space-separated string or a list"),
])
def test_bad_connections_fail_with_one_clear_message(monkeypatch: pytest.MonkeyPatch, fields: dict, extra: dict,
                                                     message: str) -> None:
    with pytest.raises(LogtoConnectionError, match="logto_check") as raised:
        _settings(monkeypatch, extra, **fields)
    assert message in str(raised.value)
    assert "app-secret-value" not in str(raised.value)


def test_plain_http_is_allowed_to_loopback_or_with_opt_in(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _settings(monkeypatch, host="http://localhost:3001").endpoint == "http://localhost:3001"
    assert _settings(monkeypatch, host="http://127.0.0.1:3001/").endpoint == "http://127.0.0.1:3001"
    opted = _settings(monkeypatch, {"allow_insecure_http": True}, host="http://logto.internal:3001")
    assert opted.endpoint == "http://logto.internal:3001"


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _settings(monkeypatch)
    assert settings.verify is True
    assert settings.client_auth == "client_secret_basic"
    assert (settings.timeout, settings.retry.max_attempts) == (30, 5)
    assert settings.resource is None and settings.scopes == ()


def test_extras_are_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _settings(monkeypatch, {"resource": "https://shopping.api", "scopes": ["read:products", "x y"],
                                       "verify": "false", "timeout": "12.5", "organization_id": "org1",
                                       "api_base_url": "https://api.example.com/v1/"})
    assert settings.scopes == ("read:products", "x", "y")
    assert settings.verify is False and settings.timeout == 12.5
    assert settings.api_base_url == "https://api.example.com/v1"
    assert settings.organization_id == "org1"


def test_empty_form_fields_mean_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    blank = dict.fromkeys(CONN_FIELDS) | {"timeout": "", "verify": "", "client_auth": ""}
    settings = _settings(monkeypatch, blank)
    assert (settings.timeout, settings.verify, settings.client_auth) == (30, True, "client_secret_basic")
    assert settings.retry.max_attempts == 5 and settings.allow_insecure_http is False


def test_unknown_extras_are_warned_about(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    _settings(monkeypatch, {"scope": "all"})
    assert "unknown extra field(s) scope" in caplog.text


@pytest.mark.parametrize(("host", "extra", "tenant", "resource"), [
    ("https://abc123.logto.app", {}, "abc123", "https://abc123.logto.app/api"),
    ("https://abc123.logto.app", {"tenant_id": "abc123"}, "abc123", "https://abc123.logto.app/api"),
    ("http://localhost:3001", {}, "default", "https://default.logto.app/api"),
    ("https://auth.example.com", {}, "default", "https://default.logto.app/api"),
    ("https://auth.example.com", {"tenant_id": "xyz789"}, "xyz789", "https://xyz789.logto.app/api"),
])
def test_tenant_derivation(monkeypatch: pytest.MonkeyPatch, host: str, extra: dict, tenant: str,
                           resource: str) -> None:
    settings = _settings(monkeypatch, extra, host=host)
    assert (settings.tenant_id, settings.management_api_resource) == (tenant, resource)
    assert settings.management_api_base == f"{host.rstrip('/')}/api"


def test_cloud_tenant_end_to_end(connect: HookFactory) -> None:
    with LogtoEmulator(tenant_id="abc123") as cloud:
        app = cloud.add_m2m_app("cloud")
        hook = connect(app, conn_id="cloud", tenant_id="abc123")
        hook.settings  # noqa: B018
        object.__setattr__(hook.settings, "endpoint", cloud.endpoint)
        assert hook.management_request("GET", "/users") == []
        assert cloud.tokens_issued(resource="https://abc123.logto.app/api") == 1


def test_wrong_tenant_gives_an_actionable_token_error(emulator: LogtoEmulator, management_app: M2MApp,
                                                      connect: HookFactory) -> None:
    from airflow_provider_logto.exceptions import LogtoTokenError

    hook = connect(management_app, tenant_id="wrongtenant")
    with pytest.raises(LogtoTokenError, match="https://wrongtenant.logto.app/api"):
        hook.management_request("GET", "/users")


def test_settings_repr_hides_the_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    assert "app-secret-value" not in repr(_settings(monkeypatch))


def test_a_port_field_contradicting_the_hosts_port_is_refused(emulator: LogtoEmulator, management_app: M2MApp,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """host https://x:3001 with port 3002 names both ports; equal ports (or the port only in one place) work."""
    port = urlsplit(emulator.endpoint).port
    assert port is not None
    common = {"host": emulator.endpoint, "login": management_app.id, "password": management_app.secret}
    set_connection(monkeypatch, "contradicting", port=port + 1, **common)
    with pytest.raises(LogtoConnectionError) as refused:
        LogtoHook("contradicting").get_access_token()
    assert str(refused.value) == (
        f"Logto connection 'contradicting': port {port + 1} contradicts port {port} in host {emulator.endpoint!r}: "
        "keep the port in one place (clear the port field) or make the two equal.")
    assert token_requests(emulator) == 0
    set_connection(monkeypatch, "equal", port=port, **common)
    LogtoHook("equal").get_access_token()
    assert token_requests(emulator) == 1
