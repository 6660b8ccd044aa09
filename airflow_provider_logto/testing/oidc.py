"""The OIDC side of the emulated Logto: discovery, JWKS and the ``client_credentials`` token endpoint.

Follows ``packages/core/src/oidc`` of Logto and its node-oidc-provider fork, in their order: the body parser
(JSON re-encoded as a form, other content types refused), the app-secret expiry check, client authentication
(``shared/token_auth.js``), ``grant_type``, duplicate parameters, then ``grants/client-credentials.ts``:
organization membership, resource (``shared/check_resource.js``), scopes. Error bodies carry Logto's
``code``/``message`` on top of RFC 6749 ``error``/``error_description``.

Organization tokens (``organization_id`` without ``resource``): audience ``urn:logto:organization:{id}``, 3600 s,
``scope`` = the organization scopes of the app's organization roles that were requested, in scope-id order —
present even when empty. With a resource too, the token is for the resource, its scopes come from the app's
organization roles, and an ``organization_id`` claim comes first.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
from typing import Any
from urllib.parse import parse_qs, unquote

from airflow_provider_logto.testing.errors import api_error
from airflow_provider_logto.testing.http import Request, Response
from airflow_provider_logto.testing.journal import Journal
from airflow_provider_logto.testing.keys import SigningKey
from airflow_provider_logto.testing.state import TenantState
from airflow_provider_logto.testing.token_log import DEFAULT_SECRET_NAME, TokenAttempt, token_log_record

ORGANIZATION_AUDIENCE_PREFIX = "urn:logto:organization:"
ORGANIZATION_TOKEN_TTL = 3600  # oidc/resource.ts: reversedResourceAccessTokenTtl
_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_AUTH_PARAMS = ("client_id", "client_secret", "client_assertion", "client_assertion_type")
_GRANT_TYPES = ("implicit", "authorization_code", "refresh_token", "client_credentials",
                "urn:ietf:params:oauth:grant-type:token-exchange")
# every parameter some grant or client authentication reads: node-oidc-provider keeps only these
_TOKEN_PARAMS = (*_AUTH_PARAMS, "grant_type", "code", "code_verifier", "redirect_uri", "refresh_token", "scope",
                 "resource", "organization_id", "subject_token", "subject_token_type", "actor_token",
                 "actor_token_type", "audience", "authorization_details")

# what stripGrantIrrelevantParams keeps for client_credentials: the auth parameters and the grant's own
_CLIENT_CREDENTIALS_PARAMS = frozenset((*_AUTH_PARAMS, "grant_type", "scope", "organization_id", "resource"))

# error -> Logto's message for "oidc.<error>" (the en phrases; others fall back to "An OIDC error occurred").
_OIDC_MESSAGES = {
    "invalid_request": "Request is invalid.",
    "invalid_target": "Invalid resource indicator.",
    "unsupported_grant_type": "Unsupported `grant_type` requested.",
    "access_denied": "Access denied.",
    "invalid_scope": "Invalid scope: {description}.",
    "server_error": "An unknown OIDC error occurred. Please try again later.",
}


class OidcError(Exception):
    """An OAuth error as node-oidc-provider raises it, rendered the way Logto wraps it.

    ``detail`` is node-oidc-provider's ``error_detail`` (never sent, but kept in the audit log's ``error``)."""

    def __init__(self, status: int, error: str, description: str, www_authenticate: str | None = None,
                 detail: str | None = None) -> None:
        super().__init__(f"{error}: {description}")
        self.status = status
        self.error = error
        self.description = description
        self.www_authenticate = www_authenticate
        self.detail = detail

    def response(self, *, cache: bool = True) -> Response:
        """Logto's body (``code``, ``message``, then the OAuth fields); ``no-store`` on the token route."""
        template = _OIDC_MESSAGES.get(self.error, "An OIDC error occurred: {code}.")
        code = f"oidc.{self.error}"
        body = {"code": code, "message": template.format(code=code, description=self.description),
                "error": self.error, "error_description": self.description}
        headers = [("Cache-Control", "no-store")] if cache else []
        if self.www_authenticate:
            headers.append(("WWW-Authenticate", self.www_authenticate))
        return Response.json(self.status, body, headers)


class OidcProvider:
    """Issues ES384/RS256 access tokens to M2M apps for one tenant, the way Logto's OIDC provider does."""

    def __init__(self, state: TenantState, key: SigningKey, journal: Journal) -> None:
        self.state = state
        self.key = key
        self.journal = journal
        self.endpoint = ""
        self.token_quota: int | None = None

    @property
    def issuer(self) -> str:
        return f"{self.endpoint}/oidc"

    def discovery(self) -> Response:
        issuer = self.issuer
        return Response.json(200, {
            "issuer": issuer,
            "authorization_endpoint": f"{issuer}/auth",
            "token_endpoint": f"{issuer}/token",
            "jwks_uri": f"{issuer}/jwks",
            "userinfo_endpoint": f"{issuer}/me",
            "end_session_endpoint": f"{issuer}/session/end",
            "revocation_endpoint": f"{issuer}/token/revocation",
            "introspection_endpoint": f"{issuer}/token/introspection",
            "grant_types_supported": ["implicit", "authorization_code", "refresh_token", "client_credentials",
                                      "urn:ietf:params:oauth:grant-type:token-exchange"],
            "response_types_supported": ["code", "id_token", "code id_token", "code token",
                                         "code id_token token", "none"],
            "scopes_supported": ["openid", "offline_access", "profile", "email", "phone", "custom_data",
                                 "identities", "roles", "urn:logto:scope:organizations",
                                 "urn:logto:scope:organization_roles"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_jwt",
                                                      "client_secret_post", "private_key_jwt", "none"],
            "id_token_signing_alg_values_supported": [self.key.algorithm],
            "subject_types_supported": ["public"],
            "claims_parameter_supported": False,
            "request_parameter_supported": False,
            "code_challenge_methods_supported": ["S256"],
        })

    def jwks(self) -> Response:
        body = json.dumps({"keys": [self.key.jwk]}, separators=(",", ":")).encode()
        return Response(200, body, [("Content-Type", "application/jwk-set+json; charset=utf-8")])

    def unknown_route(self, request: Request) -> Response:
        """node-oidc-provider's answer for a route or method it does not serve (e.g. ``GET /oidc/token``)."""
        path = request.path.removeprefix("/oidc") or "/"
        return OidcError(404, "invalid_request",
                         f"unrecognized route or not allowed method ({request.method} on {path})").response(cache=False)

    def token(self, request: Request) -> Response:
        """Answer a token request; one audit-log entry for what reached the token route (``grant.success`` /
        ``grant.error``): not an expired secret (refused by Logto's middleware before the route) nor the Cloud
        token quota (its guard too)."""
        attempt = TokenAttempt()
        try:
            response = self._grant(request, attempt)
        except OidcError as error:
            if attempt.routed:
                self.state.insert_log(token_log_record(self.state, request, attempt, error=error))
            return error.response()
        if attempt.routed:
            self.state.insert_log(token_log_record(self.state, request, attempt, body=json.loads(response.body)))
        return response

    def _grant(self, request: Request, attempt: TokenAttempt) -> Response:
        body, content_type_error = _token_body(request)
        authorization = self._transpile_secret(request, body, attempt)
        attempt.routed = True
        if content_type_error:
            raise OidcError(400, "invalid_request", content_type_error)
        params = {key: value for key, value in body.items() if key in _TOKEN_PARAMS and value}
        attempt.params = params
        _reject_dupes(params, _AUTH_PARAMS)
        app = self._authenticate(authorization, params, attempt)
        _reject_dupes(params, ("grant_type",))
        if params.get("grant_type") == "client_credentials":  # stripGrantIrrelevantParams
            for key in [key for key in params if key not in _CLIENT_CREDENTIALS_PARAMS]:
                del params[key]
        grant_type = params.get("grant_type")
        if grant_type is None:
            raise OidcError(400, "invalid_request", "missing required parameter 'grant_type'")
        if grant_type not in _GRANT_TYPES:
            raise OidcError(400, "unsupported_grant_type", "unsupported grant_type requested")
        if grant_type != "client_credentials" or app["type"] != "MachineToMachine":
            raise OidcError(400, "invalid_request", "requested grant type is not allowed for this client")
        _reject_dupes(params, tuple(key for key in params if key != "resource"))
        return self._client_credentials(app, params, attempt)

    def _client_credentials(self, app: dict[str, Any], params: dict[str, Any], attempt: TokenAttempt) -> Response:
        """Logto's ``oidc/grants/client-credentials.ts``: organization check, resource check, then scopes."""
        organization_id = params.get("organization_id")
        if organization_id is not None and not self.state.is_org_member(organization_id, "applications", app["id"]):
            raise OidcError(403, "access_denied", "app has not associated with the organization")
        raw = params.get("resource")
        if raw is None and organization_id is None:
            default = self.state.default_resource()
            raw = default["indicator"] if default else None
        indicators = raw if isinstance(raw, list) else [raw] if raw is not None else []
        # check_resource.js keys the resource servers by indicator: a repeated indicator is one resource
        resources = list({indicator: self._resource_server(indicator) for indicator in indicators}.values())
        if organization_id is None and not resources:
            raise OidcError(400, "invalid_target", "both `resource` and `organization_id` are not provided")
        if len(resources) > 1:
            raise OidcError(400, "invalid_target",
                            "only a single resource indicator value is supported for this grant type")
        requested = list(dict.fromkeys(params["scope"].split(" "))) if params.get("scope") else []
        if self.token_quota is not None and self.journal.tokens_issued() >= self.token_quota:
            attempt.routed = False  # Logto Cloud's koaTokenUsageGuard answers before the token route
            return Response.json(429, api_error("auth.exceed_token_limit").body())
        extra: dict[str, Any] = {}
        if resources:
            resource = resources[0]
            if organization_id is not None:
                available = self.state.member_resource_scopes(organization_id, "applications", app["id"],
                                                              resource["id"])
                extra["organization_id"] = organization_id
            else:
                available = self.state.granted_scopes(app["id"], resource["id"], requested)
            scope: str | None = " ".join(s for s in requested if s in available) or None
            audience, ttl = resource["indicator"], resource["accessTokenTtl"]
        else:  # an organization token: the organization scopes of the app's organization roles
            available = [s["name"] for s in self.state.member_org_scopes(organization_id or "", "applications",
                                                                           app["id"])]
            scope = " ".join(s for s in available if s in requested)
            audience, ttl = f"{ORGANIZATION_AUDIENCE_PREFIX}{organization_id}", ORGANIZATION_TOKEN_TTL
        access_token = self._sign(app["id"], scope, audience, ttl, extra)
        self.journal.count_token(app["id"], audience if resources else None)
        body: dict[str, Any] = {"access_token": access_token, "expires_in": ttl, "token_type": "Bearer"}
        if scope is not None:
            body["scope"] = scope
        return Response.json(200, body, [("Cache-Control", "no-store")])

    def _resource_server(self, indicator: str) -> dict[str, Any]:
        """``checkResource`` for one indicator: an absolute URI without fragment that Logto knows."""
        if not _URL_SCHEME.match(indicator):
            raise OidcError(400, "invalid_target", "resource indicator must be an absolute URI")
        if "#" in indicator:
            raise OidcError(400, "invalid_target", "resource indicator must not contain a fragment component")
        resource = self.state.resource_by_indicator(indicator)
        if resource is None:
            raise OidcError(400, "invalid_target", "resource indicator is missing, or unknown")
        return resource

    def _transpile_secret(self, request: Request, body: dict[str, Any], attempt: TokenAttempt) -> str | None:
        """``koa-app-secret-transpilation``: runs first, and only for an app's own, correct secret. An expired one
        is refused here; a valid one is replaced by the app's internal secret (in the form, or in a rewritten
        Basic header, which is returned) and its name noted for the audit log. Anything else passes unchanged
        (the internal secret itself then authenticates, as in Logto)."""
        authorization = request.header("authorization")
        header_id, header_secret = _basic_credentials(authorization)
        body_id = body.get("client_id") if isinstance(body.get("client_id"), str) else None
        body_secret = body.get("client_secret") if isinstance(body.get("client_secret"), str) else None
        if header_id and body_id and header_id != body_id:
            return authorization
        if header_id and (not header_secret or body_secret):
            return authorization
        client_id, secret = header_id or body_id, header_secret or body_secret
        app = self.state.applications.get(client_id or "")
        if app is None or not secret or not secrets.compare_digest(secret.encode(), app["secret"].encode()):
            return authorization
        expires_at = self.state.secret_expires_at.get(app["id"])
        if expires_at is not None and expires_at < time.time() * 1000:
            raise OidcError(400, "invalid_request", "client secret has expired")
        internal = self.state.internal_secrets[app["id"]]
        attempt.application_secret = DEFAULT_SECRET_NAME
        if header_secret:
            return "Basic " + base64.b64encode(f"{client_id}:{internal}".encode()).decode()
        body["client_secret"] = internal
        return authorization

    def _authenticate(self, authorization: str | None, params: dict[str, Any],
                      attempt: TokenAttempt) -> dict[str, Any]:
        """node-oidc-provider's ``token_auth``: client_secret_basic or client_secret_post, exactly one, against
        the app's internal secret (what the transpilation left)."""
        body_id: str | None = params.get("client_id")
        body_secret: str | None = params.get("client_secret")
        client_id: str | None
        secret: str | None
        basic = authorization is not None
        if basic:
            client_id, secret = _parse_basic(authorization or "")
            if body_id is not None and body_id != client_id:
                raise OidcError(400, "invalid_request", "mismatch in body and authorization client ids")
            if not secret:
                raise OidcError(400, "invalid_request", "client_secret must be provided in the Authorization header")
            if body_secret is not None:
                raise OidcError(400, "invalid_request",
                                "client authentication must only be provided using one mechanism")
        else:
            client_id, secret = body_id, body_secret
        if not client_id:
            raise OidcError(400, "invalid_request", "no client authentication mechanism provided")
        app = self.state.applications.get(client_id)
        if app is None:
            raise OidcError(400, "invalid_client", f"invalid client {client_id}")
        attempt.application_id = app["id"]  # ctx.oidc.entity('Client', client)
        internal = self.state.internal_secrets[app["id"]]
        if secret is None or not secrets.compare_digest(secret.encode(), internal.encode()):
            challenge = (f'Basic realm="{self.issuer}", error="invalid_client", '
                         f'error_description="client authentication failed"') if basic else None
            raise OidcError(401, "invalid_client", "client authentication failed", challenge,
                            detail="invalid secret provided")
        return app

    def _sign(self, app_id: str, scope: str | None, audience: str, ttl: int, extra: dict[str, Any]) -> str:
        """Claims in node-oidc-provider's order: extra claims, ``jti, sub, iat, exp, scope, client_id, iss,
        aud``; ``scope`` is left out when undefined (an empty string stays)."""
        issued_at = int(time.time())
        claims: dict[str, Any] = {**extra, "jti": secrets.token_urlsafe(16), "sub": app_id, "iat": issued_at,
                                  "exp": issued_at + ttl}
        if scope is not None:
            claims["scope"] = scope
        claims.update({"client_id": app_id, "iss": self.issuer, "aud": audience})
        return self.key.sign(claims)


def _token_body(request: Request) -> tuple[dict[str, Any], str | None]:
    """The body as Logto's parser hands it to node-oidc-provider: JSON is re-encoded as a form (arrays repeat,
    other values become strings; unparseable JSON is empty), a form is parsed, and any other content type is
    refused (after the secret-expiry check)."""
    content_type = (request.header("content-type") or "").split(";")[0].strip().lower()
    text = request.body.decode("utf-8", errors="replace")
    if content_type == "application/json":
        try:
            decoded = json.loads(text) if text else None
        except ValueError:
            decoded = None
        if not isinstance(decoded, dict):
            return {}, None
        return {key: [_form_value(v) for v in value] if isinstance(value, list) else _form_value(value)
                for key, value in decoded.items()}, None
    if content_type == "application/x-www-form-urlencoded":
        return {key: values if len(values) > 1 else values[0]
                for key, values in parse_qs(text, keep_blank_values=True).items()}, None
    if content_type:
        return {}, "only application/x-www-form-urlencoded content-type bodies are supported on POST /token"
    return {}, None


def _form_value(value: Any) -> str:
    """``querystring.stringify``: strings, finite numbers and booleans as text, anything else empty."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return str(value) if not isinstance(value, float) or not value.is_integer() else str(int(value))
    return ""


def _reject_dupes(params: dict[str, Any], names: tuple[str, ...]) -> None:
    dupes = [name for name in names if isinstance(params.get(name), list)]
    if dupes:
        quoted = [f"'{name}'" for name in dupes]
        listed = quoted[0] if len(quoted) == 1 else (" and ".join(quoted) if len(quoted) == 2
                                                      else ", ".join(quoted[:-1]) + f", and {quoted[-1]}")
        raise OidcError(400, "invalid_request",
                        f"{listed} parameter{'s' if len(dupes) > 1 else ''} must not be provided twice")


def _decode_auth_token(token: str) -> str:
    """``decodeURIComponent`` after ``+`` → space; malformed escapes, bad UTF-8 and characters outside
    ``\\x20-\\x7e`` are refused (``ValueError``)."""
    raw = token.replace("+", "%20")
    if re.search(r"%(?![0-9A-Fa-f]{2})", raw):
        raise ValueError("malformed percent escape")
    decoded = unquote(raw, errors="strict")
    if re.search(r"[^\x20-\x7e]", decoded):
        raise ValueError("invalid character found")
    return decoded


def _split_basic(authorization: str) -> tuple[str, str] | None:
    """``Basic base64(id:secret)`` split at the first colon (None when the header is not of that form)."""
    parts = authorization.split(" ")
    if len(parts) != 2 or parts[0].lower() != "basic":
        return None
    token = re.sub(r"[^A-Za-z0-9+/]", "", parts[1].replace("-", "+").replace("_", "/"))
    decoded = base64.b64decode(token + "=" * (-len(token) % 4)).decode("utf-8", errors="replace")
    client_id, sep, secret = decoded.partition(":")
    return (client_id, secret) if sep else None


def _basic_credentials(authorization: str | None) -> tuple[str | None, str | None]:
    """What Logto's secret transpilation reads from the header (nothing when it cannot)."""
    split = _split_basic(authorization or "") if authorization else None
    if split is None:
        return None, None
    try:
        return _decode_auth_token(split[0]) or None, _decode_auth_token(split[1]) or None
    except ValueError:
        return None, None


def _parse_basic(authorization: str) -> tuple[str, str]:
    """RFC 6749 §2.3.1 credentials as node-oidc-provider reads them, with its error descriptions."""
    split = _split_basic(authorization)
    if split is None:
        raise OidcError(400, "invalid_request", "invalid authorization header value format")
    try:
        return _decode_auth_token(split[0]), _decode_auth_token(split[1])
    except ValueError:
        raise OidcError(400, "invalid_request",
                        "client_id and client_secret in the authorization header are not properly encoded") from None
