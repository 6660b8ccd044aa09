"""``LogtoHook.test_connection``: always asks Logto, never touches the token cache, reports what Logto granted."""

from __future__ import annotations

import pytest

from airflow_provider_logto.auth.tokens import TOKEN_CACHE
from airflow_provider_logto.hooks.logto import LogtoHook
from airflow_provider_logto.testing import LogtoEmulator, M2MApp
from tests.helpers import HookFactory, token_requests


def test_it_always_asks_logto_and_leaves_the_cache_alone(emulator: LogtoEmulator, management_app: M2MApp,
                                                         connect: HookFactory) -> None:
    hook = connect(management_app)
    assert hook.test_connection()[0] is True
    assert len(TOKEN_CACHE) == 0  # nothing stored
    cached = hook.get_access_token()
    assert hook.test_connection()[0] is True and hook.test_connection()[0] is True
    assert token_requests(emulator) == 4  # every test asked Logto
    assert hook.get_access_token() == cached  # the cached token was neither replaced nor dropped


def test_it_is_not_answered_from_a_remembered_refusal(emulator: LogtoEmulator, management_app: M2MApp,
                                                      connect: HookFactory) -> None:
    hook = connect(M2MApp(management_app.id, "wrong-secret", "x"))
    with pytest.raises(Exception):  # noqa: B017 - any refusal; it is now remembered for ordinary calls
        hook.get_access_token()
    ok, message = hook.test_connection()
    assert ok is False and "invalid_client" in message
    assert token_requests(emulator) == 2


def test_it_reports_the_granted_lifetime_and_scopes(emulator: LogtoEmulator, shop_app: M2MApp,
                                                    connect: HookFactory) -> None:
    emulator.set_access_token_ttl("https://shopping.api", 900)
    ok, message = connect(shop_app, resource="https://shopping.api",
                          scopes="read:products write:products").test_connection()
    assert ok is True
    assert "https://shopping.api" in message and "scopes: read:products write:products" in message
    assert "valid for 900 s" in message


def test_it_notes_unknown_extras(emulator: LogtoEmulator, management_app: M2MApp, connect: HookFactory) -> None:
    ok, message = connect(management_app, scope="all", verfiy="false").test_connection()
    assert ok is True
    assert "'scope' (did you mean 'scopes'?)" in message and "'verfiy' (did you mean 'verify'?)" in message


def test_the_no_scheme_hint_keeps_the_uri_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_URI_FORM", "logto://app-id:app-secret-value@auth.example.com:3001")
    ok, message = LogtoHook("uri_form").test_connection()
    assert ok is False and "https://auth.example.com:3001" in message


def test_a_stopped_logto_fails_every_test_even_with_a_cached_token(management_app: M2MApp,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The api-server is long-lived: a Test must not answer "connected" from a token cached before Logto went
    away, and must give up within the connection's retry budget."""
    with LogtoEmulator() as stopped:
        app = stopped.add_m2m_app("etl")
        monkeypatch.setenv("AIRFLOW_CONN_LOGTO_DEFAULT",
                           stopped.airflow_connection(app, max_attempts=2, retry_deadline=3, retry_backoff_ms=1))
        hook = LogtoHook("logto_default")
        assert hook.test_connection()[0] is True
        hook.get_access_token()  # a token is now cached in this process
    for _ in range(2):
        ok, message = hook.test_connection()
        assert ok is False and "Connected" not in message and "127.0.0.1" in message, message
