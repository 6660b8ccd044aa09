"""Write outcomes are honest: certainly failed, or outcome unknown (flagged) — and never silently turned into a
GET by a redirect."""

from __future__ import annotations

import socket
import time

import pytest

from airflow_provider_logto.exceptions import LogtoApiError, LogtoError, LogtoTransportError
from airflow_provider_logto.testing import LogtoEmulator, M2MApp
from tests.hardening.hostile import HostileServer, Received, Reply, json_reply
from tests.helpers import HookFactory


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_a_write_answered_by_5xx_has_an_unknown_outcome(emulator: LogtoEmulator, management_app: M2MApp,
                                                        connect: HookFactory, status: int) -> None:
    emulator.add_fault("status", "/api/users", method="POST", status=status)
    with pytest.raises(LogtoApiError) as raised:
        connect(management_app).management_request("POST", "/users", json={"username": "jane"})
    assert raised.value.outcome_unknown is True
    assert "outcome unknown" in str(raised.value)


def test_a_dropped_write_has_an_unknown_outcome(emulator: LogtoEmulator, management_app: M2MApp,
                                                connect: HookFactory) -> None:
    emulator.add_fault("drop", "/api/users", method="POST")
    with pytest.raises(LogtoTransportError) as raised:
        connect(management_app).management_request("POST", "/users", json={"username": "jane"})
    assert raised.value.outcome_unknown is True and "outcome unknown" in str(raised.value)


def test_a_timed_out_write_has_an_unknown_outcome(emulator: LogtoEmulator, management_app: M2MApp,
                                                  connect: HookFactory) -> None:
    emulator.add_fault("delay", "/api/users", method="POST", delay=1.5)
    with pytest.raises(LogtoTransportError) as raised:
        connect(management_app, timeout=0.5).management_request("POST", "/users", json={"username": "jane"})
    assert raised.value.outcome_unknown is True
    time.sleep(1.5)  # the server finishes the write after the client gave up: the outcome really was unknown
    assert len(emulator.state.users) == 1  # applied once, never repeated


def test_a_refused_write_certainly_changed_nothing(emulator: LogtoEmulator, management_app: M2MApp,
                                                   connect: HookFactory) -> None:
    emulator.add_user("jane")
    with pytest.raises(LogtoApiError) as raised:
        connect(management_app).management_request("POST", "/users", json={"username": "jane"})
    assert raised.value.status == 422 and raised.value.outcome_unknown is False
    assert "outcome unknown" not in str(raised.value)


def test_a_write_that_could_not_connect_certainly_changed_nothing(emulator: LogtoEmulator, shop_app: M2MApp,
                                                                  connect: HookFactory) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    hook = connect(shop_app, api_base_url=f"http://127.0.0.1:{closed}", resource="https://shopping.api",
                   scopes="write:products", max_attempts=2)
    with pytest.raises(LogtoTransportError) as raised:
        hook.resource_request("POST", "/products", json={"name": "x"})
    assert raised.value.outcome_unknown is False
    assert str(raised.value).startswith("API ") and "POST /products failed" in str(raised.value)  # not "Logto"


def test_reads_never_carry_the_flag(emulator: LogtoEmulator, management_app: M2MApp, connect: HookFactory) -> None:
    emulator.add_fault("status", "/api/users", status=503, count=None)
    with pytest.raises(LogtoApiError) as raised:
        connect(management_app, max_attempts=1).management_request("GET", "/users")
    assert raised.value.outcome_unknown is False


@pytest.mark.parametrize("status", [301, 302, 303])
@pytest.mark.parametrize("method", ["POST", "PATCH", "PUT", "DELETE"])
def test_a_redirect_never_turns_a_write_into_a_get(emulator: LogtoEmulator, shop_app: M2MApp, connect: HookFactory,
                                                   status: int, method: str) -> None:
    def answer(request: Received) -> Reply:
        if request.path.startswith("/old"):
            return Reply(status, b"", {"Location": "/products"})
        return json_reply(200, '[{"id": "looks-like-success"}]')

    with HostileServer(answer) as api:
        hook = connect(shop_app, api_base_url=api.url, resource="https://shopping.api", scopes="write:products")
        with pytest.raises(LogtoApiError, match="not repeated there as a GET") as raised:
            hook.resource_request(method, "/old/products", json={"name": "x"})
    assert raised.value.outcome_unknown is True and raised.value.status == status
    assert [(r.method, r.path) for r in api.received] == [(method, "/old/products")]


def test_a_307_repeats_the_write_with_its_method_and_body(emulator: LogtoEmulator, shop_app: M2MApp,
                                                          connect: HookFactory) -> None:
    def answer(request: Received) -> Reply:
        if request.path == "/old":
            return Reply(307, b"", {"Location": "/new"})
        return json_reply(201, '{"id": "p1"}')

    with HostileServer(answer) as api:
        hook = connect(shop_app, api_base_url=api.url, resource="https://shopping.api", scopes="write:products")
        assert hook.resource_request("POST", "/old", json={"name": "x"}) == {"id": "p1"}
    assert [(r.method, r.path, r.body) for r in api.received] == [("POST", "/old", b'{"name":"x"}'),
                                                                   ("POST", "/new", b'{"name":"x"}')]


def test_a_management_operator_write_failure_carries_the_flag(emulator: LogtoEmulator, management_app: M2MApp,
                                                              connect: HookFactory) -> None:
    from airflow_provider_logto.operators.management import LogtoManagementApiOperator

    connect(management_app)
    emulator.add_fault("status", "/api/users", method="POST", status=502)
    with pytest.raises(LogtoError) as raised:
        LogtoManagementApiOperator(task_id="create", endpoint="/users", method="POST",
                                   json={"username": "jane"}).execute({})
    assert raised.value.outcome_unknown is True


# --- a 2xx whose body is not the JSON it claims: the write took effect -----------------------------------------
def _assert_applied(error: LogtoApiError, method: str, path: str, status: int = 200) -> None:
    from airflow.providers.common.compat.sdk import AirflowFailException

    text = str(error)
    assert text.startswith(f"{method} {path} took effect (answered HTTP {status}), but its answer is malformed JSON")
    assert "the task is not retried (that would apply it twice)" in text and text.endswith(".")
    assert "failed" not in text and "outcome unknown" not in text
    assert error.applied is True and error.outcome_unknown is False
    assert isinstance(error, AirflowFailException)  # Airflow does not retry the task


def test_a_management_write_answered_with_garbled_json_took_effect(
        emulator: LogtoEmulator, management_app: M2MApp, connect: HookFactory) -> None:
    emulator.add_fault("garbled", "/api/users", method="POST")
    with pytest.raises(LogtoApiError) as raised:
        connect(management_app).management_request("POST", "/users", json={"username": "jane"})
    _assert_applied(raised.value, "POST", "/api/users")
    assert [user["username"] for user in emulator.state.users.values()].count("jane") == 1
    assert len(emulator.journal.entries(path="/api/users")) == 1


def test_a_resource_write_answered_with_garbled_json_took_effect(
        emulator: LogtoEmulator, shop_app: M2MApp, connect: HookFactory) -> None:
    emulator.add_fault("garbled", "/products", method="POST", server="resource")
    hook = connect(shop_app, resource="https://shopping.api", scopes="read:products write:products")
    with pytest.raises(LogtoApiError) as raised:
        hook.resource_request("POST", "/products", json={"name": "Sticker", "price": 2})
    _assert_applied(raised.value, "POST", "/products", 201)
    assert "Sticker" in [product["name"] for product in hook.resource_request("GET", "/products")]


def test_a_read_answered_with_garbled_json_is_a_plain_error(emulator: LogtoEmulator, management_app: M2MApp,
                                                           connect: HookFactory) -> None:
    emulator.add_fault("garbled", "/api/users", method="GET")
    with pytest.raises(LogtoApiError, match="was answered with malformed JSON") as raised:
        connect(management_app).management_request("GET", "/users")
    assert raised.value.applied is False


def test_the_management_operator_does_not_retry_an_applied_write(
        emulator: LogtoEmulator, management_app: M2MApp, monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_provider_logto.operators.management import LogtoManagementApiOperator

    monkeypatch.setenv("AIRFLOW_CONN_LOGTO_DEFAULT", emulator.airflow_connection(management_app))
    emulator.add_fault("garbled", "/api/roles", method="POST")
    operator = LogtoManagementApiOperator(task_id="create_role", method="POST", endpoint="/roles",
                                       json={"name": "auditor", "description": "reads"})
    with pytest.raises(LogtoApiError) as raised:
        operator.execute({})
    _assert_applied(raised.value, "POST", "/api/roles")
    assert [role["name"] for role in emulator.state.roles.values()].count("auditor") == 1
