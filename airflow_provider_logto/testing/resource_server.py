"""A sample API protected by Logto, like the seed's "Online Shopping" API (``https://shopping.api``).

It validates bearer tokens the way a real resource server does — signing key fetched from the issuer's JWKS
over HTTP and picked by ``kid``, then ``iss``, ``aud`` and ``exp``, then the route's scope — and answers
failures per RFC 6750 (``WWW-Authenticate: Bearer error=...``). It runs on its own port so tests can prove
which host a token was sent to.
"""

from __future__ import annotations

import itertools
import ssl
import threading
from typing import Any

import jwt

from airflow_provider_logto.testing.http import Request, Response
from airflow_provider_logto.testing.verification import TokenRejected, TokenVerifier

SHOPPING_API_INDICATOR = "https://shopping.api"
SHOPPING_API_SCOPES = ("read:products", "write:products")


class ShoppingApi:
    """``GET /products`` needs ``read:products``; ``POST /products`` needs ``write:products``."""

    def __init__(self, issuer: str, jwks_uri: str, audience: str = SHOPPING_API_INDICATOR,
                 ca_bundle: str | None = None) -> None:
        self.audience = audience
        self._jwks_uri = jwks_uri
        self._tls = ssl.create_default_context(cafile=ca_bundle) if ca_bundle else None
        self._jwks = self._jwks_client()
        self._verifier = TokenVerifier(self._key_for_kid, lambda: issuer)
        self._ids = itertools.count(3)
        self._lock = threading.Lock()
        self.products: list[dict[str, Any]] = [
            {"id": 1, "name": "Logto hoodie", "price": 59.0},
            {"id": 2, "name": "Airflow mug", "price": 12.5},
        ]

    def forget_keys(self) -> None:
        """Forget cached keys and signatures, as a resource server does once the old key leaves the JWKS."""
        self._jwks = self._jwks_client()
        self._verifier.forget()

    def _jwks_client(self) -> jwt.PyJWKClient:
        return jwt.PyJWKClient(self._jwks_uri, cache_keys=True, ssl_context=self._tls)

    def _key_for_kid(self, kid: str) -> Any:
        try:
            return self._jwks.get_signing_key(kid).key
        except jwt.PyJWKClientError:
            return None

    def handle(self, request: Request) -> Response:
        if request.path != "/products" or request.method not in ("GET", "POST"):
            return Response.json(404, {"error": "not_found", "error_description": f"no route {request.path}"})
        required = "read:products" if request.method == "GET" else "write:products"
        refusal = self._authorize(request, required)
        if refusal is not None:
            return refusal
        if request.method == "GET":
            with self._lock:
                return Response.json(200, list(self.products))
        try:
            product = request.json()
        except ValueError:
            product = None
        if not isinstance(product, dict) or not isinstance(product.get("name"), str):
            return Response.json(400, {"error": "invalid_request", "error_description": "body needs a name"})
        with self._lock:
            created = {"id": next(self._ids), "name": product["name"], "price": product.get("price")}
            self.products.append(created)
        return Response.json(201, created)

    def _authorize(self, request: Request, scope: str) -> Response | None:
        authorization = request.header("authorization") or ""
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return _challenge(401, "invalid_request", "a Bearer access token is required")
        try:
            claims = self._verifier.verify(token.strip(), self.audience)
        except TokenRejected as rejected:
            return _challenge(401, "invalid_token", f"token rejected: {rejected}")
        if scope not in str(claims.get("scope", "")).split():
            return _challenge(403, "insufficient_scope", f"the token lacks the {scope} scope", scope)
        return None


def _challenge(status: int, error: str, description: str, scope: str | None = None) -> Response:
    parameters = f'Bearer realm="shopping", error="{error}", error_description="{description}"'
    if scope:
        parameters += f', scope="{scope}"'
    body: dict[str, Any] = {"error": error, "error_description": description}
    return Response.json(status, body, [("WWW-Authenticate", parameters)])
