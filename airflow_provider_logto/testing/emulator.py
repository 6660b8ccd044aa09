"""``LogtoEmulator``: a stand-in Logto server (OIDC + Management API) plus a sample protected API, on 127.0.0.1.

Use it as a context manager in tests, or run ``python -m airflow_provider_logto.testing`` to get one in the
foreground. It is pre-seeded like a fresh Logto: the Management API resource (``https://default.logto.app/api``,
or ``https://{tenant}.logto.app/api`` for a Logto Cloud tenant id) with scope ``all`` and the
"Logto Management API access" M2M role; the "Online Shopping" API (``https://shopping.api``) with
``read:products`` and ``write:products`` is registered too and served on a second port.
"""

from __future__ import annotations

import json
import tempfile
import time
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from airflow_provider_logto.testing.faults import (
    Fault,
    FaultInjector,
    FaultKind,
    Latency,
    RateLimiter,
)
from airflow_provider_logto.testing.http import AppServer, Request, Response
from airflow_provider_logto.testing.journal import Journal
from airflow_provider_logto.testing.keys import KeyAlgorithm, SigningKey
from airflow_provider_logto.testing.management.router import ManagementApi
from airflow_provider_logto.testing.oidc import OidcProvider
from airflow_provider_logto.testing.resource_server import (
    SHOPPING_API_INDICATOR,
    SHOPPING_API_SCOPES,
    ShoppingApi,
)
from airflow_provider_logto.testing.state import (
    MANAGEMENT_API_ROLE,
    M2MApp,
    TenantState,
    is_absolute_uri,
)
from airflow_provider_logto.testing.tls import server_context
from airflow_provider_logto.testing.verification import TokenVerifier

REQUEST_ID_HEADER = "Logto-Core-Request-Id"


class LogtoEmulator:
    """A running emulated Logto tenant. Seed it, point a connection at :attr:`endpoint`, assert on the journal."""

    def __init__(self, *, tenant_id: str = "default", host: str = "127.0.0.1", port: int = 0,
                 resource_port: int = 0, key_algorithm: KeyAlgorithm = "ES384", fault_seed: int = 0,
                 tls: bool = False, latency: float = 0.0, jitter: float = 0.0,
                 case_sensitive_username: bool = True) -> None:
        """``tls=True`` serves both servers over HTTPS with a throw-away CA (its certificate: :attr:`ca_bundle`).

        ``latency``/``jitter`` (seconds) delay every request like a network would; see :meth:`set_latency`.
        ``case_sensitive_username=False`` mirrors a Logto run with ``CASE_SENSITIVE_USERNAME=false``.
        """
        self.state = TenantState(tenant_id)
        self.state.case_sensitive_username = case_sensitive_username
        self.journal = Journal()
        self.faults = FaultInjector(fault_seed)
        self.latency = Latency(latency, jitter, fault_seed)
        self.key = SigningKey(key_algorithm)
        self.oidc = OidcProvider(self.state, self.key, self.journal)
        self._management_verifier = TokenVerifier(
            lambda kid: self.key.public_key if kid == self.key.kid else None, lambda: self.oidc.issuer)
        self.management = ManagementApi(self.state, self._management_verifier)
        self._rate_limiter: RateLimiter | None = None
        context = None
        self.ca_bundle: str | None = None
        if tls:
            context, ca_path = server_context(Path(tempfile.mkdtemp(prefix="logto-emulator-tls-")))
            self.ca_bundle = str(ca_path)
        self._logto_server = AppServer(self._serve_logto, host, port, context)
        try:
            self._resource_server = AppServer(self._serve_resource, host, resource_port, context)
        except OSError:  # e.g. PortInUseError: free the first port before giving up
            self._logto_server.close()
            raise
        self.oidc.endpoint = self._logto_server.url
        self.shopping = ShoppingApi(self.oidc.issuer, f"{self.oidc.issuer}/jwks", ca_bundle=self.ca_bundle)
        resource = self.state.create_resource("Online Shopping", SHOPPING_API_INDICATOR)
        for scope in SHOPPING_API_SCOPES:
            self.state.create_scope(resource["id"], scope)
        self._started = False

    # --- lifecycle ----------------------------------------------------------------------------------------
    def start(self) -> LogtoEmulator:
        if not self._started:
            self._logto_server.start()
            self._resource_server.start()
            self._started = True
        return self

    def stop(self) -> None:
        if self._started:
            self._logto_server.stop()
            self._resource_server.stop()
            self._started = False

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # --- where things are ---------------------------------------------------------------------------------
    @property
    def endpoint(self) -> str:
        """The Logto endpoint, e.g. ``http://127.0.0.1:PORT`` (the connection's host)."""
        return self._logto_server.url

    @property
    def issuer(self) -> str:
        return self.oidc.issuer

    @property
    def resource_api_url(self) -> str:
        """Base URL of the sample "Online Shopping" API (a different port from :attr:`endpoint`)."""
        return self._resource_server.url

    @property
    def management_api_resource(self) -> str:
        return self.state.management_api_indicator

    @property
    def tenant_id(self) -> str:
        return self.state.tenant_id

    # --- seeding ------------------------------------------------------------------------------------------
    def add_resource(self, name: str, indicator: str, scopes: Iterable[str] = (),
                     access_token_ttl: int = 3600) -> dict[str, Any]:
        """Register an API resource with its scopes and token TTL (seconds).

        Logto's Management API accepts any non-empty indicator; this seeding helper insists on an absolute URI,
        the only kind a token can be requested for."""
        if not name or not is_absolute_uri(indicator):
            raise ValueError(f"an API resource needs a name and an absolute URI as indicator, not {indicator!r}")
        if access_token_ttl < 1:
            raise ValueError("a token lifetime must be at least 1 second")
        resource = self.state.create_resource(name, indicator, access_token_ttl)
        for scope in scopes:
            self.state.create_scope(resource["id"], scope)
        return resource

    def set_access_token_ttl(self, indicator: str, seconds: int) -> None:
        """Change the token lifetime of an existing resource (short TTLs exercise token refresh)."""
        resource = self.state.resource_by_indicator(indicator)
        if resource is None:
            raise ValueError(f"unknown API resource indicator {indicator!r}")
        if seconds < 1:
            raise ValueError("a token lifetime must be at least 1 second")
        resource["accessTokenTtl"] = seconds

    def add_role(self, name: str, scopes: Mapping[str, Iterable[str]] | None = None, *,
                 role_type: str = "MachineToMachine", description: str = "") -> dict[str, Any]:
        """A role holding ``{indicator: [scope, ...]}``; M2M by default (``role_type="User"`` for users)."""
        if role_type not in ("MachineToMachine", "User"):
            raise ValueError(f"unknown role type {role_type!r}; use 'MachineToMachine' or 'User'")
        return self.state.create_role(name, description or name, role_type,
                                      self.state.scope_ids_for(scopes or {}))

    def add_m2m_app(self, name: str, roles: Iterable[str] = (MANAGEMENT_API_ROLE,),
                    secret: str | None = None, app_id: str | None = None) -> M2MApp:
        """An M2M app holding the named M2M roles (the Management API role by default); returns id and secret.

        ``app_id`` and ``secret`` fix the credentials (e.g. those of a connection saved in Airflow)."""
        role_names = list(roles)
        with self.state.lock:
            if any(a["name"] == name for a in self.state.applications.values()):
                raise ValueError(f"an application named {name!r} already exists")
            role_ids = [self.state.role_by_name(role)["id"] for role in role_names]
            for role_name, role_id in zip(role_names, role_ids, strict=True):
                if self.state.roles[role_id]["type"] != "MachineToMachine":
                    raise ValueError(f"role {role_name!r} is a User role; an M2M app needs MachineToMachine roles")
            app = self.state.create_application(name, "MachineToMachine", secret=secret, app_id=app_id)
            self.state.assign_app_roles(app["id"], role_ids)
        return M2MApp(app["id"], app["secret"], name)

    def rotate_signing_key(self) -> None:
        """Replace the signing key (new ``kid``, old one gone from the JWKS): tokens issued before now fail
        verification with 401, as after a key rotation in Logto Console."""
        self.key = self.oidc.key = SigningKey(self.key.algorithm)
        self._management_verifier.forget()
        self.shopping.forget_keys()

    def expire_app_secret(self, app_id: str) -> None:
        """Make the app's secret expired (the token endpoint then answers ``client secret has expired``)."""
        self.state.get("applications", app_id)
        self.state.secret_expires_at[app_id] = int(time.time() * 1000) - 1

    def add_user(self, username: str | None = None, *, primary_email: str | None = None,
                 primary_phone: str | None = None, name: str | None = None,
                 custom_data: Mapping[str, Any] | None = None, roles: Iterable[str] = ()) -> dict[str, Any]:
        """A user, optionally with User-type roles by name; duplicates raise like the API (422 codes)."""
        with self.state.lock:
            role_ids = [self.state.role_by_name(role)["id"] for role in roles]
            user = self.state.create_user({"username": username, "primaryEmail": primary_email,
                                           "primaryPhone": primary_phone, "name": name,
                                           "customData": dict(custom_data or {})})
            self.state.set_user_roles(user["id"], role_ids, replace=True)
        return user

    def add_organization(self, name: str, *, apps: Iterable[str] = (), users: Iterable[str] = (),
                         description: str | None = None) -> dict[str, Any]:
        """An organization with member apps and users (by id)."""
        with self.state.lock:
            organization = self.state.create_organization(name, description)
            self.state.add_org_members(organization["id"], "applications", apps)
            self.state.add_org_members(organization["id"], "users", users)
        return organization

    def add_organization_scope(self, name: str, description: str | None = None) -> dict[str, Any]:
        """A scope of the organization template (what organization tokens carry)."""
        return self.state.create_org_scope(name, description)

    def add_organization_role(self, name: str, scopes: Iterable[str] = (),
                              resource_scopes: Mapping[str, Iterable[str]] | None = None, *,
                              role_type: str = "User", description: str | None = None) -> dict[str, Any]:
        """An organization role holding organization scopes (by name) and API resource scopes
        (``{indicator: [scope, ...]}``); ``role_type="MachineToMachine"`` for applications."""
        if role_type not in ("MachineToMachine", "User"):
            raise ValueError(f"unknown role type {role_type!r}; use 'MachineToMachine' or 'User'")
        with self.state.lock:
            by_name = {scope["name"]: scope["id"] for scope in self.state.org_scopes.values()}
            missing = [scope for scope in scopes if scope not in by_name]
            if missing:
                raise ValueError(f"unknown organization scopes {missing}; add them with add_organization_scope()")
            resource_scope_ids = self.state.scope_ids_for(resource_scopes or {})
            role = self.state.create_org_role(name, description, role_type)
            self.state.add_org_role_scopes(role["id"], "scopes", [by_name[scope] for scope in scopes])
            self.state.add_org_role_scopes(role["id"], "resource-scopes", resource_scope_ids)
        return role

    def grant_organization_roles(self, organization_id: str, member_id: str, roles: Iterable[str]) -> None:
        """Give a member (user or application, by id) of an organization these organization roles (by name)."""
        with self.state.lock:
            by_name = {role["name"]: role["id"] for role in self.state.org_roles.values()}
            kind = "applications" if member_id in self.state.applications else "users"
            unknown = [role for role in roles if role not in by_name]
            if unknown:
                raise ValueError(f"unknown organization roles {unknown}; add them with add_organization_role()")
            self.state.add_member_org_roles(organization_id, kind, ((member_id, by_name[r]) for r in roles))

    # --- audit log -----------------------------------------------------------------------------------------
    def add_log(self, key: str, *, created_at: int | None = None, application_id: str | None = None,
                user_id: str | None = None, result: str = "Success",
                payload: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Write one audit-log entry and return it as ``GET /api/logs/{id}`` will (``createdAt`` in epoch ms,
        default now). Its payload is ``key``, ``result``, ``applicationId``/``userId`` when given, then
        ``payload``'s fields (which win), keys in PostgreSQL ``jsonb`` order. Keys without one of Logto's audit
        prefixes (``ExchangeTokenBy``, ``RevokeToken``, ``Interaction``, ``JwtCustomizer``, ``SamlApplication``,
        ``Unknown``) are stored but not listed, as in Logto."""
        record = self.state.build_log(key, created_at=created_at, application_id=application_id,
                                      user_id=user_id, result=result, payload=payload)
        self.state.insert_log(record)
        return record.entry(self.tenant_id)

    def add_logs(self, entries: Iterable[Mapping[str, Any]]) -> int:
        """Write many entries at once (millions: one sort, not one insertion each); each mapping holds
        :meth:`add_log`'s arguments by name (``key`` required). Returns how many were written."""
        records = [self.state.build_log(**entry) for entry in entries]
        return self.state.insert_logs(records)

    def internal_secret(self, app_id: str) -> str:
        """The app's internal secret (``#internal:…``, Logto's ``applications.secret``): what a
        ``client_secret_post`` entry's ``payload.params.client_secret`` holds, and a working secret for the app."""
        self.state.get("applications", app_id)
        return self.state.internal_secrets[app_id]

    def delete_logs_before(self, created_at_ms: int) -> int:
        """Retention, as Logto Cloud runs it: delete every entry older than ``created_at_ms``; how many went."""
        return self.state.delete_logs_before(created_at_ms)

    # --- misbehaviour ---------------------------------------------------------------------------------------
    def add_fault(self, kind: FaultKind, path: str = "*", **options: Any) -> Fault:
        """Inject a fault; see :meth:`FaultInjector.add` for the options (count, rate, status, retry_after, ...)."""
        return self.faults.add(kind, path, **options)

    def set_token_quota(self, tokens: int | None) -> None:
        """Answer 429 ``auth.exceed_token_limit`` once this many tokens were issued (None: unlimited)."""
        self.oidc.token_quota = tokens

    def enable_rate_limit(self, capacity: int = 200, per_seconds: float = 10.0,
                          send_retry_after: bool = True) -> None:
        """A Logto-Cloud-like token bucket over all requests to the Logto endpoint."""
        self._rate_limiter = RateLimiter(capacity, per_seconds, send_retry_after)

    def disable_rate_limit(self) -> None:
        self._rate_limiter = None

    def set_latency(self, seconds: float, jitter: float = 0.0) -> None:
        """Delay every request to both servers by ``seconds`` ± a uniform ``jitter`` (0 turns it off).

        Each connection's thread sleeps on its own, so concurrent requests overlap as over a real network.
        """
        self.latency.set(seconds, jitter)

    # --- observations -----------------------------------------------------------------------------------------
    @property
    def internal_errors(self) -> list[str]:
        """Exceptions raised inside the emulator while serving (answered as 500s); empty when all is well."""
        return [*self._logto_server.internal_errors, *self._resource_server.internal_errors]

    def tokens_issued(self, client_id: str | None = None, resource: str | None = None) -> int:
        return self.journal.tokens_issued(client_id, resource)

    def connection_extra(self, *, resource: str | None = None, scopes: str | Iterable[str] | None = None,
                         **extra: Any) -> dict[str, Any]:
        """Connection extras for this emulator: its resource API base, the tenant id, optional defaults."""
        values: dict[str, Any] = {"api_base_url": self.resource_api_url, "tenant_id": self.tenant_id}
        if resource is not None:
            values["resource"] = resource
        if scopes is not None:
            values["scopes"] = scopes if isinstance(scopes, str) else " ".join(scopes)
        return {**values, **extra}

    def airflow_connection(self, app: M2MApp, **extra_options: Any) -> str:
        """A ready ``AIRFLOW_CONN_<ID>`` value (Airflow's JSON form) for ``app`` against this emulator."""
        return json.dumps({"conn_type": "logto", "host": self.endpoint, "login": app.id, "password": app.secret,
                           "extra": self.connection_extra(**extra_options)})

    # --- serving ------------------------------------------------------------------------------------------
    def _serve_logto(self, request: Request) -> Response:
        self.latency.wait()
        response = self.faults.strike("logto", request)
        if response is None and self._rate_limiter is not None:
            response = self._rate_limiter.admit()
        if response is None:
            response = self.faults.garble("logto", request, self._route_logto(request))
            response.headers.append((REQUEST_ID_HEADER, str(uuid.uuid4())))
        self.journal.record("logto", request, response.status)
        return response

    def _route_logto(self, request: Request) -> Response:
        path = request.path
        if path == "/oidc/token" and request.method == "POST":
            return self.oidc.token(request)
        if path == "/oidc/.well-known/openid-configuration" and request.method == "GET":
            return self.oidc.discovery()
        if path == "/oidc/jwks" and request.method == "GET":
            return self.oidc.jwks()
        if path == "/oidc" or path.startswith("/oidc/"):
            return self.oidc.unknown_route(request)
        if path == "/api" or path.startswith("/api/"):
            return self.management.handle(request)
        return Response.text(404, "Not Found")

    def _serve_resource(self, request: Request) -> Response:
        self.latency.wait()
        response = (self.faults.strike("resource", request)
                    or self.faults.garble("resource", request, self.shopping.handle(request)))
        self.journal.record("resource", request, response.status)
        return response
