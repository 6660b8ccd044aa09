"""Audit-log history for the demo tenant: a few hundred entries over the last days, as Logto would have written
them — M2M token requests through Basic and through the form (whose entries hold the app's internal secret),
failed ones (a wrong secret, an unknown API) with their error strings, and users' sign-ins — so the audit-log
export example has something to export (and to redact) the first time it runs."""

from __future__ import annotations

import random
from collections.abc import Sequence

from airflow_provider_logto.testing.http import Request
from airflow_provider_logto.testing.oidc import OidcError
from airflow_provider_logto.testing.state import M2MApp, TenantState, now_ms
from airflow_provider_logto.testing.state.base import new_secret
from airflow_provider_logto.testing.state.logs import LogRecord
from airflow_provider_logto.testing.token_log import DEFAULT_SECRET_NAME, TokenAttempt, token_log_record

_HOUR_MS = 3_600_000
_USER_AGENTS = ("python-requests/2.32.3", "airflow-provider-logto (Airflow 3.1.8)", "curl/8.5.0")
_SIGN_IN_STEPS = ("Interaction.Create", "Interaction.SignIn.Identifier.Submit", "Interaction.SignIn.Submit",
                  "Interaction.End")


def _token_request(state: TenantState, app: M2MApp, resource: str, created_at: int, rng: random.Random,
                   kind: str) -> LogRecord:
    """One token request's entry: ``basic``, ``post`` (the internal secret in ``params``), ``wrong-secret`` or
    ``unknown-resource``."""
    form = {"grant_type": "client_credentials", "resource": resource, "scope": "all"}
    attempt = TokenAttempt(routed=True, application_id=app.id)
    if kind in ("post", "wrong-secret"):
        form["client_id"] = app.id
        form["client_secret"] = state.internal_secrets[app.id] if kind == "post" else new_secret()
    if kind in ("basic", "post"):
        attempt.application_secret = DEFAULT_SECRET_NAME
    attempt.params = form
    request = Request("POST", "/oidc/token", {}, {"user-agent": rng.choice(_USER_AGENTS)}, b"", "/oidc/token",
                      client_ip=f"10.0.{rng.randrange(4)}.{rng.randrange(2, 250)}")
    if kind == "wrong-secret":
        error = OidcError(401, "invalid_client", "client authentication failed", detail="invalid secret provided")
        return token_log_record(state, request, attempt, error=error, created_at=created_at)
    if kind == "unknown-resource":
        attempt.params = {**form, "resource": "https://api.unknown.example"}
        error = OidcError(400, "invalid_target", "resource indicator is missing, or unknown")
        return token_log_record(state, request, attempt, error=error, created_at=created_at)
    return token_log_record(state, request, attempt, created_at=created_at,
                            body={"access_token": "issued", "scope": "all"})


def seed_audit_history(state: TenantState, apps: Sequence[M2MApp], user_ids: Sequence[str], resource: str, *,
                       hours: int = 72, seed: int = 16) -> int:
    """Write ``hours`` of history ending now (about five entries an hour, a few in the same millisecond);
    returns how many entries were written."""
    rng = random.Random(seed)
    now = now_ms()
    records: list[LogRecord] = []
    kinds = ("basic", "basic", "basic", "post", "wrong-secret", "unknown-resource")
    for hour in range(hours, 0, -1):
        start = now - hour * _HOUR_MS
        for _ in range(rng.randrange(2, 6)):
            created = start + rng.randrange(_HOUR_MS)
            records.append(_token_request(state, rng.choice(apps), resource, created, rng, rng.choice(kinds)))
            if rng.random() < 0.1:  # another request in the same millisecond: Logto has no tie-break
                records.append(_token_request(state, rng.choice(apps), resource, created, rng, "basic"))
        if user_ids and rng.random() < 0.5:
            user_id, moment = rng.choice(user_ids), start + rng.randrange(_HOUR_MS - 10_000)
            for step, key in enumerate(_SIGN_IN_STEPS):
                records.append(state.build_log(key, created_at=moment + step * 2_000, user_id=user_id,
                                               payload={"ip": "203.0.113.7", "userAgent": "Mozilla/5.0"}))
    return state.insert_logs(records)
