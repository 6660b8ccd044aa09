"""Provider metadata that Airflow reads through the ``apache_airflow_provider`` entry point."""

from __future__ import annotations

from typing import Any

from airflow_provider_logto import __version__
from airflow_provider_logto.connection.form import connection_type_info


def get_provider_info() -> dict[str, Any]:
    """Describe the provider to Airflow's ProvidersManager (name, versions, connection types)."""
    return {
        "package-name": "airflow-provider-logto",
        "name": "Logto",
        "description": "Logto identity platform: M2M access tokens, the Logto Management API and "
        "your own APIs protected by Logto.",
        "versions": [__version__],
        "connection-types": [connection_type_info()],
    }
