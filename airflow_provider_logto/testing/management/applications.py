"""Applications: ``routes/applications/{application,application-role,application-secret}.ts``."""

from __future__ import annotations

from airflow_provider_logto.testing.errors import api_error
from airflow_provider_logto.testing.http import Request, Response
from airflow_provider_logto.testing.management.guard import (
    Field,
    guard_body,
    guard_query,
    page_of,
    paged,
    require_changes,
    searched,
    string_ids,
)
from airflow_provider_logto.testing.management.routes import Routes
from airflow_provider_logto.testing.search import ROLE_SEARCH_FIELDS
from airflow_provider_logto.testing.state import APPLICATION_TYPES, TenantState

APPLICATION_SEARCH_FIELDS = ("id", "name", "description")
_CREATE_APPLICATION = (
    Field("name", "string", required=True, min_length=1, max_length=256),
    Field("description", "string", nullable=True),
    Field("type", "enum", required=True, options=APPLICATION_TYPES), Field("customData", "object"),
)
# the list's query guard: ``types`` is one type or several (repeated, never comma-separated)
_LIST_APPLICATIONS = (
    Field("types", "enum", options=APPLICATION_TYPES, one_or_many=True), Field("excludeRoleId", "string"),
    Field("excludeOrganizationId", "string"), Field("isThirdParty", "literal", options=("true", "false")),
)
_UPDATE_APPLICATION = (
    Field("name", "string", min_length=1, max_length=256), Field("description", "string", nullable=True),
    Field("customData", "object"),
)


def routes(state: TenantState) -> Routes:
    r = Routes()

    def m2m_application(app_id: str) -> None:
        """Role routes are for M2M applications only (422 ``application.invalid_type``)."""
        if state.get("applications", app_id)["type"] != "MachineToMachine":
            raise api_error("application.invalid_type")

    def list_applications(request: Request) -> Response:
        query = guard_query(request, _LIST_APPLICATIONS)
        types = query.get("types", [])
        types = types if isinstance(types, list) else [types]
        exclude_role, exclude_org = query.get("excludeRoleId"), query.get("excludeOrganizationId")
        if exclude_role and exclude_org:
            raise api_error("request.invalid_input", status=400, details="Parameter `excludeRoleId` and "
                            "`excludeOrganizationId` cannot be used at the same time.")
        third_party = query.get("isThirdParty")
        apps = [a for a in state.applications_newest_first()
                if (not types or a["type"] in types)
                and (not exclude_role or exclude_role not in state.app_roles[a["id"]])
                and (not exclude_org or a["id"] not in state.org_apps.get(exclude_org, {}))
                and (third_party is None or a["isThirdParty"] == (third_party == "true"))]
        apps = searched(request, apps, APPLICATION_SEARCH_FIELDS)
        return paged(request, len(apps), lambda offset, limit: apps[offset:offset + limit], optional=True)

    def create_application(request: Request) -> Response:
        body = guard_body(request, _CREATE_APPLICATION)
        return Response.json(200, state.create_application(body["name"], body["type"], body.get("description"),
                                                           custom_data=body.get("customData")))

    def get_application(request: Request, app_id: str) -> Response:
        """The application and ``isAdmin`` (whether it holds Logto's internal admin role: never here)."""
        return Response.json(200, {**state.get("applications", app_id), "isAdmin": False})

    def update_application(request: Request, app_id: str) -> Response:
        body = guard_body(request, _UPDATE_APPLICATION)
        application = state.get("applications", app_id)
        require_changes(body)
        application.update(body)
        return Response.json(200, application)

    def delete_application(request: Request, app_id: str) -> Response:
        state.get("applications", app_id)
        state.delete_application(app_id)
        return Response.empty(204)

    def list_application_roles(request: Request, app_id: str) -> Response:
        m2m_application(app_id)
        held = set(state.app_roles[app_id])
        roles = [role for role in state.visible_roles() if role["id"] in held and role["type"] == "MachineToMachine"]
        return page_of(searched(request, roles, ROLE_SEARCH_FIELDS), request)

    def add_application_roles(request: Request, app_id: str) -> Response:
        role_ids = guard_body(request, (string_ids("roleIds"),))["roleIds"]
        m2m_application(app_id)
        for role in (state.roles[role_id] for role_id in dict.fromkeys(role_ids) if role_id in state.roles):
            if role["id"] in state.app_roles[app_id]:
                raise api_error("application.role_exists", role_id=role["id"])
            if role["type"] != "MachineToMachine":
                raise api_error("application.invalid_role_type")
        for role_id in role_ids:
            state.get("roles", role_id)
        state.insert_app_roles((app_id, role_id) for role_id in role_ids)
        return Response.text(201, "Created")

    def replace_application_roles(request: Request, app_id: str) -> Response:
        role_ids = guard_body(request, (string_ids("roleIds"),))["roleIds"]
        m2m_application(app_id)
        held = list(state.app_roles[app_id])
        to_add = [role_id for role_id in role_ids if role_id not in held]
        for role_id in to_add:
            state.get("roles", role_id)
        for role_id in held:
            if role_id not in role_ids:
                state.delete_app_role(app_id, role_id)
        state.insert_app_roles((app_id, role_id) for role_id in to_add)
        return Response.text(200, "OK")

    def remove_application_role(request: Request, app_id: str, role_id: str) -> Response:
        m2m_application(app_id)
        if not state.delete_app_role(app_id, role_id):
            raise api_error("entity.not_found")
        return Response.empty(204)

    def list_application_secrets(request: Request, app_id: str) -> Response:
        application = state.get("applications", app_id)
        return Response.json(200, [{"tenantId": application["tenantId"], "applicationId": app_id,
                                    "name": "Default secret", "value": application["secret"],
                                    "createdAt": application["createdAt"],
                                    "expiresAt": state.secret_expires_at[app_id]}])

    def list_application_organizations(request: Request, app_id: str) -> Response:
        state.get("applications", app_id)
        organizations = [
            {**org, "organizationRoles": [{"id": role["id"], "name": role["name"]} for role in sorted(
                state.member_org_roles(org_id, "applications", app_id), key=lambda role: role["name"])]}
            for org_id, org in state.organizations.items() if app_id in state.org_apps[org_id]
        ]
        return page_of(organizations, request, optional=True)

    r.add("GET", "/applications", list_applications)
    r.add("POST", "/applications", create_application)
    r.add("GET", "/applications/{app_id}", get_application)
    r.add("PATCH", "/applications/{app_id}", update_application)
    r.add("DELETE", "/applications/{app_id}", delete_application)
    r.add("GET", "/applications/{app_id}/roles", list_application_roles)
    r.add("POST", "/applications/{app_id}/roles", add_application_roles)
    r.add("PUT", "/applications/{app_id}/roles", replace_application_roles)
    r.add("DELETE", "/applications/{app_id}/roles/{role_id}", remove_application_role)
    r.add("GET", "/applications/{app_id}/secrets", list_application_secrets)
    r.add("GET", "/applications/{app_id}/organizations", list_application_organizations)
    return r
