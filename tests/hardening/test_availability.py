"""Outages heal: blips are not remembered, sensors wait through token-endpoint trouble but fail fast on
connections that can never work; masking cost stays flat; calls have a total deadline; fork and eviction."""

from __future__ import annotations

import json
import os
import time

import pytest

from airflow_provider_logto.exceptions import LogtoConnectionError, LogtoError, LogtoTokenError, LogtoTransportError
from airflow_provider_logto.sensors.management import LogtoManagementApiSensor
from airflow_provider_logto.testing import LogtoEmulator, M2MApp
from tests.hardening.conftest import HostileHook
from tests.hardening.hostile import HostileServer, Reply
from tests.helpers import HookFactory, set_connection, token_requests


# --- only definitive refusals are remembered -------------------------------------------------------------------
@pytest.mark.parametrize("fault", [{"kind": "status", "status": 503}, {"kind": "html", "status": 502},
                                   {"kind": "non_json", "status": 200}, {"kind": "status", "status": 500}])
def test_a_token_endpoint_blip_is_not_remembered(emulator: LogtoEmulator, management_app: M2MApp,
                                                 connect: HookFactory, fault: dict) -> None:
    emulator.add_fault(fault.pop("kind"), "/oidc/token", **fault)
    hook = connect(management_app, max_attempts=1)
    with pytest.raises(LogtoError):
        hook.get_access_token()
    assert hook.get_access_token()  # asks Logto again at once
    assert token_requests(emulator) == 2


def test_a_definitive_refusal_is_remembered(emulator: LogtoEmulator, management_app: M2MApp,
                                            connect: HookFactory) -> None:
    hook = connect(M2MApp(management_app.id, "wrong-secret", "x"))
    for _ in range(3):
        with pytest.raises(LogtoTokenError) as raised:
            hook.get_access_token()
        assert raised.value.definitive is True
    assert token_requests(emulator) == 1


# --- sensors: wait through outages, fail fast on what can never work -------------------------------------------
def _sensor() -> LogtoManagementApiSensor:
    return LogtoManagementApiSensor(task_id="wait", endpoint="/users", poke_interval=0.1, timeout=5)


@pytest.mark.parametrize("fault", [{"kind": "status", "status": 503}, {"kind": "html", "status": 502},
                                   {"kind": "non_json", "status": 200}])
def test_a_token_endpoint_outage_means_poll_again(emulator: LogtoEmulator, management_app: M2MApp,
                                                  connect: HookFactory, fault: dict) -> None:
    connect(management_app, max_attempts=1)
    emulator.add_user("jane")
    emulator.add_fault(fault.pop("kind"), "/oidc/token", **fault)
    assert _sensor().poke({}).is_done is False
    assert _sensor().poke({}).is_done is True


def test_the_trigger_polls_again_after_a_token_endpoint_outage(emulator: LogtoEmulator, management_app: M2MApp,
                                                               connect: HookFactory) -> None:
    import asyncio

    from airflow_provider_logto.triggers.management import LogtoManagementApiTrigger

    connect(management_app, max_attempts=1)
    emulator.add_user("jane")
    emulator.add_fault("status", "/oidc/token", status=503, count=2)
    trigger = LogtoManagementApiTrigger(logto_conn_id="logto_default", endpoint="/users", query_params=None,
                                        condition={}, poke_interval=0.05)

    async def first_event() -> dict:
        async for event in trigger.run():
            return event.payload
        raise AssertionError("no event")

    assert asyncio.run(first_event())["status"] == "success"
    assert token_requests(emulator) == 3


@pytest.mark.parametrize("host", ["http://127.0.0.1:99999", "http://127.0.0.1:3001 ", "http://[::1", "http://[zz::1]:80",
                                  "http://127.0.0.1:port"])
def test_a_connection_that_can_never_work_fails_the_sensor_at_once(monkeypatch: pytest.MonkeyPatch,
                                                                   host: str) -> None:
    set_connection(monkeypatch, "logto_default", host=host, login="app", password="app-secret-value")
    with pytest.raises(LogtoConnectionError, match="host"):
        _sensor().poke({})


def test_an_impossible_url_is_not_retried_as_a_transport_error(hostile_hook: HostileHook,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    """A URL requests refuses to send is a LogtoConnectionError at once, not a transport error a sensor would
    wait on, and it is not retried."""
    hook = hostile_hook("http://127.0.0.1:1", max_attempts=5)
    hook.settings  # noqa: B018 - load, then break the endpoint the way only a broken host can
    object.__setattr__(hook.settings, "endpoint", "http://exa mple.invalid:1")
    with caplog.at_level("INFO"), pytest.raises(LogtoConnectionError, match="cannot be sent"):
        hook.get_access_token()
    assert not [r for r in caplog.records if "retrying in" in r.getMessage()]


# --- masking stays effective at a flat cost --------------------------------------------------------------------
def test_masking_many_tokens_keeps_one_pattern_per_signing_key(emulator: LogtoEmulator, management_app: M2MApp,
                                                               connect: HookFactory) -> None:
    from airflow.providers.common.compat.sdk import redact

    from airflow_provider_logto.auth.masking import airflow_masker

    masker = airflow_masker()
    hook = connect(management_app)
    tokens = []
    for number in range(60):
        token = hook.get_access_token()
        tokens.append(token)
        hook._tokens.discard(hook._management_target(), token)
        if number == 9:
            patterns_after_ten = len(masker.patterns)
    assert len(set(tokens)) == 60
    assert len(masker.patterns) == patterns_after_ten  # flat: no pattern per token
    for token in (tokens[0], tokens[-1]):
        assert redact(f"Authorization: Bearer {token}.") == "Authorization: Bearer ***."
    emulator.rotate_signing_key()  # a new key id: one more pattern, and its tokens are masked too
    fresh = hook.get_access_token()
    hook._tokens.discard(hook._management_target(), fresh)
    rotated = hook.get_access_token()
    assert fresh != rotated and redact(rotated) == "***"
    assert len(masker.patterns) == patterns_after_ten + 1


# --- a call has a total deadline --------------------------------------------------------------------------------
def test_a_dripping_body_is_abandoned_at_the_deadline(emulator: LogtoEmulator, shop_app: M2MApp,
                                                      connect: HookFactory) -> None:
    drip = Reply(200, chunks=iter([b"["] + [b" "] * 40 + [b"]"]), pause=0.25, length=42)
    with HostileServer(lambda request: drip) as api:
        hook = connect(shop_app, api_base_url=api.url, resource="https://shopping.api", scopes="read:products",
                       timeout=1, retry_deadline=2)
        hook.get_access_token()
        with pytest.raises(LogtoTransportError, match="DeadlineExceeded"):
            hook.resource_request("GET", "/slow")
        time.sleep(0.6)  # let the server notice the hang-up
    assert api.bytes_sent and api.bytes_sent[0] < 42  # the client stopped reading long before the 10 s drip ended


@pytest.mark.parametrize(("field", "value"), [("timeout", "inf"), ("timeout", "nan"), ("timeout", 0),
                                              ("timeout", -1), ("retry_deadline", "Infinity"),
                                              ("max_attempts", 1e400), ("retry_backoff_ms", "-inf"),
                                              ("timeout", 1e12), ("retry_deadline", 10**9), ("max_attempts", 10**6)])
def test_numbers_must_be_finite_and_positive(monkeypatch: pytest.MonkeyPatch, field: str, value: object) -> None:
    from airflow_provider_logto.hooks.logto import LogtoHook

    set_connection(monkeypatch, "numbers", host="http://127.0.0.1:3001", login="app", password="app-secret-value",
                   extra=json.dumps({field: value}) if value != 1e400 else f'{{"{field}": 1e400}}')
    with pytest.raises(LogtoConnectionError, match=field):
        LogtoHook("numbers").settings  # noqa: B018


# --- fork safety and eviction -------------------------------------------------------------------------------------
def test_a_forked_child_does_not_share_the_parents_connections(emulator: LogtoEmulator, management_app: M2MApp,
                                                                connect: HookFactory) -> None:
    parent_user = emulator.add_user("parent")["id"]
    child_user = emulator.add_user("child")["id"]
    hook = connect(management_app)
    assert hook.management_request("GET", f"/users/{parent_user}")["id"] == parent_user  # a pooled connection
    pid = os.fork()
    if pid == 0:  # the child: every answer must be its own
        code = 0
        try:
            for _ in range(30):
                if hook.management_request("GET", f"/users/{child_user}")["id"] != child_user:
                    code = 1
        except BaseException:
            code = 2
        os._exit(code)
    mixed = sum(hook.management_request("GET", f"/users/{parent_user}")["id"] != parent_user for _ in range(30))
    _, status = os.waitpid(pid, 0)
    assert mixed == 0 and os.waitstatus_to_exitcode(status) == 0


def test_expired_tokens_are_evicted(emulator: LogtoEmulator, shop_app: M2MApp, connect: HookFactory) -> None:
    from airflow_provider_logto.auth.tokens import TOKEN_CACHE

    emulator.set_access_token_ttl("https://shopping.api", 1)
    hook = connect(shop_app, resource="https://shopping.api")
    hook.get_access_token(scopes="read:products")
    hook.get_access_token(scopes="write:products")
    assert len(TOKEN_CACHE) == 2
    time.sleep(1.0)
    hook.get_access_token(scopes="read:products write:products")
    assert len(TOKEN_CACHE) == 1
