"""No secret leaves the provider: not in XCom, trigger events or exception text — even when a server echoes it."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import pytest

from airflow_provider_logto.exceptions import LogtoApiError, LogtoTokenError
from airflow_provider_logto.operators.management import LogtoManagementApiOperator
from airflow_provider_logto.operators.resource import LogtoResourceApiOperator
from airflow_provider_logto.sensors.management import LogtoManagementApiSensor
from airflow_provider_logto.testing import LogtoEmulator, M2MApp
from airflow_provider_logto.triggers.management import LogtoManagementApiTrigger
from tests.hardening.conftest import APP_ID, APP_SECRET, HostileHook
from tests.hardening.hostile import TOKEN, HostileServer, Received, Reply, json_reply, token_answer
from tests.helpers import HookFactory


def _leaks(value: Any, *secrets: str) -> list[str]:
    text = value if isinstance(value, str) else json.dumps(value)
    return [secret for secret in secrets if secret in text]


# --- one redaction path for every value that leaves the provider -----------------------------------------------
def test_sensor_xcom_hides_the_application_secret(emulator: LogtoEmulator, management_app: M2MApp,
                                                  connect: HookFactory) -> None:
    connect(management_app)
    sensor = LogtoManagementApiSensor(task_id="wait", endpoint=f"/applications/{management_app.id}",
                                      poke_interval=0.1, timeout=5)
    done = sensor.poke({})
    assert done.is_done and done.xcom_value["id"] == management_app.id
    assert done.xcom_value["secret"] == "***"
    assert _leaks(done.xcom_value, management_app.secret) == []


def test_trigger_event_hides_the_application_secret(emulator: LogtoEmulator, management_app: M2MApp,
                                                    connect: HookFactory) -> None:
    connect(management_app)
    trigger = LogtoManagementApiTrigger(logto_conn_id="logto_default", endpoint=f"/applications/{management_app.id}",
                                        query_params=None, condition={}, poke_interval=0.1)

    async def first_event() -> Any:
        async for event in trigger.run():
            return event.payload
        raise AssertionError("the trigger ended without an event")

    payload = asyncio.run(first_event())
    assert payload["status"] == "success" and payload["value"]["secret"] == "***"
    assert _leaks(payload, management_app.secret) == []
    completed = LogtoManagementApiSensor(task_id="wait", endpoint="/x").execute_complete({}, payload)
    assert _leaks(completed, management_app.secret) == []


def _echoing_api(request: Received) -> Reply:
    """An API that echoes the caller's Authorization header and carries a secret-named field."""
    echoed = request.headers.get("authorization", "")
    return json_reply(200, json.dumps({"client_secret": "api-side-secret-value", "seen": f"you sent {echoed}",
                                       "nested": [{"debug": {"auth": echoed}}]}))


def test_resource_operator_redacts_like_the_management_operator(emulator: LogtoEmulator, shop_app: M2MApp,
                                                                connect: HookFactory) -> None:
    with HostileServer(_echoing_api) as api:
        hook = connect(shop_app, api_base_url=api.url, resource="https://shopping.api", scopes="read:products")
        token = hook.get_access_token()
        result = LogtoResourceApiOperator(task_id="call", endpoint="/echo").execute({})
    assert result["client_secret"] == "***" and result["seen"].startswith("you sent Bearer ***")
    assert _leaks(result, token, "api-side-secret-value") == []


def test_management_operator_redacts_nested_secrets(emulator: LogtoEmulator, management_app: M2MApp,
                                                    connect: HookFactory) -> None:
    connect(management_app)
    apps = LogtoManagementApiOperator(task_id="apps", endpoint="/applications").execute({})
    assert apps and all(app["secret"] == "***" for app in apps)
    assert _leaks(apps, management_app.secret) == []


# --- exception text -----------------------------------------------------------------------------------------------
def test_api_errors_do_not_repeat_an_echoed_bearer_token(emulator: LogtoEmulator, shop_app: M2MApp,
                                                         connect: HookFactory) -> None:
    def refuse(request: Received) -> Reply:
        echoed = request.headers["authorization"]
        return json_reply(400, json.dumps({"code": "bad.request", "message": f"rejected header {echoed}",
                                           "data": {"authorization": echoed}}))

    with HostileServer(refuse) as api:
        hook = connect(shop_app, api_base_url=api.url, resource="https://shopping.api", scopes="read:products")
        token = hook.get_access_token()
        with pytest.raises(LogtoApiError) as raised:
            hook.resource_request("POST", "/products", json={"name": "x"})
    error = raised.value
    assert error.status == 400 and error.code == "bad.request"
    assert _leaks(str(error), token) == [] and _leaks(error.message or "", token) == []
    assert _leaks(error.data, token) == []


@pytest.mark.parametrize("client_auth", ["client_secret_basic", "client_secret_post"])
def test_token_errors_do_not_repeat_echoed_credentials(hostile_hook: HostileHook, client_auth: str) -> None:
    def refuse(request: Received) -> Reply:
        echoed = request.headers.get("authorization") or request.body.decode()
        return json_reply(401, json.dumps({"error": "invalid_client", "error_description": f"got {echoed}",
                                           "code": "oidc.invalid_client", "message": f"got {echoed}"}))

    basic = base64.b64encode(f"{APP_ID}:{APP_SECRET}".encode()).decode()
    with HostileServer(refuse) as logto, pytest.raises(LogtoTokenError) as raised:
        hostile_hook(logto.url, client_auth=client_auth).get_access_token()
    texts = [str(raised.value), repr(raised.value), raised.value.error_description or ""]
    assert "invalid_client" in texts[0]
    for text in texts:
        assert _leaks(text, basic, APP_SECRET) == []


@pytest.mark.parametrize("token", [f"{TOKEN}\r\nX-Injected: yes", f"{TOKEN}\nSet-Cookie: a=b", "qwertyuiop asdfghjkl",
                                   "zxcv\u00f6bnmqwertyuiop", ""])
def test_a_hostile_token_is_a_token_error_that_does_not_quote_it(hostile_hook: HostileHook, token: str) -> None:
    with HostileServer(lambda request: token_answer(access_token=token)) as logto, \
            pytest.raises(LogtoTokenError, match="not used") as raised:
        hostile_hook(logto.url).get_access_token()
    for part in token.split():
        assert part not in str(raised.value)
    assert len(logto.received) == 1  # refused at once, and no API call was made with it
