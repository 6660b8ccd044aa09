"""The Management API's router: Logto's ``koa-router`` with ``koaAuth`` in front and ``allowedMethods`` behind.

A path no route knows answers Koa's plain ``404 Not Found`` (no token needed); a known path with another method
answers ``405`` with an ``Allow`` header (``OPTIONS``: 200); a matched route needs a bearer token for the
Management API with scope ``all``. Errors become Logto's bodies here: ``RequestError``s, the body parser's
``{"message"}``, and database constraint violations mapped the way the route's router maps them.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_logto.testing.errors import (
    ConstraintViolation,
    LogtoApiError,
    api_error,
)
from airflow_provider_logto.testing.http import Request, Response
from airflow_provider_logto.testing.management import (
    applications,
    logs,
    organizations,
    resources,
    roles,
    users,
)
from airflow_provider_logto.testing.management.guard import BodyParseError
from airflow_provider_logto.testing.management.routes import Route
from airflow_provider_logto.testing.state import MANAGEMENT_API_SCOPE, TenantState
from airflow_provider_logto.testing.verification import TokenRejected, TokenVerifier

# How a router turns a violated constraint into an answer: the organization routers' ``errorHandler``
# (``routes/organization/utils.ts``) first, else ``koa-slonik-error-handler``.
_CONSTRAINT_ERRORS: dict[str, dict[str, tuple[str, int]]] = {
    "organization": {"foreign_key": ("entity.relation_foreign_key_not_found", 422),
                     "unique": ("entity.unique_integrity_violation", 422),
                     "check": ("entity.db_constraint_violated", 422)},
    "default": {"foreign_key": ("entity.relation_foreign_key_not_found", 404),
                "check": ("entity.db_constraint_violated", 422)},
}


def _bucket(path: str) -> tuple[str, int]:
    segments = path.split("/")
    return (segments[2] if len(segments) > 2 else "", len(segments))


class ManagementApi:
    """Routes ``/api/...`` requests of one tenant to the entity modules (users, roles, organizations,
    applications, resources), each registered in Logto's order."""

    def __init__(self, state: TenantState, verifier: TokenVerifier) -> None:
        self.state = state
        self.verifier = verifier
        self.routes: list[Route] = []
        for module in (users, roles, applications, resources, organizations, logs):
            self.routes.extend(module.routes(state).routes)
        # routes by (first segment, number of segments): a request is matched against a handful, not all
        self._buckets: dict[tuple[str, int], list[Route]] = {}
        for route in self.routes:
            self._buckets.setdefault(_bucket(f"/api{route.path}"), []).append(route)

    def handle(self, request: Request) -> Response:
        if request.path == "/api/status" and request.method in ("GET", "HEAD"):
            return Response.empty(204)
        if request.path == "/api/.well-known/management.openapi.json" and request.method in ("GET", "HEAD"):
            return self.openapi()
        candidates = self._buckets.get(_bucket(request.path), [])
        matches = [(route, match) for route in candidates if (match := route.pattern.fullmatch(request.path))]
        if not matches:
            return Response.text(404, "Not Found")
        method = "GET" if request.method == "HEAD" else request.method
        chosen = next(((route, match) for route, match in matches if route.method == method), None)
        if chosen is None:
            allowed = list(dict.fromkeys(m for route, _ in matches
                                         for m in (("HEAD", "GET") if route.method == "GET" else (route.method,))))
            if request.method == "OPTIONS":
                return Response(200, b"", [("Allow", ", ".join(allowed))])
            return Response.text(405, "Method Not Allowed", headers=[("Allow", ", ".join(allowed))])
        route, match = chosen
        try:
            self._authorize(request)
            with self.state.lock:
                return route.handler(request, **match.groupdict())
        except LogtoApiError as error:
            return Response.json(error.status, error.body())
        except BodyParseError as error:
            return error.response()
        except ConstraintViolation as violation:
            code, status = _CONSTRAINT_ERRORS[route.family].get(violation.kind, ("", 500))
            if not code:  # an unnamed unique violation: koaErrorHandler's 500
                return Response.json(500, {"message": "Internal server error."})
            return Response.json(status, api_error(code, status=status).body())

    def _authorize(self, request: Request) -> None:
        authorization = request.header("authorization")
        if not authorization:
            raise api_error("auth.authorization_header_missing")
        if not authorization.startswith("Bearer"):
            raise api_error("auth.authorization_token_type_not_supported", data={"supportedTypes": ["Bearer"]})
        token = authorization[len("Bearer "):]
        try:
            claims = self.verifier.verify(token.strip(), self.state.management_api_indicator)
        except TokenRejected as rejected:
            raise api_error("auth.unauthorized", data=rejected.data()) from None
        if MANAGEMENT_API_SCOPE not in str(claims.get("scope", "")).split():
            raise api_error("auth.forbidden")

    def openapi(self) -> Response:
        paths: dict[str, dict[str, Any]] = {}
        for route in self.routes:
            paths.setdefault(f"/api{route.path}", {})[route.method.lower()] = {
                "responses": {"200": {"description": "OK"}}}
        return Response.json(200, {"openapi": "3.0.1", "info": {"title": "Logto API references (emulated)",
                                                                 "version": "Cloud"}, "paths": paths})
