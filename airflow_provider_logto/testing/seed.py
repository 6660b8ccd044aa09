"""The demo tenant: what ``make demo``, ``python -m airflow_provider_logto.testing`` and the example-DAG tests
seed into an emulator — with fixed app credentials when given, so a connection saved in the Airflow UI keeps
working after the emulator restarts."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

from airflow_provider_logto.testing.emulator import LogtoEmulator
from airflow_provider_logto.testing.history import seed_audit_history
from airflow_provider_logto.testing.resource_server import (
    SHOPPING_API_INDICATOR,
    SHOPPING_API_SCOPES,
)
from airflow_provider_logto.testing.state import MANAGEMENT_API_ROLE, M2MApp, new_id
from airflow_provider_logto.testing.state.base import new_secret

SHOPPING_ROLE = "Shopping service"
MANAGEMENT_APP = "Airflow"
SHOPPING_APP = "Airflow (shopping API only)"
DEMO_APPS = (MANAGEMENT_APP, SHOPPING_APP)

Credentials = Mapping[str, tuple[str, str]]


def seed_demo(emulator: LogtoEmulator, users: int = 0, credentials: Credentials | None = None,
              history_hours: int = 72) -> dict[str, str]:
    """Seed the demo apps (and ``users`` sample users, and ``history_hours`` of audit-log history); return
    ``{AIRFLOW_CONN_* name: value}``.

    ``logto_default`` is an app holding both the Management API role and a role on the shopping API, so every
    example DAG runs with it; ``logto_shopping`` holds only the shopping role and defaults to that API.
    ``credentials`` maps an app name (:data:`DEMO_APPS`) to its ``(id, secret)``; apps not in it get fresh ones.
    """
    fixed = dict(credentials or {})
    unknown = set(fixed) - set(DEMO_APPS)
    if unknown:
        raise ValueError(f"no demo app named {sorted(unknown)}; the demo apps are {list(DEMO_APPS)}")
    emulator.add_role(SHOPPING_ROLE, {SHOPPING_API_INDICATOR: SHOPPING_API_SCOPES})

    def app(name: str, roles: list[str]) -> M2MApp:
        app_id, secret = fixed.get(name, (None, None))
        return emulator.add_m2m_app(name, roles=roles, secret=secret, app_id=app_id)

    management_app = app(MANAGEMENT_APP, [MANAGEMENT_API_ROLE, SHOPPING_ROLE])
    shopping_app = app(SHOPPING_APP, [SHOPPING_ROLE])
    user_ids = [emulator.add_user(f"user{number}", primary_email=f"user{number}@example.com",
                                  name=f"User {number}")["id"] for number in range(1, users + 1)]
    if history_hours:
        seed_audit_history(emulator.state, [management_app, shopping_app], user_ids,
                           emulator.management_api_resource, hours=history_hours)
    return {
        "AIRFLOW_CONN_LOGTO_DEFAULT": emulator.airflow_connection(management_app),
        "AIRFLOW_CONN_LOGTO_SHOPPING": emulator.airflow_connection(
            shopping_app, resource=SHOPPING_API_INDICATOR, scopes=SHOPPING_API_SCOPES),
    }


def load_or_create_credentials(path: Path) -> dict[str, tuple[str, str]]:
    """The demo apps' credentials kept in ``path`` (JSON ``{name: {"id", "secret"}}``), created (mode 0600)
    with fresh ones when the file does not exist yet. A malformed file is a ``ValueError`` naming it."""
    if path.exists():
        try:
            stored = json.loads(path.read_text())
            credentials = {name: (str(entry["id"]), str(entry["secret"])) for name, entry in stored.items()}
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            raise ValueError(f"{path} is not an emulator state file ({error!r}); delete it to start afresh") from None
        for name in DEMO_APPS:
            credentials.setdefault(name, (new_id(), new_secret()))
        return credentials
    credentials = {name: (new_id(), new_secret()) for name in DEMO_APPS}
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump({name: {"id": app_id, "secret": secret} for name, (app_id, secret) in credentials.items()},
                  file, indent=2)
    return credentials
