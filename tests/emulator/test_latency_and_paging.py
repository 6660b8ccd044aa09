"""Contract: injected network latency (per request, concurrent requests overlap), the Cloud-like rate limit on
the command line, and user listing from the creation-order index (Logto's ``createdAt desc``)."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from airflow_provider_logto.testing import LogtoEmulator
from tests.emulator.helpers import Api, endpoint_of, running_cli


def _status(endpoint: str) -> int:
    return requests.get(f"{endpoint}/api/status", timeout=10).status_code


def test_latency_delays_each_request_by_at_least_latency_minus_jitter() -> None:
    with LogtoEmulator(latency=0.2, jitter=0.05) as emulator:
        for _ in range(3):
            started = time.perf_counter()
            assert _status(emulator.endpoint) == 204
            assert time.perf_counter() - started >= 0.15


def test_latency_does_not_serialize_concurrent_requests(emulator: LogtoEmulator) -> None:
    """Five requests in flight at once, 0.4 s each: served one after another, the journal's answer times would
    spread over >= 1.6 s; overlapping, they land together."""
    emulator.set_latency(0.4)
    threads = [threading.Thread(target=_status, args=(emulator.endpoint,)) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    answered = [entry.at for entry in emulator.journal.entries(path="/api/status")]
    assert len(answered) == 5
    assert max(answered) - min(answered) < 0.8


def test_latency_applies_to_the_resource_server_and_can_be_turned_off(emulator: LogtoEmulator) -> None:
    emulator.set_latency(0.3)
    started = time.perf_counter()
    requests.get(f"{emulator.resource_api_url}/products", timeout=10)
    assert time.perf_counter() - started >= 0.3
    emulator.set_latency(0)
    assert emulator.latency.seconds == 0


@pytest.mark.parametrize(("latency", "jitter"), [(-0.1, 0), (0.01, 0.02), (0.1, -1)])
def test_bad_latency_is_a_value_error(emulator: LogtoEmulator, latency: float, jitter: float) -> None:
    with pytest.raises(ValueError):
        emulator.set_latency(latency, jitter)


def test_command_line_latency_and_rate_limit() -> None:
    with running_cli("--rate-limit", "3", "--rate-limit-seconds", "60", "--latency", "0.1",
                     "--jitter", "0.01") as (banner, _):
        endpoint = endpoint_of(banner)
        started = time.perf_counter()
        assert [_status(endpoint) for _ in range(4)] == [204, 204, 204, 429]
        assert time.perf_counter() - started >= 4 * 0.09


@pytest.mark.parametrize("args", [("--latency", "0.01", "--jitter", "0.02"), ("--rate-limit", "-1"),
                                  ("--rate-limit", "5", "--rate-limit-seconds", "0")])
def test_command_line_refuses_bad_latency_and_rate_limit(args: tuple[str, ...]) -> None:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "airflow_provider_logto.testing", "--port", "0",
                           "--resource-port", "0", *args], check=False, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "--" in done.stderr.splitlines()[-1]


def test_users_page_in_creation_order_newest_first_across_deletions(emulator: LogtoEmulator, api: Api) -> None:
    users = [emulator.add_user(f"u{number:03}") for number in range(250)]
    for gone in (users[0], users[100], users[249]):
        assert api("DELETE", f"/users/{gone['id']}").status_code == 204
    expected = [u["username"] for u in reversed(users) if u not in (users[0], users[100], users[249])]
    seen: list[str] = []
    for page in range(1, 4):
        response = api("GET", "/users", params={"page": page, "page_size": 100})
        assert response.headers["Total-Number"] == "247"
        seen.extend(user["username"] for user in response.json())
    assert seen == expected
    newest = api("POST", "/users", json={"username": "newest"}).json()
    assert api("GET", "/users", params={"page_size": 1}).json()[0]["id"] == newest["id"]


def test_users_search_keeps_the_same_order(emulator: LogtoEmulator, api: Api) -> None:
    for number in range(30):
        emulator.add_user(f"{'even' if number % 2 == 0 else 'odd'}{number}")
    found = api("GET", "/users", params={"search": "even%", "page_size": 100}).json()
    assert [u["username"] for u in found] == [f"even{n}" for n in range(28, -1, -2)]
