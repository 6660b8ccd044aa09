"""``make demo`` against "your own Logto": only DAGs whose connections exist run; the others are named."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from airflow_provider_logto.testing import LogtoEmulator, M2MApp
from airflow_provider_logto.testing.demo import plural
from tests.conftest import EXAMPLE_DAGS


def test_plural() -> None:
    assert [plural(1, "token request"), plural(2, "token request"), plural(0, "JWKS fetch", "JWKS fetches")] == \
        ["1 token request", "2 token requests", "0 JWKS fetches"]


def test_demo_runs_what_your_connections_allow_and_says_what_it_skipped(
        emulator: LogtoEmulator, management_app: M2MApp, tmp_path: Path) -> None:
    emulator.add_user("jane", primary_email="jane@example.com")
    env = {name: value for name, value in os.environ.items() if not name.startswith("AIRFLOW_CONN_")}
    env["AIRFLOW_CONN_LOGTO_DEFAULT"] = emulator.airflow_connection(management_app, retry_backoff_ms=1)
    result = subprocess.run(
        [sys.executable, "-m", "airflow_provider_logto.testing.demo", "--home", str(tmp_path / "home"),
         "--dags-folder", str(EXAMPLE_DAGS), "--dag", "example_logto_shopping_api",
         "--dag", "example_logto_list_users"],
        env=env, capture_output=True, text=True, timeout=240, check=False)
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "Using your Logto: AIRFLOW_CONN_LOGTO_DEFAULT is set." in out
    assert "[skip] example_logto_shopping_api: no connection logto_shopping — export AIRFLOW_CONN_LOGTO_SHOPPING" in out
    assert "Listed 1 user(s): jane" in out
    assert out.index("example_logto_list_users") < out.index("[skip] example_logto_shopping_api")  # the docs' order
    assert "1 of 1 DAG run succeeded" in out and "1 DAG skipped for missing connections" in out
