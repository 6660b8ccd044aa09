"""The audit-log entry Logto writes for a token request (``event-listeners/grant.ts``, ``koa-audit-log.ts``).

``grantListener`` runs on node-oidc-provider's ``grant.success`` and ``grant.error``; the key follows the posted
``grant_type`` (``ExchangeTokenBy.ClientCredentials``; ``…Unknown`` when it is missing or unknown). The payload is
``ip`` and ``userAgent`` (``koaAuditLog``), ``key``, ``result``, then ``applicationId`` (once the client was
found), ``applicationSecret: {name}`` (when a user-visible secret was transpiled), ``params`` (the token
parameters node-oidc-provider kept — for ``client_secret_post`` with ``client_secret`` holding the app's internal
``#internal:…`` secret), ``tokenTypes``, ``scope`` and, on failure, ``error``: the error object as
``JSON.stringify(error, Object.getOwnPropertyNames(error))`` writes it, stack trace included.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

from airflow_provider_logto.testing.http import Request
from airflow_provider_logto.testing.state import TenantState
from airflow_provider_logto.testing.state.logs import LogRecord


class OidcError(Protocol):
    """What the log needs of the token endpoint's error (``oidc.OidcError``)."""

    status: int
    error: str
    description: str
    detail: str | None

DEFAULT_SECRET_NAME = "Default secret"
_EXCHANGE_BY = {"authorization_code": "AuthorizationCode", "refresh_token": "RefreshToken",
                "client_credentials": "ClientCredentials",
                "urn:ietf:params:oauth:grant-type:token-exchange": "TokenExchange"}
_STACK_FRAMES = ("    at Object.auth (/etc/logto/node_modules/oidc-provider/lib/shared/token_auth.js:190:21)",
                 "    at async dispatch (/etc/logto/node_modules/koa-compose/index.js:42:32)")


@dataclass
class TokenAttempt:
    """What the token route learnt about a request, for its log entry."""

    routed: bool = False  # reached node-oidc-provider's token route (else no entry, as in Logto)
    params: dict[str, Any] | None = None
    application_id: str | None = None
    application_secret: str | None = None


def _class_name(error: OidcError) -> str:
    """node-oidc-provider's error class: ``InvalidClientAuth`` for a failed authentication (401), else the
    ``E()`` class named after the error code (``invalid_target`` → ``InvalidTarget``)."""
    if error.error == "invalid_client" and error.status == 401:
        return "InvalidClientAuth"
    return "".join(part.capitalize() for part in error.error.split("_"))


def error_json(error: OidcError) -> str:
    """``stringifyError``: own properties in creation order (``stack``, ``message``, the class fields, then
    ``error_description`` and ``error_detail``), ``undefined`` left out."""
    name = _class_name(error)
    fields: dict[str, Any] = {
        "stack": "\n".join((f"{name}: {error.error}", *_STACK_FRAMES)), "message": error.error,
        "allow_redirect": True, "name": name, "error": error.error, "status": error.status,
        "statusCode": error.status, "expose": error.status < 500, "error_description": error.description,
    }
    if error.detail is not None:
        fields["error_detail"] = error.detail
    return json.dumps(fields, separators=(",", ":"), ensure_ascii=False)


def token_log_record(state: TenantState, request: Request, attempt: TokenAttempt, *,
                     body: dict[str, Any] | None = None, error: OidcError | None = None,
                     created_at: int | None = None) -> LogRecord:
    """The ``ExchangeTokenBy.*`` record for one answered token request (``body`` on success, ``error`` else);
    ``created_at`` (epoch ms) back-dates it (demo history), default now."""
    params = attempt.params
    grant_type = params.get("grant_type") if params is not None else None
    key = f"ExchangeTokenBy.{_EXCHANGE_BY.get(grant_type, 'Unknown') if isinstance(grant_type, str) else 'Unknown'}"
    answer = body or {}
    payload: dict[str, Any] = {"ip": request.client_ip}
    user_agent = request.header("user-agent")
    if user_agent is not None:
        payload["userAgent"] = user_agent
    payload.update({"key": key, "result": "Error" if error is not None else "Success"})
    if attempt.application_id is not None:
        payload["applicationId"] = attempt.application_id
    if attempt.application_secret is not None:
        payload["applicationSecret"] = {"name": attempt.application_secret}
    if params is not None:
        payload["params"] = dict(params)
    payload["tokenTypes"] = [kind for kind, name in (("AccessToken", "access_token"),
                                                     ("RefreshToken", "refresh_token"), ("IdToken", "id_token"))
                             if answer.get(name)]
    if answer.get("scope") is not None:
        payload["scope"] = answer["scope"]
    if error is not None:
        payload["error"] = error_json(error)
    return state.build_log(key, payload=payload, created_at=created_at)
