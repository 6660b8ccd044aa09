"""The sensor in poke mode and deferred, and its trigger polling the emulator with an async client."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from airflow_provider_logto.exceptions import LogtoError, LogtoUsageError
from airflow_provider_logto.sensors.management import LogtoManagementApiSensor
from airflow_provider_logto.testing import LogtoEmulator, M2MApp
from airflow_provider_logto.triggers.conditions import ResponseCondition
from airflow_provider_logto.triggers.management import LogtoManagementApiTrigger
from tests.helpers import HookFactory


@pytest.fixture
def default_conn(management_app: M2MApp, connect: HookFactory) -> None:
    connect(management_app)


def _sensor(**kwargs: Any) -> LogtoManagementApiSensor:
    return LogtoManagementApiSensor(task_id="wait", poke_interval=0.1, timeout=10, **kwargs)


# --- conditions ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("condition", "body", "total", "met"), [
    (ResponseCondition(), {"id": "u"}, None, True),
    (ResponseCondition(), [], 0, False),
    (ResponseCondition(), [{"id": "u"}], 1, True),
    (ResponseCondition(min_count=3), [{}], 3, True),
    (ResponseCondition(min_count=3), [{}, {}], None, False),
    (ResponseCondition(field="customData.team", expected_value="data"), {"customData": {"team": "data"}}, None,
     True),
    (ResponseCondition(field="isSuspended", expected_value=True), {"isSuspended": False}, None, False),
    (ResponseCondition(field="0.name", expected_value="x"), [{"name": "x"}], 1, True),
    (ResponseCondition(field="missing", expected_value=None), {}, None, False),
])
def test_conditions(condition: ResponseCondition, body: Any, total: int | None, met: bool) -> None:
    assert condition.met(body, total) is met


@pytest.mark.parametrize("kwargs", [{"min_count": 1, "field": "x"}, {"min_count": -1}, {"min_count": True},
                                    {"field": ""}])
def test_bad_conditions(kwargs: dict) -> None:
    with pytest.raises(LogtoUsageError):
        ResponseCondition(**kwargs).validate()


# --- poke mode ------------------------------------------------------------------------------------------------------
def test_poke_waits_for_a_user_to_exist(emulator: LogtoEmulator, default_conn: None) -> None:
    sensor = _sensor(endpoint="/users", query_params={"search.username": "jane", "mode.username": "exact"})
    assert sensor.poke({}).is_done is False
    emulator.add_user("jane")
    done = sensor.poke({})
    assert done.is_done is True and done.xcom_value[0]["username"] == "jane"


def test_poke_treats_404_as_not_yet(emulator: LogtoEmulator, default_conn: None) -> None:
    assert _sensor(endpoint="/users/nobody").poke({}).is_done is False


def test_poke_raises_other_errors(emulator: LogtoEmulator, default_conn: None) -> None:
    emulator.add_fault("status", "/api/users", status=400, count=None)
    with pytest.raises(LogtoError):
        _sensor(endpoint="/users").poke({})


def test_a_mistyped_endpoint_fails_instead_of_waiting(emulator: LogtoEmulator, default_conn: None) -> None:
    with pytest.raises(LogtoError, match="HTTP 404"):
        _sensor(endpoint="/userz").poke({})


def test_poke_keeps_waiting_through_transient_failures(emulator: LogtoEmulator, management_app: M2MApp,
                                                      connect: HookFactory) -> None:
    connect(management_app, max_attempts=1)
    emulator.add_user("jane")
    emulator.add_fault("status", "/api/users", status=503, count=1)
    sensor = _sensor(endpoint="/users")
    assert sensor.poke({}).is_done is False
    assert sensor.poke({}).is_done is True


def test_poke_field_condition_and_response_check(emulator: LogtoEmulator, default_conn: None) -> None:
    user = emulator.add_user("jane")
    sensor = _sensor(endpoint=f"/users/{user['id']}", field="isSuspended", expected_value=True,
                     response_check=lambda body: body["username"] == "jane")
    assert sensor.poke({}).is_done is False
    user["isSuspended"] = True
    assert sensor.poke({}).is_done is True


def test_sensor_execute_in_poke_mode(emulator: LogtoEmulator, default_conn: None) -> None:
    organization = emulator.add_organization("Acme")
    member = emulator.add_user("jane")

    def join_later() -> None:
        time.sleep(0.5)
        emulator.state.add_org_members(organization["id"], "users", [member["id"]])

    threading.Thread(target=join_later).start()
    result = _sensor(endpoint=f"/organizations/{organization['id']}/users", min_count=1).execute({})
    assert [u["id"] for u in result] == [member["id"]]


# --- deferrable mode ---------------------------------------------------------------------------------------------
def test_deferrable_sensor_defers_with_plain_data_and_completes(emulator: LogtoEmulator,
                                                                default_conn: None) -> None:
    from airflow.providers.common.compat.sdk import TaskDeferred

    organization = emulator.add_organization("Acme")
    sensor = _sensor(endpoint=f"/organizations/{organization['id']}/users", min_count=2, deferrable=True)
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute({})
    trigger = deferred.value.trigger
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_logto.triggers.management.LogtoManagementApiTrigger"
    assert kwargs == {"logto_conn_id": "logto_default", "endpoint": f"/organizations/{organization['id']}/users",
                      "query_params": None, "condition": {"min_count": 2, "field": None, "expected_value": None},
                      "poke_interval": 0.1}
    assert deferred.value.method_name == "execute_complete"

    users = [emulator.add_user(f"user{n}")["id"] for n in range(2)]

    def join_later() -> None:
        time.sleep(0.5)
        emulator.state.add_org_members(organization["id"], "users", users)

    threading.Thread(target=join_later).start()
    event = asyncio.run(_first_event(LogtoManagementApiTrigger(**kwargs)))
    assert event.payload["status"] == "success"
    assert sorted(u["id"] for u in sensor.execute_complete({}, event.payload)) == sorted(users)
    polls = emulator.journal.entries(path=f"/api/organizations/{organization['id']}/users")
    assert len(polls) >= 3  # the sensor's own poke, then the trigger's polls


def test_deferrable_sensor_returns_at_once_when_already_satisfied(emulator: LogtoEmulator,
                                                                   default_conn: None) -> None:
    user = emulator.add_user("jane")
    assert _sensor(endpoint=f"/users/{user['id']}", deferrable=True).execute({})["username"] == "jane"


def test_deferrable_sensor_refuses_callables(emulator: LogtoEmulator, default_conn: None) -> None:
    with pytest.raises(LogtoUsageError, match="deferrable"):
        _sensor(endpoint="/users", deferrable=True, response_check=lambda body: True).execute({})


async def _first_event(trigger: LogtoManagementApiTrigger) -> Any:
    async for event in trigger.run():
        return event
    raise AssertionError("the trigger ended without an event")


def test_trigger_survives_transient_failures_and_refreshes_tokens(emulator: LogtoEmulator,
                                                                  default_conn: None) -> None:
    user = emulator.add_user("jane")
    path = f"/api/users/{user['id']}"
    emulator.add_fault("status", path, status=503, count=1)
    emulator.add_fault("drop", path, count=1)
    emulator.add_fault("status", path, status=404, count=1)
    trigger = LogtoManagementApiTrigger(logto_conn_id="logto_default", endpoint=f"/users/{user['id']}",
                                        query_params=None, condition={}, poke_interval=0.05)
    emulator.rotate_signing_key()
    event = asyncio.run(_first_event(trigger))
    assert event.payload == {"status": "success", "value": user}
    assert [e.status for e in emulator.journal.entries(path=path)][-1] == 200


def test_trigger_reports_permanent_errors(emulator: LogtoEmulator, default_conn: None) -> None:
    emulator.add_fault("status", "/api/users", status=400, count=None)
    trigger = LogtoManagementApiTrigger(logto_conn_id="logto_default", endpoint="/users", query_params=None,
                                        condition={}, poke_interval=0.05)
    event = asyncio.run(_first_event(trigger))
    assert event.payload["status"] == "error" and "HTTP 400" in event.payload["message"]
    with pytest.raises(LogtoError, match="HTTP 400"):
        _sensor(endpoint="/users").execute_complete({}, event.payload)


def test_trigger_reports_token_errors(emulator: LogtoEmulator, management_app: M2MApp,
                                      connect: HookFactory) -> None:
    connect(M2MApp(management_app.id, "wrong-secret", "x"))
    trigger = LogtoManagementApiTrigger(logto_conn_id="logto_default", endpoint="/users", query_params=None,
                                        condition={}, poke_interval=0.05)
    event = asyncio.run(_first_event(trigger))
    assert event.payload["status"] == "error" and "invalid_client" in event.payload["message"]
    assert "wrong-secret" not in event.payload["message"]
