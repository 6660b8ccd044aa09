"""Hostile answers from the token endpoint and the APIs: each a clear LogtoError, never a crash or a silent
misreading; bodies are read as bounded streams; paging cannot run forever."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from airflow_provider_logto.auth.tokens import FALLBACK_LIFETIME
from airflow_provider_logto.exceptions import LogtoApiError, LogtoTokenError, LogtoTransportError
from airflow_provider_logto.testing import LogtoEmulator, M2MApp
from tests.hardening.conftest import HostileHook
from tests.hardening.hostile import HostileServer, Reply, token_answer
from tests.helpers import HookFactory


# --- token answers ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("expires_in", [None, -5, 0, "soon", "nan", True, [3600]])
def test_an_unusable_expires_in_is_warned_about_and_a_short_lifetime_used(
        hostile_hook: HostileHook, caplog: pytest.LogCaptureFixture, expires_in: object) -> None:
    with HostileServer(lambda request: token_answer(expires_in=expires_in)) as logto:
        hook = hostile_hook(logto.url)
        with caplog.at_level(logging.WARNING):
            first = hook.get_access_token()
            assert hook.get_access_token() == first  # cached: never a token per call
        assert len(logto.received) == 1
        ok, message = hook.test_connection()
    assert any("expires_in" in record.getMessage() for record in caplog.records if record.levelno == logging.WARNING)
    assert ok and f"valid for {FALLBACK_LIFETIME} s" in message


def test_a_numeric_text_expires_in_is_accepted(hostile_hook: HostileHook) -> None:
    with HostileServer(lambda request: token_answer(expires_in="1800")) as logto:
        ok, message = hostile_hook(logto.url).test_connection()
    assert ok and "valid for 1800 s" in message


@pytest.mark.parametrize(("fields", "problem"), [({"token_type": "mac"}, "token_type 'mac'"),
                                                 ({"token_type": None}, "no token_type"),
                                                 ({"access_token": ""}, "empty"),
                                                 ({"access_token": 12345}, "empty or non-text")])
def test_unusable_tokens_are_refused(hostile_hook: HostileHook, fields: dict, problem: str) -> None:
    with HostileServer(lambda request: token_answer(**fields)) as logto, \
            pytest.raises(LogtoTokenError, match=problem) as raised:
        hostile_hook(logto.url).get_access_token()
    assert raised.value.definitive is False


# --- bodies --------------------------------------------------------------------------------------------------
def _filler(total: int, chunk: int = 256 * 1024) -> Iterator[bytes]:
    yield b'{"items": "'
    for _ in range(total // chunk):
        yield b"x" * chunk


@pytest.mark.parametrize("announce", [True, False])
def test_an_oversized_answer_is_refused_without_reading_it_all(emulator: LogtoEmulator, shop_app: M2MApp,
                                                               connect: HookFactory, announce: bool) -> None:
    size = 50 * 1024 * 1024
    with HostileServer(lambda request: Reply(200, chunks=_filler(size), length=size if announce else None)) as api:
        hook = connect(shop_app, api_base_url=api.url, resource="https://shopping.api", scopes="read:products")
        with pytest.raises(LogtoTransportError, match="BodyTooLarge") as raised:
            hook.resource_request("GET", "/huge")
    assert "ask for less" in str(raised.value)
    assert len(api.received) == 1  # not retried


def test_an_oversized_error_page_gives_a_short_message(emulator: LogtoEmulator, shop_app: M2MApp,
                                                       connect: HookFactory) -> None:
    size = 50 * 1024 * 1024
    page = Reply(500, chunks=_filler(size), headers={"Content-Type": "text/html"})
    with HostileServer(lambda request: page) as api:
        hook = connect(shop_app, api_base_url=api.url, resource="https://shopping.api", scopes="write:products")
        with pytest.raises(LogtoApiError) as raised:
            hook.resource_request("POST", "/products", json={})
    assert raised.value.status == 500 and len(str(raised.value)) < 1000
    assert raised.value.outcome_unknown is True


def test_invalid_utf8_is_a_clear_error(emulator: LogtoEmulator, shop_app: M2MApp, connect: HookFactory) -> None:
    with HostileServer(lambda request: Reply(200, b'{"name": "\xff\xfe broken"}')) as api:
        hook = connect(shop_app, api_base_url=api.url, resource="https://shopping.api", scopes="read:products")
        with pytest.raises(LogtoApiError, match="not valid UTF-8"):
            hook.resource_request("GET", "/products")


# Paging guards (a lying Total-Number, a repeated page, endless full pages) are in test_paging_guards.py, checked
# on every entry point.
