"""Bad input is a LogtoError naming the field and the fix, before any HTTP request."""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_provider_logto.exceptions import LogtoConnectionError, LogtoTokenError, LogtoUsageError
from airflow_provider_logto.hooks.logto import LogtoHook
from airflow_provider_logto.testing import LogtoEmulator, M2MApp
from tests.helpers import HookFactory, set_connection


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"json": {"tags": {"a", "b"}}}, "json"),
    ({"json": {"avatar": b"\x89PNG"}}, "json"),
    ({"json": {"score": float("nan")}}, "json"),
    ({"json": {"score": float("inf")}}, "json"),
    ({"params": [("search", "x")]}, "params"),
    ({"params": "search=x"}, "params"),
    ({"params": {"search": {"nested": 1}}}, "params"),
    ({"params": {"search": b"bytes"}}, "params"),
])
def test_bad_call_input_fails_before_http(emulator: LogtoEmulator, management_app: M2MApp, connect: HookFactory,
                                          kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(LogtoUsageError, match=field):
        connect(management_app).management_request("POST", "/users", **kwargs)
    assert emulator.journal.entries() == []


@pytest.mark.parametrize(("headers", "problem"), [
    ({"X-Note": "a\r\nX-Injected: yes"}, "CR, LF"),
    ({"X-Note": "line\nbreak"}, "CR, LF"),
    ({"X-Note": "caf\u00e9 \u2603"}, "latin-1"),
    ({"Bad Name": "x"}, "header name"),
    ({"X-Number": 5}, "text value"),
    ({"authorization": "Bearer mine"}, "Authorization"),
    (["X-Note", "x"], "mapping"),
])
def test_bad_headers_fail_before_http(emulator: LogtoEmulator, shop_app: M2MApp, connect: HookFactory,
                                      headers: Any, problem: str) -> None:
    hook = connect(shop_app, resource="https://shopping.api", scopes="read:products")
    with pytest.raises(LogtoUsageError, match=problem):
        hook.resource_request("GET", "/products", headers=headers)
    assert emulator.journal.entries() == []


def test_non_latin_1_headers_do_not_leak_into_the_message(emulator: LogtoEmulator, shop_app: M2MApp,
                                                          connect: HookFactory) -> None:
    hook = connect(shop_app, resource="https://shopping.api", scopes="read:products")
    with pytest.raises(LogtoUsageError) as raised:
        hook.resource_request("GET", "/products", headers={"X-Api-Key": "s\u00e9cret-\u2603-value"})
    assert "s\u00e9cret" not in str(raised.value) and "X-Api-Key" in str(raised.value)


@pytest.mark.parametrize(("fields", "message"), [
    ({"host": "https://tenant.logto.app:99999"}, "port"),
    ({"host": "https://tenant.logto.app:0"}, "port"),
    ({"host": "https://[::1"}, "IPv6"),
    ({"host": "https://[fe80::zz]:3001"}, "host"),
    ({"host": "https://tenant.logto.app "}, "spaces"),
    ({"host": " https://tenant.logto.app"}, "spaces"),
    ({"host": "https://tenant.logto.app", "port": 70000}, "port"),
    # (Airflow masks a non-object extra's values process-wide: keep them unlike any word of a message)
    ({"host": "https://tenant.logto.app", "extra": '["zq-list-extra-value"]'}, "JSON object"),
    ({"host": "https://tenant.logto.app", "extra": '"zq-text-extra-value"'}, "JSON object"),
    ({"host": "https://tenant.logto.app", "extra": json.dumps({"scopes": "read:products,write:products"})},
     "space-separated: write 'read:products write:products'"),
    ({"host": "https://tenant.logto.app", "extra": json.dumps({"api_base_url": "https://api.example:123456"})},
     "api_base_url"),
    ({"host": "https://tenant.logto.app", "extra": json.dumps({"api_base_url": "https://[::1"})}, "api_base_url"),
])
def test_bad_connections_name_the_field(monkeypatch: pytest.MonkeyPatch, fields: dict[str, Any],
                                        message: str) -> None:
    set_connection(monkeypatch, "bad", login="app", password="app-secret-value", **fields)
    with pytest.raises(LogtoConnectionError, match=message.replace("[", r"\[")):
        LogtoHook("bad").settings  # noqa: B018


def test_comma_separated_scopes_in_a_call_are_refused(emulator: LogtoEmulator, shop_app: M2MApp,
                                                      connect: HookFactory) -> None:
    hook = connect(shop_app, resource="https://shopping.api")
    with pytest.raises(LogtoConnectionError, match="space-separated"):
        hook.get_access_token(scopes="read:products, write:products")
    assert emulator.journal.entries() == []


def test_a_wrong_tenant_names_the_right_indicator(emulator: LogtoEmulator, management_app: M2MApp,
                                                  connect: HookFactory) -> None:
    hook = connect(management_app, tenant_id="wrongtenant")
    with pytest.raises(LogtoTokenError) as raised:
        hook.management_request("GET", "/users")
    text = str(raised.value)
    assert "https://default.logto.app/api" in text and "tenant_id" in text
    assert "Management API of this tenant is https://wrongtenant" not in text


@pytest.mark.parametrize("endpoint", ["https://127.0.0.1:99999/api/users", "http://[::1/api/users",
                                      "//127.0.0.1:port/api/users", "/users\x7f"])
def test_impossible_endpoints_fail_before_http(emulator: LogtoEmulator, management_app: M2MApp,
                                               connect: HookFactory, endpoint: str) -> None:
    with pytest.raises(LogtoUsageError, match="endpoint"):
        connect(management_app).management_request("GET", endpoint)
    assert emulator.journal.entries() == []


def test_a_redirect_to_an_impossible_url_is_refused(emulator: LogtoEmulator, shop_app: M2MApp,
                                                    connect: HookFactory) -> None:
    emulator.add_fault("redirect", "/products", server="resource", location="http://127.0.0.1:99999/x")
    hook = connect(shop_app, resource="https://shopping.api", scopes="read:products")
    with pytest.raises(LogtoUsageError):
        hook.resource_request("GET", "/products")
