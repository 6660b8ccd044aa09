"""Requests through the hook: retries, 401 refresh, where tokens may go, pagination, decoding, masking."""

from __future__ import annotations

import logging
import socket
import time

import pytest
import requests

from airflow_provider_logto.exceptions import (
    LogtoApiError,
    LogtoError,
    LogtoTokenError,
    LogtoTransportError,
    LogtoUnsafeUrlError,
    LogtoUsageError,
)
from airflow_provider_logto.testing import LogtoEmulator, M2MApp
from tests.helpers import HookFactory, token_requests


def _calls(emulator: LogtoEmulator, path: str, method: str = "GET") -> int:
    return len(emulator.journal.entries(path=path, method=method))


# --- retries --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fault", [{"kind": "status", "status": 429}, {"kind": "status", "status": 503},
                                   {"kind": "status", "status": 500}, {"kind": "status", "status": 502},
                                   {"kind": "drop"}, {"kind": "truncated"}, {"kind": "html", "status": 504}])
def test_reads_are_retried_on_transient_failures(emulator: LogtoEmulator, management_app: M2MApp,
                                                 connect: HookFactory, fault: dict) -> None:
    emulator.add_user("jane")
    emulator.add_fault(fault.pop("kind"), "/api/users", count=2, **fault)
    users = connect(management_app).management_request("GET", "/users")
    assert [u["username"] for u in users] == ["jane"]
    assert _calls(emulator, "/api/users") == 3


@pytest.mark.parametrize("fault", [{"kind": "status", "status": 429}, {"kind": "status", "status": 503},
                                   {"kind": "drop"}])
def test_token_requests_are_retried(emulator: LogtoEmulator, management_app: M2MApp, connect: HookFactory,
                                    fault: dict) -> None:
    emulator.add_fault(fault.pop("kind"), "/oidc/token", count=2, **fault)
    assert connect(management_app).get_access_token()
    assert token_requests(emulator) == 3


def test_retries_stop_at_max_attempts(emulator: LogtoEmulator, management_app: M2MApp,
                                      connect: HookFactory) -> None:
    emulator.add_fault("status", "/api/users", status=503, count=None)
    with pytest.raises(LogtoApiError) as raised:
        connect(management_app, max_attempts=3).management_request("GET", "/users")
    assert raised.value.status == 503
    assert _calls(emulator, "/api/users") == 3


def test_dropped_connections_exhaust_into_a_transport_error(emulator: LogtoEmulator, management_app: M2MApp,
                                                            connect: HookFactory) -> None:
    emulator.add_fault("drop", "/api/users", count=None)
    with pytest.raises(LogtoTransportError, match="after 4 attempt"):
        connect(management_app, max_attempts=4).management_request("GET", "/users")
    assert _calls(emulator, "/api/users") == 4


def test_each_retry_is_logged_at_info(emulator: LogtoEmulator, management_app: M2MApp, connect: HookFactory,
                                      caplog: pytest.LogCaptureFixture) -> None:
    emulator.add_fault("status", "/api/users", status=503, count=2)
    with caplog.at_level(logging.INFO):
        connect(management_app).management_request("GET", "/users")
    retries = [r for r in caplog.records if "retrying in" in r.getMessage()]
    assert [r.levelno for r in retries] == [logging.INFO, logging.INFO]
    assert "answered HTTP 503" in retries[0].getMessage() and "attempt 2 of 5" in retries[0].getMessage()


def test_retry_after_is_honoured(emulator: LogtoEmulator, management_app: M2MApp, connect: HookFactory,
                                 caplog: pytest.LogCaptureFixture) -> None:
    emulator.add_fault("status", "/api/users", status=429, retry_after=1, count=1)
    hook = connect(management_app)
    hook.get_access_token()
    started = time.monotonic()
    with caplog.at_level(logging.INFO):
        hook.management_request("GET", "/users")
    assert time.monotonic() - started >= 0.95
    assert any("retrying in 1.00 s" in r.getMessage() for r in caplog.records)


def test_retry_after_beyond_the_deadline_gives_up_at_once(emulator: LogtoEmulator, management_app: M2MApp,
                                                          connect: HookFactory) -> None:
    emulator.add_fault("status", "/api/users", status=429, retry_after=3600, count=None)
    hook = connect(management_app, retry_deadline=5)
    with pytest.raises(LogtoApiError, match="429") as raised:
        hook.management_request("GET", "/users")
    assert raised.value.status == 429
    assert _calls(emulator, "/api/users") == 1


def test_wrong_secret_is_never_retried(emulator: LogtoEmulator, management_app: M2MApp,
                                       connect: HookFactory) -> None:
    with pytest.raises(LogtoTokenError):
        connect(M2MApp(management_app.id, "wrong-secret", "x")).management_request("GET", "/users")
    assert token_requests(emulator) == 1


# --- writes ---------------------------------------------------------------------------------------------------
def test_writes_are_not_retried_on_5xx(emulator: LogtoEmulator, management_app: M2MApp,
                                       connect: HookFactory) -> None:
    emulator.add_fault("status", "/api/users", method="POST", status=503, count=1)
    with pytest.raises(LogtoApiError) as raised:
        connect(management_app).management_request("POST", "/users", json={"username": "jane"})
    assert raised.value.status == 503
    assert _calls(emulator, "/api/users", "POST") == 1


def test_writes_are_not_retried_after_a_dropped_connection(emulator: LogtoEmulator, management_app: M2MApp,
                                                           connect: HookFactory) -> None:
    emulator.add_fault("drop", "/api/users", method="POST", count=1)
    with pytest.raises(LogtoTransportError, match="after 1 attempt"):
        connect(management_app).management_request("POST", "/users", json={"username": "jane"})
    assert _calls(emulator, "/api/users", "POST") == 1


def test_writes_are_retried_on_429(emulator: LogtoEmulator, management_app: M2MApp, connect: HookFactory) -> None:
    emulator.add_fault("status", "/api/users", method="POST", status=429, count=2)
    user = connect(management_app).management_request("POST", "/users", json={"username": "jane"})
    assert user["username"] == "jane"
    assert _calls(emulator, "/api/users", "POST") == 3
    assert len(emulator.state.users) == 1


def test_writes_are_retried_when_the_connection_is_refused(emulator: LogtoEmulator, management_app: M2MApp,
                                                           connect: HookFactory,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    hook = connect(management_app, api_base_url=f"http://127.0.0.1:{closed_port}", resource="https://shopping.api",
                   scopes="", max_attempts=3)
    with caplog.at_level(logging.INFO), pytest.raises(LogtoTransportError, match="after 3 attempt"):
        hook.resource_request("POST", "/products", json={"name": "x"})
    assert len([r for r in caplog.records if "retrying in" in r.getMessage()]) == 2


# --- 401: one refresh -----------------------------------------------------------------------------------------
def test_401_refreshes_the_token_once(emulator: LogtoEmulator, management_app: M2MApp, connect: HookFactory) -> None:
    hook = connect(management_app)
    old = hook.get_access_token()
    emulator.rotate_signing_key()  # the cached token no longer verifies
    assert hook.management_request("GET", "/users") == []
    assert hook.get_access_token() != old
    assert token_requests(emulator) == 2
    assert [e.status for e in emulator.journal.entries(path="/api/users")] == [401, 200]


def test_second_401_is_an_error_that_explains(emulator: LogtoEmulator, management_app: M2MApp,
                                              connect: HookFactory) -> None:
    emulator.add_fault("status", "/api/users", status=401, count=None)
    with pytest.raises(LogtoApiError) as raised:
        connect(management_app).management_request("GET", "/users")
    assert raised.value.status == 401
    assert "tenant_id" in str(raised.value) and "custom domain" in str(raised.value)
    assert token_requests(emulator) == 2
    assert _calls(emulator, "/api/users") == 2


def test_401_on_the_resource_api_refreshes_too(emulator: LogtoEmulator, shop_app: M2MApp,
                                               connect: HookFactory) -> None:
    hook = connect(shop_app, resource="https://shopping.api", scopes="read:products")
    hook.get_access_token()
    emulator.rotate_signing_key()
    assert len(hook.resource_request("GET", "/products")) == 2
    assert token_requests(emulator) == 2


# --- where the token may go ----------------------------------------------------------------------------------
@pytest.fixture
def stranger() -> LogtoEmulator:
    with LogtoEmulator() as other:
        yield other


@pytest.mark.parametrize("shape", ["{base}/api/users", "//{host}/api/users", "{base}/oidc/token"])
def test_foreign_hosts_are_refused_before_any_token(emulator: LogtoEmulator, management_app: M2MApp,
                                                    connect: HookFactory, stranger: LogtoEmulator,
                                                    shape: str) -> None:
    endpoint = shape.format(base=stranger.endpoint, host=stranger.endpoint.split("//")[1])
    hook = connect(management_app)
    with pytest.raises(LogtoUnsafeUrlError):
        hook.management_request("GET", endpoint)
    assert stranger.journal.entries() == []
    assert token_requests(emulator) == 0


@pytest.mark.parametrize("endpoint", ["/api/../oidc/token", "/users/%2e%2e/%2e%2e/oidc", "\\\\evil.example/x",
                                      "https://user@{host}/api/users", "/users#frag"])
def test_tricky_endpoints_are_refused(emulator: LogtoEmulator, management_app: M2MApp, connect: HookFactory,
                                      endpoint: str) -> None:
    with pytest.raises(LogtoUnsafeUrlError):
        connect(management_app).management_request(
            "GET", endpoint.format(host=emulator.endpoint.split("//")[1]))


def test_the_resource_api_is_bound_to_api_base_url(emulator: LogtoEmulator, shop_app: M2MApp, connect: HookFactory,
                                                   stranger: LogtoEmulator) -> None:
    hook = connect(shop_app, resource="https://shopping.api", scopes="read:products")
    with pytest.raises(LogtoUnsafeUrlError):
        hook.resource_request("GET", f"{stranger.resource_api_url}/products")
    with pytest.raises(LogtoUnsafeUrlError):
        hook.resource_request("GET", f"{emulator.endpoint}/api/users")  # the Logto host is not the API base
    assert stranger.journal.entries() == []


@pytest.mark.parametrize(("method", "status"), [("GET", 302), ("POST", 307)])
def test_redirects_to_another_host_are_not_followed(emulator: LogtoEmulator, shop_app: M2MApp,
                                                    connect: HookFactory, stranger: LogtoEmulator, method: str,
                                                    status: int) -> None:
    emulator.add_fault("redirect", "/products", server="resource", status=status, count=None,
                       location=f"{stranger.resource_api_url}/products")
    hook = connect(shop_app, resource="https://shopping.api", scopes="read:products write:products")
    with pytest.raises(LogtoUnsafeUrlError, match="not followed"):
        hook.resource_request(method, "/products", json={"name": "private"} if method == "POST" else None)
    assert stranger.journal.entries() == []  # neither the token nor the body went there


def test_redirects_leaving_the_base_path_are_not_followed(emulator: LogtoEmulator, management_app: M2MApp,
                                                          connect: HookFactory) -> None:
    emulator.add_fault("redirect", "/api/users", location=f"{emulator.endpoint}/oidc/me")
    with pytest.raises(LogtoUnsafeUrlError):
        connect(management_app).management_request("GET", "/users")
    assert emulator.journal.entries(path="/oidc/me") == []


def test_redirects_within_the_base_are_followed_with_the_token(emulator: LogtoEmulator, shop_app: M2MApp,
                                                                connect: HookFactory) -> None:
    emulator.add_fault("redirect", "/old-products", server="resource", location="/products")
    hook = connect(shop_app, resource="https://shopping.api", scopes="read:products")
    assert len(hook.resource_request("GET", "/old-products")) == 2
    followed = emulator.journal.entries(server="resource", path="/products")
    assert followed[-1].status == 200 and followed[-1].headers["authorization"].startswith("Bearer ")


def test_absolute_url_under_the_base_is_accepted(emulator: LogtoEmulator, management_app: M2MApp,
                                                 connect: HookFactory) -> None:
    hook = connect(management_app)
    assert hook.management_request("GET", f"{emulator.endpoint}/api/users") == []


@pytest.mark.parametrize("endpoint", ["/api/users", "/users", "users", "api/users", "/users?search=%25a%25"])
def test_api_prefix_may_be_given_or_omitted(emulator: LogtoEmulator, management_app: M2MApp, connect: HookFactory,
                                            endpoint: str) -> None:
    connect(management_app).management_request("GET", endpoint)
    assert _calls(emulator, "/api/users") == 1


def test_headers_cannot_override_authorization(emulator: LogtoEmulator, shop_app: M2MApp,
                                               connect: HookFactory) -> None:
    hook = connect(shop_app, resource="https://shopping.api", scopes="read:products")
    with pytest.raises(LogtoUsageError):
        hook.resource_request("GET", "/products", headers={"Authorization": "Bearer mine"})


# --- pagination -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("count", "pages"), [(0, 1), (1, 1), (100, 1), (101, 2), (250, 3)])
def test_pagination_across_page_boundaries(emulator: LogtoEmulator, management_app: M2MApp, connect: HookFactory,
                                           count: int, pages: int) -> None:
    created = [emulator.add_user(f"user{number}")["id"] for number in range(count)]
    items = list(connect(management_app).management_paginate("/users"))
    assert [u["id"] for u in items] == list(reversed(created))  # newest first, none lost or repeated
    requests_made = emulator.journal.entries(path="/api/users")
    assert len(requests_made) == pages
    assert [e.query["page"] for e in requests_made] == [[str(n)] for n in range(1, pages + 1)]
    assert all(e.query["page_size"] == ["100"] for e in requests_made)


def test_pagination_with_small_pages_and_search(emulator: LogtoEmulator, management_app: M2MApp,
                                                connect: HookFactory) -> None:
    for number in range(7):
        emulator.add_user(f"match{number}")
    emulator.add_user("other")
    items = list(connect(management_app).management_paginate("/users", params={"search.username": "match%"},
                                                             page_size=3))
    assert len(items) == 7
    assert len(emulator.journal.entries(path="/api/users")) == 3


def test_pagination_is_lazy(emulator: LogtoEmulator, management_app: M2MApp, connect: HookFactory) -> None:
    for number in range(5):
        emulator.add_user(f"user{number}")
    stream = connect(management_app).management_paginate("/users", page_size=2)
    assert next(stream)["username"] == "user4"
    assert len(emulator.journal.entries(path="/api/users")) == 1


def test_unpaginated_endpoint_is_read_once(emulator: LogtoEmulator, management_app: M2MApp,
                                           connect: HookFactory) -> None:
    apps = list(connect(management_app).management_paginate("/applications"))
    assert [a["id"] for a in apps] == [management_app.id]


@pytest.mark.parametrize(("kwargs", "message"), [({"page_size": 0}, "page_size"), ({"page_size": 101}, "page_size"),
                                                 ({"params": {"page": 2}}, "page and page_size"),
                                                 ({"endpoint": "/users?page_size=2"}, "page and page_size")])
def test_bad_pagination_arguments(emulator: LogtoEmulator, management_app: M2MApp, connect: HookFactory,
                                  kwargs: dict, message: str) -> None:
    with pytest.raises(LogtoUsageError, match=message):
        connect(management_app).management_paginate(**{"endpoint": "/users", **kwargs})
    assert emulator.journal.entries() == []


# --- decoding and errors -----------------------------------------------------------------------------------------
def test_management_request_decoding(emulator: LogtoEmulator, management_app: M2MApp, connect: HookFactory) -> None:
    hook = connect(management_app)
    user = hook.management_request("POST", "/users", json={"username": "jane"})
    assert user["username"] == "jane"
    role = emulator.add_role("editor", role_type="User")
    assert hook.management_request("POST", f"/roles/{role['id']}/users", json={"userIds": [user["id"]]}) is None
    assert hook.management_request("DELETE", f"/users/{user['id']}") is None


def test_api_errors_carry_logto_fields(emulator: LogtoEmulator, management_app: M2MApp,
                                       connect: HookFactory) -> None:
    emulator.add_user("jane")
    with pytest.raises(LogtoApiError) as raised:
        connect(management_app).management_request("POST", "/users", json={"username": "jane"})
    error = raised.value
    assert (error.status, error.code, error.method, error.path) == (422, "user.username_already_in_use", "POST",
                                                                     "/api/users")
    assert error.request_id and error.request_id in str(error)


def test_html_error_page_is_reported_readably(emulator: LogtoEmulator, management_app: M2MApp,
                                              connect: HookFactory) -> None:
    emulator.add_fault("html", "/api/users", method="POST", status=502)
    with pytest.raises(LogtoApiError, match="non-JSON") as raised:
        connect(management_app).management_request("POST", "/users", json={})
    assert raised.value.status == 502 and raised.value.code is None


def test_malformed_json_success_is_an_error(emulator: LogtoEmulator, management_app: M2MApp,
                                            connect: HookFactory) -> None:
    emulator.add_fault("non_json", "/api/users")
    with pytest.raises(LogtoApiError, match="malformed JSON"):
        connect(management_app).management_request("GET", "/users")


def test_unknown_method_is_refused_before_http(emulator: LogtoEmulator, management_app: M2MApp,
                                               connect: HookFactory) -> None:
    with pytest.raises(LogtoUsageError, match="method 'FETCH'"):
        connect(management_app).management_request("FETCH", "/users")
    assert emulator.journal.entries() == []


# --- the resource API -----------------------------------------------------------------------------------------
def test_resource_request_reads_and_writes(emulator: LogtoEmulator, shop_app: M2MApp, connect: HookFactory) -> None:
    hook = connect(shop_app, resource="https://shopping.api", scopes="read:products write:products")
    assert len(hook.resource_request("GET", "/products")) == 2
    created = hook.resource_request("POST", "products", json={"name": "Sticker", "price": 2},
                                    headers={"X-Request-Source": "airflow"})
    assert created["name"] == "Sticker"
    (post,) = emulator.journal.entries(server="resource", method="POST")
    assert post.headers["x-request-source"] == "airflow"
    assert post.headers["authorization"].startswith("Bearer ")


def test_resource_api_403_explains_scopes(emulator: LogtoEmulator, shop_app: M2MApp, connect: HookFactory) -> None:
    hook = connect(shop_app, resource="https://shopping.api", scopes="read:products")
    with pytest.raises(LogtoApiError) as raised:
        hook.resource_request("POST", "/products", json={"name": "x"})
    assert raised.value.status == 403 and raised.value.code == "insufficient_scope"
    assert "scopes" in str(raised.value)


def test_resource_request_needs_base_url_and_resource(emulator: LogtoEmulator, shop_app: M2MApp,
                                                      connect: HookFactory,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    hook = connect(shop_app)
    with pytest.raises(LogtoUsageError, match="no API resource"):
        hook.resource_request("GET", "/products")
    assert emulator.journal.entries() == []


def test_resource_text_answers_are_returned_as_text(emulator: LogtoEmulator, shop_app: M2MApp,
                                                    connect: HookFactory) -> None:
    emulator.add_fault("html", "/products", server="resource", status=200)
    hook = connect(shop_app, resource="https://shopping.api", scopes="read:products")
    assert hook.resource_request("GET", "/products").startswith("<html>")


# --- secrets never leak ---------------------------------------------------------------------------------------
def test_secret_and_tokens_never_appear_in_logs_or_errors(emulator: LogtoEmulator, management_app: M2MApp,
                                                          connect: HookFactory,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    from airflow.providers.common.compat.sdk import redact

    emulator.add_fault("status", "/api/users", status=503, count=1)
    emulator.add_fault("status", "/api/users", status=401, count=2)
    hook = connect(management_app)
    errors: list[str] = []
    with caplog.at_level(logging.DEBUG):
        token = hook.get_access_token()
        with pytest.raises(LogtoError) as raised:
            hook.management_request("GET", "/users")
        errors.append(str(raised.value))
        errors.append(repr(raised.value))
        errors.append(repr(hook.settings))
        with pytest.raises(LogtoTokenError) as refused:
            connect(M2MApp(management_app.id, "another-wrong-secret", "x"), conn_id="bad").get_access_token()
        errors.append(str(refused.value))
    tokens = {token, hook.get_access_token()}
    everything = caplog.text + "\n".join(errors)
    for secret in (management_app.secret, "another-wrong-secret", *tokens):
        assert secret not in everything
    for secret in (management_app.secret, *tokens):
        assert redact(f"x {secret} y") == "x *** y", "not registered with Airflow's secret masker"


# --- test_connection ----------------------------------------------------------------------------------------------
def test_test_connection_success(emulator: LogtoEmulator, management_app: M2MApp, connect: HookFactory) -> None:
    ok, message = connect(management_app).test_connection()
    assert ok is True
    assert management_app.id in message and "https://default.logto.app/api" in message and "all" in message
    assert [e.path for e in emulator.journal.entries()] == ["/oidc/token"]


def test_test_connection_failure(emulator: LogtoEmulator, management_app: M2MApp, connect: HookFactory) -> None:
    ok, message = connect(M2MApp(management_app.id, "wrong-secret", "x")).test_connection()
    assert ok is False
    assert "invalid_client" in message and "wrong-secret" not in message


def test_test_connection_reports_missing_role(emulator: LogtoEmulator, connect: HookFactory) -> None:
    ok, message = connect(emulator.add_m2m_app("no roles", roles=[])).test_connection()
    assert ok is False and "Logto Management API access" in message


def test_test_connection_unreachable(management_app: M2MApp, connect: HookFactory) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    hook = connect(management_app, max_attempts=1)
    hook.settings  # noqa: B018 - load it, then point it at a closed port
    object.__setattr__(hook.settings, "endpoint", f"http://127.0.0.1:{port}")
    ok, message = hook.test_connection()
    assert ok is False and "ConnectionError" in message
    # plain words (no urllib3 repr), the machine the Test ran on (not "the worker"), and a full stop
    assert f"the connection to 127.0.0.1:{port} was refused: nothing listens there" in message, message
    assert f"reachable from this machine ({socket.gethostname()})" in message and "worker" not in message
    assert "HTTPConnectionPool" not in message and "Caused by" not in message and message.endswith(".")


def test_session_keeps_connections_alive(emulator: LogtoEmulator, management_app: M2MApp,
                                         connect: HookFactory) -> None:
    hook = connect(management_app)
    assert isinstance(hook.get_conn(), requests.Session)
    for _ in range(5):
        hook.management_request("GET", "/users")
    assert hook.get_conn() is hook.get_conn()
    hook.close()
