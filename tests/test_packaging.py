"""The installed distribution registers itself as an Airflow provider."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import distribution
from pathlib import Path

from airflow_provider_logto.get_provider_info import get_provider_info


def test_package_name_is_the_normalised_distribution_name() -> None:
    assert get_provider_info()["package-name"] == distribution("airflow-provider-logto").metadata["Name"]


def test_entry_point_points_at_get_provider_info() -> None:
    entry_points = distribution("airflow-provider-logto").entry_points
    (entry,) = [e for e in entry_points if e.group == "apache_airflow_provider"]
    assert entry.load() is get_provider_info


def test_airflow_providers_list_shows_the_provider() -> None:
    airflow = Path(sys.executable).with_name("airflow")
    result = subprocess.run([str(airflow), "providers", "list", "--output", "json"], capture_output=True,
                            text=True, timeout=180, env=os.environ.copy(), check=True)
    providers = {p["package_name"]: p for p in json.loads(result.stdout)}
    assert "airflow-provider-logto" in providers
    assert providers["airflow-provider-logto"]["version"] == get_provider_info()["versions"][0]
