"""Contract: the command line keeps the demo apps' credentials when asked, and a busy port is one clear line."""

from __future__ import annotations

import json
import shlex
import socket
import subprocess
import sys
from pathlib import Path

import requests

from tests.emulator.helpers import endpoint_of, running_cli


def _connection(banner: str, name: str = "AIRFLOW_CONN_LOGTO_DEFAULT") -> dict:
    line = next(line for line in banner.splitlines() if line.startswith(f"export {name}="))
    return json.loads(shlex.split(line.split("=", 1)[1])[0])


def _token_status(endpoint: str, connection: dict) -> int:
    return requests.post(f"{endpoint}/oidc/token", auth=(connection["login"], connection["password"]), timeout=10,
                         data={"grant_type": "client_credentials", "resource": "https://default.logto.app/api",
                               "scope": "all"}).status_code


def test_state_file_keeps_credentials_across_restarts(tmp_path: Path) -> None:
    state = tmp_path / "emulator.json"
    with running_cli("--state-file", str(state), "--users", "0") as (first, _):
        saved = _connection(first)
    assert state.stat().st_mode & 0o777 == 0o600
    assert json.loads(state.read_text())["Airflow"] == {"id": saved["login"], "secret": saved["password"]}
    with running_cli("--state-file", str(state), "--users", "0") as (second, _):
        again = _connection(second)
        assert (again["login"], again["password"]) == (saved["login"], saved["password"])
        assert _token_status(endpoint_of(second), saved) == 200
        shopping = _connection(second, "AIRFLOW_CONN_LOGTO_SHOPPING")
        assert shopping["login"] == json.loads(state.read_text())["Airflow (shopping API only)"]["id"]


def test_explicit_credentials(tmp_path: Path) -> None:
    with running_cli("--app-id", "myairflowapp", "--app-secret", "s3cret-value") as (banner, _):
        connection = _connection(banner)
        assert (connection["login"], connection["password"]) == ("myairflowapp", "s3cret-value")
        assert _token_status(endpoint_of(banner), connection) == 200


def test_broken_state_file_names_it(tmp_path: Path) -> None:
    state = tmp_path / "emulator.json"
    state.write_text("not json")
    done = subprocess.run([sys.executable, "-m", "airflow_provider_logto.testing", "--port", "0",
                           "--resource-port", "0", "--state-file", str(state)],
                          check=False, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and str(state) in done.stderr


def test_busy_port_is_one_line_naming_the_option() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        for option, other in (("--port", "--resource-port"), ("--resource-port", "--port")):
            done = subprocess.run([sys.executable, "-m", "airflow_provider_logto.testing", option, str(port),
                                   other, "0"], check=False, capture_output=True, text=True, timeout=60)
            assert done.returncode == 1
            assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
            assert f"port {port} is already in use" in done.stderr and f"with {option} " in done.stderr
