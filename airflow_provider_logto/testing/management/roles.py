"""Roles: ``routes/role.ts``, ``role.user.ts``, ``role.application.ts``, ``role.scope.ts``."""

from __future__ import annotations

from typing import Any

from airflow_provider_logto.testing.errors import api_error
from airflow_provider_logto.testing.http import Request, Response
from airflow_provider_logto.testing.management.guard import (
    Field,
    guard_body,
    guard_query,
    page_of,
    require_changes,
    searched,
    string_ids,
)
from airflow_provider_logto.testing.management.routes import Routes
from airflow_provider_logto.testing.search import ROLE_SEARCH_FIELDS, USER_SEARCH_FIELDS
from airflow_provider_logto.testing.state import ROLE_TYPES, TenantState

APPLICATION_SEARCH_FIELDS = ("id", "name", "description")
_CREATE_ROLE = (
    Field("name", "string", required=True, min_length=1, max_length=128),
    Field("description", "string", required=True, min_length=1, max_length=128),
    Field("type", "enum", options=ROLE_TYPES), Field("isDefault", "boolean"),
    string_ids("scopeIds", required=False),
)
_LIST_ROLES = (Field("excludeUserId", "string"), Field("excludeApplicationId", "string"),
               Field("type", "enum", options=ROLE_TYPES))
_UPDATE_ROLE = (
    Field("name", "string", min_length=1, max_length=128),
    Field("description", "string", min_length=1, max_length=128), Field("isDefault", "boolean"),
)


def routes(state: TenantState) -> Routes:
    r = Routes()

    def role_view(role: dict[str, Any]) -> dict[str, Any]:
        users = list(state.role_users[role["id"]])
        apps = [a for a_id, a in state.applications.items() if role["id"] in state.app_roles[a_id]]
        return {**role, "usersCount": len(users),
                "featuredUsers": [{"id": u["id"], "avatar": u["avatar"], "name": u["name"]}
                                  for u in (state.users[user_id] for user_id in users[:3])],
                "applicationsCount": len(apps),
                "featuredApplications": [{"id": a["id"], "name": a["name"], "type": a["type"]} for a in apps[:3]]}

    def check_scopes(role: dict[str, Any], scope_ids: list[str]) -> None:
        """``validateRoleScopeAssignment``: scopes exist; Management API scopes never go to User roles."""
        for scope_id in scope_ids:
            scope = state.get("scopes", scope_id)
            if role["type"] == "User" and state.is_management_resource(scope["resourceId"]):
                raise api_error("role.management_api_scopes_not_assignable_to_user_role")

    def list_roles(request: Request) -> Response:
        query = guard_query(request, _LIST_ROLES)
        role_type = query.get("type")
        excluded = set(state.user_roles.get(query.get("excludeUserId") or "", []))
        excluded |= set(state.app_roles.get(query.get("excludeApplicationId") or "", []))
        roles = [role for role in state.visible_roles()
                 if (role_type is None or role["type"] == role_type) and role["id"] not in excluded]
        return page_of([role_view(role) for role in searched(request, roles, ROLE_SEARCH_FIELDS)], request)

    def create_role(request: Request) -> Response:
        body = guard_body(request, _CREATE_ROLE)
        scope_ids = body.get("scopeIds")
        role = state.create_role(body["name"], body["description"], body.get("type", "User"),
                                 is_default=body.get("isDefault", False))
        if scope_ids:  # the role exists from here on, whatever the scopes turn out to be (as in Logto)
            check_scopes(role, scope_ids)
            state.add_role_scopes(role["id"], scope_ids)
        return Response.json(200, role)

    def get_role(request: Request, role_id: str) -> Response:
        return Response.json(200, state.get("roles", role_id))

    def update_role(request: Request, role_id: str) -> Response:
        body = guard_body(request, _UPDATE_ROLE)
        role = state.get("roles", role_id)
        name = body.get("name")
        if name and any(r["name"] == name and r["id"] != role_id for r in state.roles.values()):
            raise api_error("role.name_in_use", name=name)
        require_changes(body)
        role.update(body)
        return Response.json(200, role)

    def delete_role(request: Request, role_id: str) -> Response:
        state.get("roles", role_id)
        state.delete_role(role_id)
        return Response.empty(204)

    def list_role_users(request: Request, role_id: str) -> Response:
        state.get("roles", role_id)
        users = state.newest_first(state.role_users[role_id])
        return page_of(searched(request, users, USER_SEARCH_FIELDS), request)

    def add_role_users(request: Request, role_id: str) -> Response:
        user_ids = guard_body(request, (string_ids("userIds", nonempty=True),))["userIds"]
        state.get("roles", role_id)
        existing = next((u for u in user_ids if u in state.role_users[role_id]), None)
        if existing is not None:
            raise api_error("role.user_exists", user_id=existing)
        for user_id in user_ids:
            state.get("users", user_id)
        state.insert_user_roles((user_id, role_id) for user_id in user_ids)
        return Response.text(201, "Created")

    def remove_role_user(request: Request, role_id: str, user_id: str) -> Response:
        if not state.delete_user_role(user_id, role_id):
            raise api_error("entity.not_found")
        return Response.empty(204)

    def list_role_applications(request: Request, role_id: str) -> Response:
        state.get("roles", role_id)
        apps = [a for a_id, a in state.applications.items()
                if role_id in state.app_roles[a_id] and a["type"] == "MachineToMachine"]
        return page_of(searched(request, apps, APPLICATION_SEARCH_FIELDS), request)

    def add_role_applications(request: Request, role_id: str) -> Response:
        app_ids = guard_body(request, (string_ids("applicationIds", nonempty=True),))["applicationIds"]
        state.get("roles", role_id)
        if any(role_id in state.app_roles.get(app_id, []) for app_id in app_ids):
            raise api_error("role.application_exists")
        for app_id in app_ids:
            state.get("applications", app_id)
        state.insert_app_roles((app_id, role_id) for app_id in app_ids)
        return Response.text(201, "Created")

    def remove_role_application(request: Request, role_id: str, app_id: str) -> Response:
        if not state.delete_app_role(app_id, role_id):
            raise api_error("entity.not_found")
        return Response.empty(204)

    def list_role_scopes(request: Request, role_id: str) -> Response:
        state.get("roles", role_id)
        scopes = [state.scopes[s] for s in state.role_scopes[role_id]]
        scopes = [{**s, "resource": state.resources[s["resourceId"]]}
                  for s in searched(request, scopes, ("id", "name", "description"))]
        return page_of(scopes, request, optional=True)

    def add_role_scopes(request: Request, role_id: str) -> Response:
        scope_ids = guard_body(request, (string_ids("scopeIds", nonempty=True),))["scopeIds"]
        role = state.get("roles", role_id)
        held = state.role_scopes[role_id]
        for scope_id in scope_ids:
            if scope_id in held:
                raise api_error("role.scope_exists", scope_id=scope_id)
        check_scopes(role, scope_ids)
        state.add_role_scopes(role_id, scope_ids)
        return Response.json(201, [state.scopes[s] for s in state.role_scopes[role_id]])

    def remove_role_scope(request: Request, role_id: str, scope_id: str) -> Response:
        if scope_id not in state.role_scopes.get(role_id, []):
            raise api_error("entity.not_found")
        state.role_scopes[role_id].remove(scope_id)
        return Response.empty(204)

    r.add("GET", "/roles", list_roles)
    r.add("POST", "/roles", create_role)
    r.add("GET", "/roles/{role_id}", get_role)
    r.add("PATCH", "/roles/{role_id}", update_role)
    r.add("DELETE", "/roles/{role_id}", delete_role)
    r.add("GET", "/roles/{role_id}/users", list_role_users)
    r.add("POST", "/roles/{role_id}/users", add_role_users)
    r.add("DELETE", "/roles/{role_id}/users/{user_id}", remove_role_user)
    r.add("GET", "/roles/{role_id}/applications", list_role_applications)
    r.add("POST", "/roles/{role_id}/applications", add_role_applications)
    r.add("DELETE", "/roles/{role_id}/applications/{app_id}", remove_role_application)
    r.add("GET", "/roles/{role_id}/scopes", list_role_scopes)
    r.add("POST", "/roles/{role_id}/scopes", add_role_scopes)
    r.add("DELETE", "/roles/{role_id}/scopes/{scope_id}", remove_role_scope)
    return r
