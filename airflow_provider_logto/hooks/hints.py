"""What to do about a failed call, in one sentence: the hints the hook appends to errors and to the Test
button's report."""

from __future__ import annotations

import difflib
from typing import Any

from airflow_provider_logto.auth.tokens import TokenTarget
from airflow_provider_logto.connection.form import CONN_FIELDS
from airflow_provider_logto.connection.settings import MANAGEMENT_API_ROLE, MANAGEMENT_API_SCOPE, LogtoSettings


def unknown_extras_note(settings: LogtoSettings) -> str:
    if not settings.unknown_extras:
        return ""
    notes = []
    for name in settings.unknown_extras:
        close = difflib.get_close_matches(name, list(CONN_FIELDS), n=1)
        notes.append(f"{name!r} (did you mean {close[0]!r}?)" if close else repr(name))
    return (f" Note: unknown extra field(s) {', '.join(notes)} are ignored; known fields: "
            f"{', '.join(CONN_FIELDS)}.")


def failure_hint(status: int, data: Any, management: bool, settings: LogtoSettings, target: TokenTarget) -> str:
    """What to do about an API failure, in one sentence (empty when the code says it all)."""
    app = settings.app_id
    if status == 401:
        claim = data.get("claim") if isinstance(data, dict) else None
        if management and claim == "aud":
            return (f" The Management API rejected a freshly issued token twice because of its audience "
                    f"{target.resource}: check the connection's tenant_id (now {settings.tenant_id!r}); Logto Cloud "
                    "tenants use https://<tenant>.logto.app/api, self-hosted Logto https://default.logto.app/api.")
        if management:
            return (" The Management API rejected a freshly issued token twice: check tenant_id (now "
                    f"{settings.tenant_id!r}), and on Logto Cloud with a custom domain set host to "
                    "https://<tenant>.logto.app, because the token's issuer must match the host you call.")
        return (f" Your API rejected a freshly issued token twice: make sure it validates audience "
                f"{target.resource} and trusts issuer {settings.endpoint}/oidc.")
    if status == 403 and management:
        return (f" App {app} needs a machine-to-machine role holding the Management API's '{MANAGEMENT_API_SCOPE}' "
                f"permission, e.g. \"{MANAGEMENT_API_ROLE}\".")
    if status == 403:
        return (f" The token lacks a permission this API requires: request it with scopes= (or the connection's "
                f"scopes extra) and give app {app} an M2M role that holds it.")
    if status == 429:
        return " Logto kept answering 429 Too Many Requests within the retry budget; slow the task down."
    return ""
