"""Small HTTP helpers for the emulator contract suite (plain requests, no patching)."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import requests

from airflow_provider_logto.testing import LogtoEmulator, M2MApp


def token_response(emulator: LogtoEmulator, app: M2MApp | None, *, auth: str = "basic",
                   **params: Any) -> requests.Response:
    """POST /oidc/token with grant_type=client_credentials unless overridden; ``auth`` is basic, post or none."""
    data = {"grant_type": "client_credentials", **params}
    data = {key: value for key, value in data.items() if value is not None}
    basic = None
    if app is not None and auth == "basic":
        basic = (app.id, app.secret)
    elif app is not None and auth == "post":
        data.update(client_id=app.id, client_secret=app.secret)
    return requests.post(f"{emulator.endpoint}/oidc/token", data=data, auth=basic, timeout=10)


def access_token(emulator: LogtoEmulator, app: M2MApp, resource: str | None = None,
                 scope: str | None = "all") -> str:
    response = token_response(emulator, app, resource=resource or emulator.management_api_resource, scope=scope)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


class Api:
    """Authenticated calls to the emulated Management API."""

    def __init__(self, emulator: LogtoEmulator, token: str) -> None:
        self.base = f"{emulator.endpoint}/api"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def __call__(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.session.request(method, f"{self.base}{path}", timeout=10, **kwargs)


@contextlib.contextmanager
def running_cli(*args: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """``python -m airflow_provider_logto.testing ARGS`` on free ports; yields its banner (up to ``Ctrl-C``)."""
    process = subprocess.Popen([sys.executable, "-m", "airflow_provider_logto.testing", "--port", "0",
                                "--resource-port", "0", *args], stdout=subprocess.PIPE, text=True)
    try:
        lines = []
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if line.startswith("Ctrl-C"):
                break
        yield "".join(lines), process
    finally:
        process.terminate()
        process.wait(timeout=10)


def endpoint_of(banner: str) -> str:
    """The Logto endpoint a CLI banner names."""
    return banner.split("Logto emulator: ")[1].split()[0]
