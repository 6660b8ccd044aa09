"""Contract: injected faults, the rate limiter, the journal and counters, and the seeding API's errors."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import pytest
import requests

from airflow_provider_logto.testing import LogtoEmulator, M2MApp
from tests.emulator.helpers import access_token, endpoint_of, running_cli, token_response


def _status(emulator: LogtoEmulator) -> requests.Response:
    return requests.get(f"{emulator.endpoint}/api/status", timeout=5)


@pytest.mark.parametrize("status", [429, 500, 502, 503])
def test_status_fault_fires_count_times(emulator: LogtoEmulator, status: int) -> None:
    fault = emulator.add_fault("status", "/api/status", status=status, count=2)
    assert [_status(emulator).status_code for _ in range(3)] == [status, status, 204]
    assert fault.fired == 2


def test_429_with_and_without_retry_after(emulator: LogtoEmulator) -> None:
    emulator.add_fault("status", "/api/status", status=429, retry_after=3)
    emulator.add_fault("status", "/api/status", status=429)
    first, second = _status(emulator), _status(emulator)
    assert (first.status_code, first.headers["Retry-After"]) == (429, "3")
    assert second.status_code == 429 and "Retry-After" not in second.headers


def test_html_error_page(emulator: LogtoEmulator) -> None:
    emulator.add_fault("html", "/api/*", status=502)
    response = _status(emulator)
    assert response.status_code == 502
    assert response.headers["Content-Type"].startswith("text/html")
    assert response.text.startswith("<html>")


def test_non_json_body(emulator: LogtoEmulator) -> None:
    emulator.add_fault("non_json", "/api/status")
    response = _status(emulator)
    assert response.status_code == 200
    with pytest.raises(ValueError):
        response.json()


def test_truncated_body(emulator: LogtoEmulator) -> None:
    emulator.add_fault("truncated", "/api/status")
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        _status(emulator)


def test_dropped_connection(emulator: LogtoEmulator) -> None:
    emulator.add_fault("drop", "/api/status")
    with pytest.raises(requests.exceptions.ConnectionError):
        _status(emulator)
    assert _status(emulator).status_code == 204


def test_delay_causes_a_client_timeout(emulator: LogtoEmulator) -> None:
    emulator.add_fault("delay", "/api/status", delay=0.5)
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(f"{emulator.endpoint}/api/status", timeout=0.1)


def test_fault_by_method_and_server(emulator: LogtoEmulator) -> None:
    emulator.add_fault("status", "/products", server="resource", method="POST", status=503, count=None)
    assert requests.get(f"{emulator.resource_api_url}/products", timeout=5).status_code == 401
    assert requests.post(f"{emulator.resource_api_url}/products", timeout=5).status_code == 503
    assert _status(emulator).status_code == 204


def test_rate_fires_on_a_share_of_requests(emulator: LogtoEmulator) -> None:
    emulator.add_fault("status", "/api/status", status=503, count=None, rate=0.5)
    statuses = [_status(emulator).status_code for _ in range(200)]
    assert 60 < statuses.count(503) < 140


def test_redirect_fault(emulator: LogtoEmulator) -> None:
    emulator.add_fault("redirect", "/products", server="resource", location="http://127.0.0.1:9/elsewhere")
    response = requests.get(f"{emulator.resource_api_url}/products", allow_redirects=False, timeout=5)
    assert response.status_code == 302
    assert response.headers["Location"] == "http://127.0.0.1:9/elsewhere"


def test_rate_limiter_token_bucket(emulator: LogtoEmulator) -> None:
    emulator.enable_rate_limit(capacity=5, per_seconds=10)
    statuses = [_status(emulator) for _ in range(6)]
    assert [r.status_code for r in statuses] == [204] * 5 + [429]
    assert int(statuses[-1].headers["Retry-After"]) >= 1
    emulator.disable_rate_limit()
    assert _status(emulator).status_code == 204


def test_rate_limiter_without_retry_after(emulator: LogtoEmulator) -> None:
    emulator.enable_rate_limit(capacity=1, per_seconds=10, send_retry_after=False)
    _status(emulator)
    limited = _status(emulator)
    assert limited.status_code == 429 and "Retry-After" not in limited.headers


@pytest.mark.parametrize("options", [{"kind": "nope"}, {"kind": "delay"}, {"kind": "redirect"},
                                     {"kind": "status", "count": 0}, {"kind": "status", "rate": 2},
                                     {"kind": "status", "server": "mars"}])
def test_bad_fault_options_raise_value_error(emulator: LogtoEmulator, options: dict) -> None:
    with pytest.raises(ValueError):
        emulator.add_fault(options.pop("kind"), "*", **options)


# --- journal and counters ------------------------------------------------------------------------------------
def test_journal_records_requests(emulator: LogtoEmulator, management_app: M2MApp) -> None:
    token_response(emulator, management_app, resource=emulator.management_api_resource, scope="all")
    requests.get(f"{emulator.endpoint}/api/users", params={"page": "2"}, headers={"X-Trace": "t1"}, timeout=5)
    token_entry, users_entry = emulator.journal.entries()
    assert (token_entry.method, token_entry.path, token_entry.status) == ("POST", "/oidc/token", 200)
    assert b"grant_type=client_credentials" in token_entry.body
    assert token_entry.headers["authorization"].startswith("Basic ")
    assert (users_entry.path, users_entry.query, users_entry.status) == ("/api/users", {"page": ["2"]}, 401)
    assert users_entry.headers["x-trace"] == "t1"
    assert emulator.journal.entries(path="/api/users", method="get") == [users_entry]


def test_token_counters_per_client_and_resource(emulator: LogtoEmulator, management_app: M2MApp) -> None:
    emulator.add_role("shop", {"https://shopping.api": ["read:products"]})
    shop = emulator.add_m2m_app("shop", roles=["shop"])
    for _ in range(2):
        token_response(emulator, management_app, resource=emulator.management_api_resource)
    token_response(emulator, shop, resource="https://shopping.api")
    token_response(emulator, shop, resource="https://nowhere.api")
    assert emulator.tokens_issued() == 3
    assert emulator.tokens_issued(client_id=management_app.id) == 2
    assert emulator.tokens_issued(resource="https://shopping.api") == 1
    assert emulator.tokens_issued(client_id=shop.id, resource=emulator.management_api_resource) == 0


# --- the seeding API -----------------------------------------------------------------------------------------
def test_seeding_errors_are_clear_value_errors(emulator: LogtoEmulator) -> None:
    with pytest.raises(ValueError, match="unknown role 'ghost'"):
        emulator.add_m2m_app("a", roles=["ghost"])
    emulator.add_m2m_app("dup")
    with pytest.raises(ValueError, match="already exists"):
        emulator.add_m2m_app("dup")
    with pytest.raises(ValueError, match="absolute URI"):
        emulator.add_resource("bad", "not a uri")
    with pytest.raises(ValueError, match="resource_identifier_in_use"):
        emulator.add_resource("again", "https://shopping.api")
    with pytest.raises(ValueError, match="has no scope 'delete:products'"):
        emulator.add_role("r", {"https://shopping.api": ["delete:products"]})
    with pytest.raises(ValueError, match="unknown API resource indicator"):
        emulator.add_role("r", {"https://nowhere.api": ["x"]})
    emulator.add_user("jane")
    with pytest.raises(ValueError, match="username_already_in_use"):
        emulator.add_user("jane")
    editor = emulator.add_role("editor", role_type="User")
    with pytest.raises(ValueError, match="User role"):
        emulator.add_m2m_app("b", roles=[editor["name"]])


def test_command_line_prints_connections() -> None:
    with running_cli("--users", "2") as (output, _):
        assert "export AIRFLOW_CONN_LOGTO_DEFAULT=" in output
        assert "export AIRFLOW_CONN_LOGTO_SHOPPING=" in output
        assert requests.get(f"{endpoint_of(output)}/api/status", timeout=5).status_code == 204


def test_a_request_whose_body_never_arrives_is_no_request(emulator: LogtoEmulator, management_app: M2MApp) -> None:
    """A worker killed between sending a write's headers and its body: the server sees the connection end short of
    ``Content-Length``. Like any HTTP server, the emulator applies nothing and journals nothing."""
    token = access_token(emulator, management_app)
    body = b'{"username": "half_sent"}'
    address = urlsplit(emulator.endpoint)
    before = len(emulator.journal.entries())
    with socket.create_connection((address.hostname, address.port), timeout=5) as connection:
        connection.sendall(b"POST /api/users HTTP/1.1\r\nHost: emulator\r\nContent-Type: application/json\r\n"
                           b"Authorization: Bearer " + token.encode() + b"\r\n"
                           b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body[:10])
        connection.shutdown(socket.SHUT_WR)
        assert connection.recv(1024) == b""  # closed without an answer
    assert emulator.journal.entries()[before:] == []
    assert not [user for user in emulator.state.users.values() if user.get("username") == "half_sent"]
    whole = requests.post(f"{emulator.endpoint}/api/users", data=body, timeout=5, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    assert whole.status_code == 200  # the same request sent whole is applied
