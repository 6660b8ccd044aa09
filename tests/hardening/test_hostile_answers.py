"""Hostile answers from the token endpoint and the APIs: each a clear LogtoError, never a crash or a silent
misreading; bodies are read as bounded streams; paging cannot run forever."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator

import pytest

from airflow_provider_logto.exceptions import LogtoApiError, LogtoTokenError, LogtoTransportError
from airflow_provider_logto.testing import LogtoEmulator, M2MApp
from airflow_provider_logto.tokens import FALLBACK_LIFETIME
from tests.hardening.conftest import HostileHook
from tests.hardening.hostile import HostileServer, Received, Reply, json_reply, token_answer
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


# --- a lying or endless Management API ------------------------------------------------------------------------------
def _fake_logto(pages: Callable[[int, int], tuple[list, dict[str, str]]]) -> Callable[[Received], Reply]:
    def answer(request: Received) -> Reply:
        if request.path.startswith("/oidc/token"):
            return token_answer()
        from urllib.parse import parse_qs, urlsplit

        query = parse_qs(urlsplit(request.path).query)
        items, headers = pages(int(query["page"][0]), int(query["page_size"][0]))
        return json_reply(200, json.dumps(items), **headers)
    return answer


@pytest.mark.parametrize(("claimed", "real"), [(1000, 5), (3, 7), (0, 4), (-1, 4)])
def test_a_lying_total_number_loses_no_items_and_ends(hostile_hook: HostileHook, claimed: int, real: int) -> None:
    def pages(page: int, size: int) -> tuple[list, dict[str, str]]:
        items = [{"id": n} for n in range(real)][(page - 1) * size:page * size]
        return items, {"Total-Number": str(claimed)}

    with HostileServer(_fake_logto(pages)) as logto:
        items = list(hostile_hook(logto.url).management_paginate("/users", page_size=2))
    assert [item["id"] for item in items] == list(range(real))


def test_a_server_repeating_the_same_full_page_is_stopped(hostile_hook: HostileHook) -> None:
    with HostileServer(_fake_logto(lambda page, size: ([{"id": n} for n in range(size)], {}))) as logto:
        with pytest.raises(LogtoApiError, match="ignores paging"):
            list(hostile_hook(logto.url).management_paginate("/users", page_size=5))
        assert len(logto.received) == 3  # token + two pages


def test_endless_full_pages_hit_the_page_cap(hostile_hook: HostileHook, monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_provider_logto import paging

    monkeypatch.setattr(paging, "MAX_PAGES", 20)
    endless = _fake_logto(lambda page, size: ([{"id": f"{page}-{n}"} for n in range(size)],
                                              {"Total-Number": "999999999"}))
    with HostileServer(endless) as logto:
        with pytest.raises(LogtoApiError, match="kept answering full pages for 20 pages"):
            list(hostile_hook(logto.url).management_paginate("/users", page_size=3))
        assert len(logto.received) == 21
