"""The emulated Logto Management API under ``/api``: bearer checks, then users, roles, organizations,
applications and API resources, with Logto's status codes, error codes, pagination headers and search.

Where ``logto-facts.md`` is silent this follows ``packages/core`` of the Logto source: ``koa-pagination``
(``page`` and ``page_size`` must be positive numbers, ``page_size`` at most 100; ``Total-Number`` and one ``Link``
header per relation in the order first, last, prev, next, built from the path *without* ``/api``),
``utils/search`` (``search``/``search.<field>``, ``mode[.<field>]``, ``joint``, ``isCaseSensitive``) and the
routes' guards (unknown keys in bodies are ignored; a wrong type is ``guard.invalid_input``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from airflow_provider_logto.testing.errors import LogtoApiError, api_error
from airflow_provider_logto.testing.http import Request, Response
from airflow_provider_logto.testing.search import (
    Search,
    SearchError,
    parse_search,
    select,
)
from airflow_provider_logto.testing.state import (
    MANAGEMENT_API_SCOPE,
    TenantState,
    is_absolute_uri,
)
from airflow_provider_logto.testing.verification import TokenRejected, TokenVerifier

USER_SEARCH_FIELDS = ("id", "primaryEmail", "primaryPhone", "username", "name")
ROLE_SEARCH_FIELDS = ("id", "name", "description")
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20
_USERNAME = re.compile(r"^[A-Z_a-z]\w*$")
_EMAIL = re.compile(r"^\S+@\S+\.\S+$")
_PHONE = re.compile(r"^\d+$")

Handler = Callable[..., Response]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler


# --- request helpers ----------------------------------------------------------------------------------------
def _invalid(path: str, message: str, expected: str | None = None, received: str | None = None,
             validation: str | None = None) -> LogtoApiError:
    """``guard.invalid_input`` as Logto's koaGuard raises it: ``data`` is the serialised ZodError and ``details``
    the issues formatted by ``formatZodError``."""
    if expected:
        issue: dict[str, Any] = {"code": "invalid_type", "expected": expected, "received": received,
                                 "path": [path] if path else [], "message": message}
        line = f"Expected {expected} but received {received}."
    else:
        issue = {"validation": validation or "regex", "code": "invalid_string", "path": [path] if path else [],
                 "message": message}
        line = message
    details = f'Error in key path "{path}": ({issue["code"]}) {line}'
    return api_error("guard.invalid_input", type="body", data={"issues": [issue], "name": "ZodError"},
                     details=details)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return {str: "string", list: "array", dict: "object"}.get(type(value), "unknown")


class Body:
    """A JSON object body with typed field access; every mistake becomes ``guard.invalid_input``."""

    def __init__(self, request: Request) -> None:
        try:
            value = request.json() if request.body else {}
        except ValueError:
            raise _invalid("", "Expected object", "object", "string") from None
        if not isinstance(value, dict):
            raise _invalid("", "Expected object", "object", _json_type(value))
        self.data: dict[str, Any] = value

    def get(self, name: str, expected: str, *, required: bool = False, nullable: bool = False) -> Any:
        if name not in self.data:
            if required:
                raise _invalid(name, "Required", expected, "undefined")
            return None
        value = self.data[name]
        if value is None and nullable:
            return None
        if _json_type(value) != expected:
            raise _invalid(name, f"Expected {expected}, received {_json_type(value)}", expected, _json_type(value))
        return value

    def string_list(self, name: str) -> list[str]:
        values = self.get(name, "array", required=True)
        if not all(isinstance(v, str) and v for v in values):
            raise _invalid(name, "Expected string", "string", "unknown")
        return values

    def present(self, names: Iterable[str]) -> dict[str, Any]:
        return {name: self.data[name] for name in names if name in self.data}


def _pagination(request: Request) -> tuple[int, int]:
    try:
        page = float(request.param("page") or 1)
        size = float(request.param("page_size") or DEFAULT_PAGE_SIZE)
    except ValueError:
        raise api_error("guard.invalid_pagination") from None
    if not (page > 0 and 0 < size <= MAX_PAGE_SIZE and page.is_integer() and size.is_integer()):
        raise api_error("guard.invalid_pagination")
    return int(page), int(size)


def _link(request: Request, path: str, page: int, rel: str) -> str:
    query = {key: values[-1] for key, values in request.query.items()}
    query["page"] = str(page)
    host = request.header("host") or "localhost"
    return f"<http://{host}{path}?{urlencode(query)}>; rel=\"{rel}\""


def page_of(items: list[Any], request: Request, *, optional: bool = False) -> Response:
    """One page of ``items`` with ``Total-Number`` and ``Link`` headers; everything when the route's pagination
    is optional and neither ``page`` nor ``page_size`` is given (like ``/api/applications``)."""
    if optional and request.param("page") is None and request.param("page_size") is None:
        return Response.json(200, items)
    return window_of(len(items), lambda offset, limit: items[offset:offset + limit], request)


def window_of(total: int, rows: Callable[[int, int], list[Any]], request: Request) -> Response:
    """One page of a list of ``total`` rows that ``rows(offset, limit)`` reads, with Logto's paging headers."""
    page, size = _pagination(request)
    last = max(1, -(-total // size))
    path = request.path.removeprefix("/api")
    headers = [("Total-Number", str(total)), ("Link", _link(request, path, 1, "first")),
               ("Link", _link(request, path, last, "last"))]
    if page > 1:
        headers.append(("Link", _link(request, path, page - 1, "prev")))
    if page < last:
        headers.append(("Link", _link(request, path, page + 1, "next")))
    return Response.json(200, rows((page - 1) * size, size), headers)


def _created(payload: Any = None) -> Response:
    """201; Koa answers the text ``Created`` when a route sets no body."""
    return Response.json(201, payload) if payload is not None else Response.text(201, "Created")


# --- the API ------------------------------------------------------------------------------------------------
class ManagementApi:
    """Routes ``/api/...`` requests of one tenant; every route but ``/api/status`` needs a token with ``all``."""

    def __init__(self, state: TenantState, verifier: TokenVerifier) -> None:
        self.state = state
        self.verifier = verifier
        self.routes: list[Route] = []
        self._register()

    def handle(self, request: Request) -> Response:
        try:
            if request.path == "/api/status" and request.method == "GET":
                return Response.empty(204)
            if request.path == "/api/.well-known/management.openapi.json" and request.method == "GET":
                return self.openapi()
            self._authorize(request)
            for route in self.routes:
                match = route.pattern.fullmatch(request.path)
                if match and route.method == request.method:
                    with self.state.lock:
                        return route.handler(request, **match.groupdict())
            return Response.text(404, "Not Found")
        except LogtoApiError as error:
            return Response.json(error.status, error.body())

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
            path = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", route.pattern.pattern)
            paths.setdefault(path, {})[route.method.lower()] = {"responses": {"200": {"description": "OK"}}}
        return Response.json(200, {"openapi": "3.0.1", "info": {"title": "Logto API references (emulated)",
                                                                 "version": "Cloud"}, "paths": paths})

    def _route(self, method: str, path: str, handler: Handler) -> None:
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path)
        self.routes.append(Route(method, re.compile(regex), handler))

    def _register(self) -> None:
        r = self._route
        r("GET", "/api/users", self.list_users)
        r("POST", "/api/users", self.create_user)
        r("GET", "/api/users/{user_id}", self.get_user)
        r("PATCH", "/api/users/{user_id}", self.update_user)
        r("PATCH", "/api/users/{user_id}/custom-data", self.merge_custom_data)
        r("PATCH", "/api/users/{user_id}/is-suspended", self.suspend_user)
        r("DELETE", "/api/users/{user_id}", self.delete_user)
        r("GET", "/api/users/{user_id}/roles", self.list_user_roles)
        r("POST", "/api/users/{user_id}/roles", self.add_user_roles)
        r("PUT", "/api/users/{user_id}/roles", self.replace_user_roles)
        r("DELETE", "/api/users/{user_id}/roles/{role_id}", self.remove_user_role)
        r("GET", "/api/users/{user_id}/organizations", self.list_user_organizations)
        r("GET", "/api/roles", self.list_roles)
        r("POST", "/api/roles", self.create_role)
        r("GET", "/api/roles/{role_id}", self.get_role)
        r("PATCH", "/api/roles/{role_id}", self.update_role)
        r("DELETE", "/api/roles/{role_id}", self.delete_role)
        r("GET", "/api/roles/{role_id}/applications", self.list_role_applications)
        r("POST", "/api/roles/{role_id}/applications", self.add_role_applications)
        r("GET", "/api/roles/{role_id}/users", self.list_role_users)
        r("POST", "/api/roles/{role_id}/users", self.add_role_users)
        r("GET", "/api/roles/{role_id}/scopes", self.list_role_scopes)
        r("GET", "/api/organizations", self.list_organizations)
        r("POST", "/api/organizations", self.create_organization)
        r("GET", "/api/organizations/{org_id}", self.get_organization)
        r("PATCH", "/api/organizations/{org_id}", self.update_organization)
        r("DELETE", "/api/organizations/{org_id}", self.delete_organization)
        r("GET", "/api/organizations/{org_id}/users", self.list_organization_users)
        r("POST", "/api/organizations/{org_id}/users", self.add_organization_users)
        r("DELETE", "/api/organizations/{org_id}/users/{user_id}", self.remove_organization_user)
        r("GET", "/api/organizations/{org_id}/applications", self.list_organization_applications)
        r("POST", "/api/organizations/{org_id}/applications", self.add_organization_applications)
        r("GET", "/api/applications", self.list_applications)
        r("POST", "/api/applications", self.create_application)
        r("GET", "/api/applications/{app_id}", self.get_application)
        r("PATCH", "/api/applications/{app_id}", self.update_application)
        r("DELETE", "/api/applications/{app_id}", self.delete_application)
        r("GET", "/api/applications/{app_id}/roles", self.list_application_roles)
        r("POST", "/api/applications/{app_id}/roles", self.add_application_roles)
        r("GET", "/api/applications/{app_id}/secrets", self.list_application_secrets)
        r("GET", "/api/resources", self.list_resources)
        r("POST", "/api/resources", self.create_resource)
        r("GET", "/api/resources/{resource_id}", self.get_resource)
        r("PATCH", "/api/resources/{resource_id}", self.update_resource)
        r("DELETE", "/api/resources/{resource_id}", self.delete_resource)
        r("GET", "/api/resources/{resource_id}/scopes", self.list_resource_scopes)
        r("POST", "/api/resources/{resource_id}/scopes", self.create_resource_scope)

    # --- users ------------------------------------------------------------------------------------------
    def list_users(self, request: Request) -> Response:
        if not any(key.startswith("search") for key in request.query):  # the common case: read one page
            parse_search_or_refuse(request, USER_SEARCH_FIELDS)
            return window_of(len(self.state.users), self.state.users_page, request)
        users = self._search(request, self.state.users_newest_first(), USER_SEARCH_FIELDS)
        return page_of(users, request)

    def create_user(self, request: Request) -> Response:
        body = Body(request)
        fields = self._user_fields(body)
        if (password := body.get("password", "string")) is not None:
            fields["password"] = password
        return Response.json(200, self.state.create_user(fields))

    def get_user(self, request: Request, user_id: str) -> Response:
        return Response.json(200, self.state.get("users", user_id))

    def update_user(self, request: Request, user_id: str) -> Response:
        self.state.get("users", user_id)
        return Response.json(200, self.state.update_user(user_id, self._user_fields(Body(request))))

    def _user_fields(self, body: Body) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        for name, pattern in (("username", _USERNAME), ("primaryEmail", _EMAIL), ("primaryPhone", _PHONE)):
            value = body.get(name, "string", nullable=True)
            if value is not None and not pattern.match(value):
                raise _invalid(name, "Invalid email" if name == "primaryEmail" else "Invalid",
                               validation="email" if name == "primaryEmail" else "regex")
            if name in body.data:
                fields[name] = value
        for name in ("name", "avatar"):
            if name in body.data:
                fields[name] = body.get(name, "string", nullable=True)
        for name in ("customData", "profile"):
            if name in body.data:
                fields[name] = body.get(name, "object")
        return fields

    def merge_custom_data(self, request: Request, user_id: str) -> Response:
        custom_data = Body(request).get("customData", "object", required=True)
        user = self.state.get("users", user_id)
        merged = {**user["customData"], **custom_data}
        return Response.json(200, self.state.update_user(user_id, {"customData": merged})["customData"])

    def suspend_user(self, request: Request, user_id: str) -> Response:
        suspended = Body(request).get("isSuspended", "boolean", required=True)
        self.state.get("users", user_id)
        return Response.json(200, self.state.update_user(user_id, {"isSuspended": suspended}))

    def delete_user(self, request: Request, user_id: str) -> Response:
        self.state.delete_user(user_id)
        return Response.empty(204)

    def list_user_roles(self, request: Request, user_id: str) -> Response:
        self.state.get("users", user_id)
        roles = [self.state.roles[role_id] for role_id in self.state.user_roles[user_id]]
        return page_of(self._search(request, roles, ROLE_SEARCH_FIELDS), request)

    def add_user_roles(self, request: Request, user_id: str) -> Response:
        self.state.set_user_roles(user_id, Body(request).string_list("roleIds"), replace=False)
        return _created()

    def replace_user_roles(self, request: Request, user_id: str) -> Response:
        self.state.set_user_roles(user_id, Body(request).string_list("roleIds"), replace=True)
        return Response.text(200, "OK")

    def remove_user_role(self, request: Request, user_id: str, role_id: str) -> Response:
        self.state.get("users", user_id)
        self.state.get("roles", role_id)
        if role_id not in self.state.user_roles[user_id]:
            raise api_error("entity.not_found")
        self.state.user_roles[user_id].remove(role_id)
        return Response.empty(204)

    def list_user_organizations(self, request: Request, user_id: str) -> Response:
        self.state.get("users", user_id)
        organizations = [org for org_id, org in self.state.organizations.items()
                         if user_id in self.state.org_users[org_id]]
        return Response.json(200, organizations)

    # --- roles ------------------------------------------------------------------------------------------
    def _role_view(self, role: dict[str, Any]) -> dict[str, Any]:
        role_id = role["id"]
        users = [u for u_id, u in self.state.users.items() if role_id in self.state.user_roles[u_id]]
        apps = [a for a_id, a in self.state.applications.items() if role_id in self.state.app_roles[a_id]]
        return {**role, "usersCount": len(users),
                "featuredUsers": [{"id": u["id"], "avatar": u["avatar"], "name": u["name"]} for u in users[:3]],
                "applicationsCount": len(apps),
                "featuredApplications": [{"id": a["id"], "name": a["name"], "type": a["type"]} for a in apps[:3]]}

    def list_roles(self, request: Request) -> Response:
        role_type = request.param("type")
        if role_type is not None and role_type not in ("User", "MachineToMachine"):
            raise api_error("guard.invalid_input", type="query", details="type: Invalid enum value")
        roles = [r for r in self.state.roles.values() if role_type is None or r["type"] == role_type]
        roles = self._search(request, roles, ROLE_SEARCH_FIELDS)
        return page_of([self._role_view(role) for role in roles], request)

    def create_role(self, request: Request) -> Response:
        body = Body(request)
        name = body.get("name", "string", required=True)
        description = body.get("description", "string", required=True)
        role_type = body.get("type", "string") or "User"
        scope_ids = body.string_list("scopeIds") if "scopeIds" in body.data else []
        return Response.json(200, self.state.create_role(name, description, role_type, scope_ids))

    def get_role(self, request: Request, role_id: str) -> Response:
        return Response.json(200, self.state.get("roles", role_id))

    def update_role(self, request: Request, role_id: str) -> Response:
        body = Body(request)
        role = self.state.get("roles", role_id)
        name = body.get("name", "string")
        if name is not None and name != role["name"] and any(r["name"] == name for r in self.state.roles.values()):
            raise api_error("role.name_in_use", name=name)
        role.update({key: body.get(key, "string") for key in ("name", "description") if key in body.data})
        if "isDefault" in body.data:
            role["isDefault"] = body.get("isDefault", "boolean")
        return Response.json(200, role)

    def delete_role(self, request: Request, role_id: str) -> Response:
        self.state.delete_role(role_id)
        return Response.empty(204)

    def list_role_applications(self, request: Request, role_id: str) -> Response:
        self.state.get("roles", role_id)
        apps = [a for a_id, a in self.state.applications.items() if role_id in self.state.app_roles[a_id]]
        return page_of(apps, request)

    def add_role_applications(self, request: Request, role_id: str) -> Response:
        app_ids = Body(request).string_list("applicationIds")
        self.state.get("roles", role_id)
        for app_id in app_ids:
            if role_id in self.state.app_roles.get(app_id, []):
                raise api_error("role.application_exists", application_id=app_id)
        for app_id in app_ids:
            self.state.assign_app_roles(app_id, [role_id])
        return _created()

    def list_role_users(self, request: Request, role_id: str) -> Response:
        self.state.get("roles", role_id)
        users = [u for u_id, u in self.state.users.items() if role_id in self.state.user_roles[u_id]]
        return page_of(users, request)

    def add_role_users(self, request: Request, role_id: str) -> Response:
        user_ids = Body(request).string_list("userIds")
        self.state.get("roles", role_id)
        for user_id in user_ids:
            self.state.set_user_roles(user_id, [role_id], replace=False)
        return _created()

    def list_role_scopes(self, request: Request, role_id: str) -> Response:
        self.state.get("roles", role_id)
        scopes = [self.state.scopes[scope_id] for scope_id in self.state.role_scopes[role_id]]
        return page_of(scopes, request, optional=True)

    # --- organizations ----------------------------------------------------------------------------------
    def list_organizations(self, request: Request) -> Response:
        query = (request.param("q") or "").lower()
        organizations = [o for o in self.state.organizations.values()
                         if query in o["id"].lower() or query in o["name"].lower()]
        return page_of(organizations, request, optional=True)

    def create_organization(self, request: Request) -> Response:
        body = Body(request)
        organization = self.state.create_organization(
            body.get("name", "string", required=True), body.get("description", "string", nullable=True),
            body.get("customData", "object"))
        if "isMfaRequired" in body.data:
            organization["isMfaRequired"] = body.get("isMfaRequired", "boolean")
        return _created(organization)

    def get_organization(self, request: Request, org_id: str) -> Response:
        return Response.json(200, self.state.get("organizations", org_id))

    def update_organization(self, request: Request, org_id: str) -> Response:
        body = Body(request)
        organization = self.state.get("organizations", org_id)
        for name, expected in (("name", "string"), ("description", "string"), ("customData", "object"),
                               ("isMfaRequired", "boolean")):
            if name in body.data:
                organization[name] = body.get(name, expected, nullable=name == "description")
        return Response.json(200, organization)

    def delete_organization(self, request: Request, org_id: str) -> Response:
        self.state.delete_organization(org_id)
        return Response.empty(204)

    def list_organization_users(self, request: Request, org_id: str) -> Response:
        self.state.get("organizations", org_id)
        users = [{**self.state.users[u_id], "organizationRoles": []} for u_id in self.state.org_users[org_id]]
        return page_of(self._search(request, users, USER_SEARCH_FIELDS), request, optional=True)

    def add_organization_users(self, request: Request, org_id: str) -> Response:
        self.state.add_org_members(org_id, "users", Body(request).string_list("userIds"))
        return _created()

    def remove_organization_user(self, request: Request, org_id: str, user_id: str) -> Response:
        self.state.get("organizations", org_id)
        if user_id not in self.state.org_users[org_id]:
            raise api_error("entity.not_found")
        self.state.org_users[org_id].remove(user_id)
        return Response.empty(204)

    def list_organization_applications(self, request: Request, org_id: str) -> Response:
        self.state.get("organizations", org_id)
        apps = [self.state.applications[a_id] for a_id in self.state.org_apps[org_id]]
        return page_of(apps, request, optional=True)

    def add_organization_applications(self, request: Request, org_id: str) -> Response:
        self.state.add_org_members(org_id, "applications", Body(request).string_list("applicationIds"))
        return _created()

    # --- applications -----------------------------------------------------------------------------------
    def list_applications(self, request: Request) -> Response:
        types = [t for value in request.query.get("types", []) for t in value.split(",") if t]
        apps = [a for a in self.state.applications.values() if not types or a["type"] in types]
        return page_of(apps, request, optional=True)

    def create_application(self, request: Request) -> Response:
        body = Body(request)
        name = body.get("name", "string", required=True)
        app_type = body.get("type", "string", required=True)
        if app_type not in ("Native", "SPA", "Traditional", "MachineToMachine", "Protected", "SAML"):
            raise _invalid("type", "Invalid enum value", validation="enum")
        return Response.json(200, self.state.create_application(name, app_type, body.get("description", "string")))

    def get_application(self, request: Request, app_id: str) -> Response:
        return Response.json(200, self.state.get("applications", app_id))

    def update_application(self, request: Request, app_id: str) -> Response:
        body = Body(request)
        application = self.state.get("applications", app_id)
        application.update({name: body.get(name, "string", nullable=name == "description")
                            for name in ("name", "description") if name in body.data})
        return Response.json(200, application)

    def delete_application(self, request: Request, app_id: str) -> Response:
        self.state.get("applications", app_id)
        del self.state.applications[app_id], self.state.app_roles[app_id]
        for members in self.state.org_apps.values():
            if app_id in members:
                members.remove(app_id)
        return Response.empty(204)

    def list_application_roles(self, request: Request, app_id: str) -> Response:
        self.state.get("applications", app_id)
        roles = [self.state.roles[role_id] for role_id in self.state.app_roles[app_id]]
        return page_of(roles, request, optional=True)

    def add_application_roles(self, request: Request, app_id: str) -> Response:
        role_ids = Body(request).string_list("roleIds")
        self.state.get("applications", app_id)
        for role_id in role_ids:
            if role_id in self.state.app_roles[app_id]:
                raise api_error("application.role_exists", role_id=role_id)
        self.state.assign_app_roles(app_id, role_ids)
        return _created()

    def list_application_secrets(self, request: Request, app_id: str) -> Response:
        application = self.state.get("applications", app_id)
        return Response.json(200, [{"tenantId": application["tenantId"], "applicationId": app_id,
                                    "name": "Default secret", "value": application["secret"],
                                    "createdAt": application["createdAt"],
                                    "expiresAt": self.state.secret_expires_at[app_id]}])

    # --- API resources ----------------------------------------------------------------------------------
    def list_resources(self, request: Request) -> Response:
        resources = list(self.state.resources.values())
        if request.param("includeScopes") == "true":
            resources = [{**r, "scopes": self.state.resource_scopes(r["id"])} for r in resources]
        return page_of(resources, request, optional=True)

    def create_resource(self, request: Request) -> Response:
        body = Body(request)
        name = body.get("name", "string", required=True)
        indicator = body.get("indicator", "string", required=True)
        if not is_absolute_uri(indicator):
            raise _invalid("indicator", "Invalid url", validation="url")
        ttl = body.get("accessTokenTtl", "number")
        resource = self.state.create_resource(name, indicator, 3600 if ttl is None else int(ttl))
        return _created({**resource, "scopes": []})

    def get_resource(self, request: Request, resource_id: str) -> Response:
        return Response.json(200, self.state.get("resources", resource_id))

    def update_resource(self, request: Request, resource_id: str) -> Response:
        body = Body(request)
        resource = self.state.get("resources", resource_id)
        if "name" in body.data:
            resource["name"] = body.get("name", "string")
        if "accessTokenTtl" in body.data:
            resource["accessTokenTtl"] = int(body.get("accessTokenTtl", "number"))
        return Response.json(200, resource)

    def delete_resource(self, request: Request, resource_id: str) -> Response:
        self.state.get("resources", resource_id)
        if resource_id == "management-api":
            raise api_error("resource.cannot_delete_management_api")
        del self.state.resources[resource_id]
        return Response.empty(204)

    def list_resource_scopes(self, request: Request, resource_id: str) -> Response:
        self.state.get("resources", resource_id)
        scopes = self._search(request, self.state.resource_scopes(resource_id), ("id", "name", "description"))
        return page_of(scopes, request, optional=True)

    def create_resource_scope(self, request: Request, resource_id: str) -> Response:
        body = Body(request)
        name = body.get("name", "string", required=True)
        return _created(self.state.create_scope(resource_id, name, body.get("description", "string",
                                                                               nullable=True)))

    # --- search -----------------------------------------------------------------------------------------
    @staticmethod
    def _search(request: Request, items: list[dict[str, Any]], fields: Iterable[str]) -> list[dict[str, Any]]:
        search = parse_search_or_refuse(request, tuple(fields))
        try:
            return select(items, search, tuple(fields))
        except SearchError as error:
            raise api_error("request.invalid_input", details=str(error)) from None


def parse_search_or_refuse(request: Request, fields: tuple[str, ...]) -> Search:
    """The request's search, or Logto's ``request.invalid_input`` for a malformed one."""
    try:
        return parse_search(request.query, fields)
    except SearchError as error:
        raise api_error("request.invalid_input", details=str(error)) from None
