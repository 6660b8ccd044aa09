"""The OIDC side of the emulated Logto: discovery, JWKS and the ``client_credentials`` token endpoint.

Checks run in node-oidc-provider's order: client authentication, then ``grant_type``, then resource and
organization. Error bodies carry Logto's ``code``/``message`` on top of RFC 6749 ``error``/``error_description``
(logto-facts §1). Organization tokens: when no resource is given the audience is
``urn:logto:organization:{id}``; organization scopes are not modelled, so such tokens carry none.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import time
from typing import Any
from urllib.parse import unquote

from airflow_provider_logto.testing.errors import api_error
from airflow_provider_logto.testing.http import Request, Response
from airflow_provider_logto.testing.journal import Journal
from airflow_provider_logto.testing.keys import SigningKey
from airflow_provider_logto.testing.state import TenantState, is_absolute_uri

ORGANIZATION_AUDIENCE_PREFIX = "urn:logto:organization:"

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
    """An OAuth error as node-oidc-provider raises it, rendered the way Logto wraps it."""

    def __init__(self, status: int, error: str, description: str, www_authenticate: str | None = None) -> None:
        super().__init__(f"{error}: {description}")
        self.status = status
        self.error = error
        self.description = description
        self.www_authenticate = www_authenticate

    def response(self) -> Response:
        template = _OIDC_MESSAGES.get(self.error, "An OIDC error occurred: {code}.")
        code = f"oidc.{self.error}"
        body = {"code": code, "message": template.format(code=code, description=self.description),
                "error": self.error, "error_description": self.description}
        headers = [("Cache-Control", "no-store")]
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
        return Response.json(200, {"keys": [self.key.jwk]}, [("Content-Type", "application/jwk-set+json")])

    def token(self, request: Request) -> Response:
        try:
            return self._grant(request)
        except OidcError as error:
            return error.response()

    def _grant(self, request: Request) -> Response:
        params = request.form()
        app = self._authenticate(request, params)
        grant_type = _single(params, "grant_type")
        if not grant_type:
            raise OidcError(400, "invalid_request", "missing required parameter 'grant_type'")
        if grant_type != "client_credentials":
            raise OidcError(400, "unsupported_grant_type", "unsupported grant_type requested")
        resources = params.get("resource", [])
        organization_id = _single(params, "organization_id") or None
        if len(resources) > 1:
            raise OidcError(400, "invalid_target",
                            "only a single resource indicator value is supported for this grant type")
        indicator = resources[0] if resources else None
        if indicator is None and organization_id is None:
            raise OidcError(400, "invalid_target", "both `resource` and `organization_id` are not provided")
        resource = None
        if indicator is not None:
            if not is_absolute_uri(indicator):
                raise OidcError(400, "invalid_target", "resource indicator must be an absolute URI")
            resource = self.state.resource_by_indicator(indicator)
            if resource is None:
                raise OidcError(400, "invalid_target", "resource indicator is missing, or unknown")
        if organization_id is not None and app["id"] not in self.state.org_apps.get(organization_id, []):
            raise OidcError(403, "access_denied", "app has not associated with the organization")
        if self.token_quota is not None and self.journal.tokens_issued() >= self.token_quota:
            return Response.json(429, api_error("auth.exceed_token_limit").body())
        requested = (_single(params, "scope") or "").split()
        granted = self.state.granted_scopes(app["id"], resource["id"], requested) if resource else []
        ttl = resource["accessTokenTtl"] if resource else 3600
        audience = indicator or f"{ORGANIZATION_AUDIENCE_PREFIX}{organization_id}"
        access_token = self._sign(app["id"], granted, audience, ttl, organization_id)
        self.journal.count_token(app["id"], indicator)
        body: dict[str, Any] = {"access_token": access_token, "expires_in": ttl, "token_type": "Bearer"}
        if granted:
            body["scope"] = " ".join(granted)
        return Response.json(200, body, [("Cache-Control", "no-store"), ("Pragma", "no-cache")])

    def _authenticate(self, request: Request, params: dict[str, list[str]]) -> dict[str, Any]:
        """client_secret_basic or client_secret_post (exactly one of them), like node-oidc-provider."""
        authorization = request.header("authorization") or ""
        body_id, body_secret = _single(params, "client_id"), _single(params, "client_secret")
        basic = authorization[:6].lower() == "basic "
        if basic and body_secret is not None:
            raise OidcError(400, "invalid_request",
                            "client authentication must only be provided using one mechanism")
        if basic:
            client_id, secret = _parse_basic(authorization[6:].strip())
            if body_id is not None and body_id != client_id:
                raise OidcError(400, "invalid_request", "mismatch in body and authorization client ids")
        else:
            client_id, secret = body_id, body_secret
        if not client_id:
            raise OidcError(400, "invalid_request", "no client authentication mechanism provided")
        app = self.state.applications.get(client_id)
        if app is None:
            raise OidcError(400, "invalid_client", f"invalid client {client_id}")
        if secret is None or not secrets.compare_digest(secret.encode(), app["secret"].encode()):
            challenge = (f'Basic realm="{self.issuer}", error="invalid_client", '
                         f'error_description="client authentication failed"') if basic else None
            raise OidcError(401, "invalid_client", "client authentication failed", challenge)
        expires_at = self.state.secret_expires_at.get(client_id)
        if expires_at is not None and expires_at <= time.time() * 1000:
            raise OidcError(400, "invalid_request", "client secret has expired")
        return app

    def _sign(self, app_id: str, scopes: list[str], audience: str, ttl: int, organization_id: str | None) -> str:
        issued_at = int(time.time())
        claims: dict[str, Any] = {"jti": secrets.token_urlsafe(16), "sub": app_id, "iat": issued_at,
                                  "exp": issued_at + ttl}
        if scopes:
            claims["scope"] = " ".join(scopes)
        claims.update({"client_id": app_id, "iss": self.issuer, "aud": audience})
        if organization_id is not None:
            claims["organization_id"] = organization_id
        return self.key.sign(claims)


def _single(params: dict[str, list[str]], name: str) -> str | None:
    values = params.get(name)
    return values[0] if values else None


def _parse_basic(credentials: str) -> tuple[str, str]:
    """``base64(urlencode(id):urlencode(secret))`` as RFC 6749 §2.3.1 says; plain values decode the same."""
    try:
        decoded = base64.b64decode(credentials, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise OidcError(400, "invalid_request", "invalid authorization header value format") from None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise OidcError(400, "invalid_request", "invalid authorization header value format")
    return unquote(client_id.replace("+", " ")), unquote(secret.replace("+", " "))
