"""The demo tenant: what ``make demo``, ``python -m airflow_provider_logto.testing`` and the example-DAG tests
seed into an emulator."""

from __future__ import annotations

from airflow_provider_logto.testing.emulator import LogtoEmulator
from airflow_provider_logto.testing.resource_server import (
    SHOPPING_API_INDICATOR,
    SHOPPING_API_SCOPES,
)
from airflow_provider_logto.testing.state import MANAGEMENT_API_ROLE

SHOPPING_ROLE = "Shopping service"


def seed_demo(emulator: LogtoEmulator, users: int = 0) -> dict[str, str]:
    """Seed the demo apps (and ``users`` sample users); return ``{AIRFLOW_CONN_* name: value}``.

    ``logto_default`` is an app holding both the Management API role and a role on the shopping API, so every
    example DAG runs with it; ``logto_shopping`` holds only the shopping role and defaults to that API.
    """
    emulator.add_role(SHOPPING_ROLE, {SHOPPING_API_INDICATOR: SHOPPING_API_SCOPES})
    management_app = emulator.add_m2m_app("Airflow", roles=[MANAGEMENT_API_ROLE, SHOPPING_ROLE])
    shopping_app = emulator.add_m2m_app("Airflow (shopping API only)", roles=[SHOPPING_ROLE])
    for number in range(1, users + 1):
        emulator.add_user(f"user{number}", primary_email=f"user{number}@example.com", name=f"User {number}")
    return {
        "AIRFLOW_CONN_LOGTO_DEFAULT": emulator.airflow_connection(management_app),
        "AIRFLOW_CONN_LOGTO_SHOPPING": emulator.airflow_connection(
            shopping_app, resource=SHOPPING_API_INDICATOR, scopes=SHOPPING_API_SCOPES),
    }
