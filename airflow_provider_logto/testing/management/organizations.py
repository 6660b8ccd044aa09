"""Organizations and the organization template: ``routes/organization/**`` (members, applications and their
organization roles), ``routes/organization-role``, ``routes/organization-scope`` and ``utils/SchemaRouter.ts``.

These routers map database errors themselves (``routes/organization/utils.ts``): an unknown id in a relation is
422 ``entity.relation_foreign_key_not_found``, a duplicate 422 ``entity.unique_integrity_violation``. Adding an
existing member or role is ``on conflict do nothing``: 201 again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from airflow_provider_logto.testing.errors import api_error
from airflow_provider_logto.testing.http import Request, Response
from airflow_provider_logto.testing.management.guard import (
    Field,
    guard_body,
    guard_query,
    keyword_filter,
    page_of,
    query_flag,
    require_changes,
    string_ids,
)
from airflow_provider_logto.testing.management.routes import Routes
from airflow_provider_logto.testing.search import USER_SEARCH_FIELDS
from airflow_provider_logto.testing.state import ROLE_TYPES, TenantState

_ORGANIZATION = (
    Field("name", "string", min_length=1, max_length=128), Field("description", "string", nullable=True,
                                                                   max_length=256),
    Field("customData", "object"), Field("isMfaRequired", "boolean"), Field("color", "object"),
    Field("branding", "object"), Field("customCss", "string", nullable=True),
)
_ORG_ROLE = (
    Field("name", "string", min_length=1, max_length=128),
    Field("description", "string", nullable=True, max_length=256), Field("type", "enum", options=ROLE_TYPES),
)
_ORG_SCOPE = (Field("name", "string", min_length=1, max_length=128),
              Field("description", "string", nullable=True, max_length=256))
_USER_INFO = ("id", "username", "primaryEmail", "primaryPhone", "name", "avatar", "customData", "identities",
              "lastSignInAt", "createdAt", "updatedAt", "profile", "applicationId", "isSuspended")
# the member kinds: path segment, id list in bodies, state kind
_KINDS = {"users": ("userIds", "users"), "applications": ("applicationIds", "applications")}


def _required(fields: tuple[Field, ...], *names: str) -> tuple[Field, ...]:
    return tuple(Field(**{**f.__dict__, "required": True}) if f.name in names else f for f in fields)


def routes(state: TenantState) -> Routes:
    r = Routes(family="organization")

    def role_refs(roles: list[dict[str, Any]]) -> list[dict[str, str]]:
        """``aggregateRoles()``: ``{id, name}`` ordered by name."""
        return [{"id": role["id"], "name": role["name"]} for role in sorted(roles, key=lambda role: role["name"])]

    # --- organizations ----------------------------------------------------------------------------------
    def featured_users(org_id: str) -> list[dict[str, Any]]:
        return [state.users[user_id] for user_id in list(state.org_users[org_id])[:3]]

    def list_organizations(request: Request) -> Response:
        guard_query(request, (Field("showFeatured", "string"),))
        organizations = keyword_filter(request, state.organizations.values(), ("id", "name"))
        if query_flag(request.query, "showFeatured"):
            organizations = [{**org, "usersCount": len(state.org_users[org["id"]]),
                              "featuredUsers": [{"id": u["id"], "avatar": u["avatar"], "name": u["name"]}
                                                for u in featured_users(org["id"])]}
                             for org in organizations]
        return page_of(organizations, request)

    def create_organization(request: Request) -> Response:
        body = guard_body(request, _required(_ORGANIZATION, "name"))
        organization = state.create_organization(body.pop("name"), body.pop("description", None),
                                                 body.pop("customData", None), body.pop("isMfaRequired", False))
        organization.update(body)
        return Response.json(201, organization)

    def get_organization(request: Request, org_id: str) -> Response:
        return Response.json(200, state.get("organizations", org_id))

    def update_organization(request: Request, org_id: str) -> Response:
        body = guard_body(request, _ORGANIZATION)
        require_changes(body)
        organization = state.organizations.get(org_id)
        if organization is None:
            raise api_error("entity.not_exists", name="organization")
        organization.update(body)
        return Response.json(200, organization)

    def delete_organization(request: Request, org_id: str) -> Response:
        if org_id not in state.organizations:
            raise api_error("entity.not_found")
        state.delete_organization(org_id)
        return Response.empty(204)

    # --- members (users and applications) -----------------------------------------------------------------
    def list_members(request: Request, org_id: str, segment: str) -> Response:
        kind = _KINDS[segment][1]
        members = state.org_users.get(org_id, {}) if kind == "users" else state.org_apps.get(org_id, {})
        if kind == "users":
            rows = [{**{f: state.users[m][f] for f in _USER_INFO},
                     "organizationRoles": role_refs(state.member_org_roles(org_id, kind, m))} for m in members]
            rows = keyword_filter(request, rows, USER_SEARCH_FIELDS)
        else:
            rows = [{**state.applications[m], "organizationRoles": role_refs(state.member_org_roles(org_id, kind, m))}
                    for m in members]
            rows = keyword_filter(request, rows, ("id", "name", "description"))
        return page_of(rows, request)

    def add_members(request: Request, org_id: str, segment: str) -> Response:
        ids_key, kind = _KINDS[segment]
        state.add_org_members(org_id, kind, guard_body(request, (string_ids(ids_key, nonempty=True),))[ids_key])
        return Response.text(201, "Created")

    def replace_members(request: Request, org_id: str, segment: str) -> Response:
        ids_key, kind = _KINDS[segment]
        state.replace_org_members(org_id, kind, guard_body(request, (string_ids(ids_key),))[ids_key])
        return Response.empty(204)

    def remove_member(request: Request, org_id: str, segment: str, member_id: str) -> Response:
        if not state.remove_org_member(org_id, _KINDS[segment][1], member_id):
            raise api_error("entity.not_found")
        return Response.empty(204)

    def add_members_roles(request: Request, org_id: str, segment: str) -> Response:
        """``POST /organizations/{id}/{users|applications}/roles``: every role to every member."""
        ids_key, kind = _KINDS[segment]
        body = guard_body(request, (string_ids(ids_key, nonempty=True),
                                    string_ids("organizationRoleIds", nonempty=True)))
        state.add_member_org_roles(org_id, kind, ((member_id, role_id) for role_id in body["organizationRoleIds"]
                                                  for member_id in body[ids_key]))
        return Response.text(201, "Created")

    # --- a member's organization roles --------------------------------------------------------------------
    def member(org_id: str, segment: str, member_id: str) -> str:
        """The ``router.use()`` in front of these routes: the member must be in the organization."""
        kind = _KINDS[segment][1]
        if not state.is_org_member(org_id, kind, member_id):
            raise api_error("organization.require_membership")
        return kind

    def role_ids_of(request: Request, kind: str) -> list[str]:
        if kind == "applications":
            return guard_body(request, (string_ids("organizationRoleIds", nonempty=True),))["organizationRoleIds"]
        body = guard_body(request, (string_ids("organizationRoleIds", required=False),
                                    string_ids("organizationRoleNames", required=False)))
        names = body.get("organizationRoleNames", [])
        by_name = {role["name"]: role["id"] for role in state.org_roles.values()}
        missing = [name for name in names if name not in by_name]
        if missing:
            raise api_error("organization.role_names_not_found", names=_conjunction(missing))
        return list(dict.fromkeys([*body.get("organizationRoleIds", []), *(by_name[n] for n in names)]))

    def list_member_roles(request: Request, org_id: str, segment: str, member_id: str) -> Response:
        kind = member(org_id, segment, member_id)
        return page_of(state.member_org_roles(org_id, kind, member_id), request, optional=True)

    def add_member_roles(request: Request, org_id: str, segment: str, member_id: str) -> Response:
        kind = member(org_id, segment, member_id)
        state.add_member_org_roles(org_id, kind, ((member_id, r) for r in role_ids_of(request, kind)))
        return Response.text(201, "Created")

    def replace_member_roles(request: Request, org_id: str, segment: str, member_id: str) -> Response:
        kind = member(org_id, segment, member_id)
        state.replace_member_org_roles(org_id, kind, member_id, role_ids_of(request, kind))
        return Response.empty(204)

    def remove_member_role(request: Request, org_id: str, segment: str, member_id: str, role_id: str) -> Response:
        kind = member(org_id, segment, member_id)
        if not state.remove_member_org_role(org_id, kind, member_id, role_id):
            raise api_error("entity.not_found")
        return Response.empty(204)

    def list_member_scopes(request: Request, org_id: str, segment: str, member_id: str) -> Response:
        kind = member(org_id, segment, member_id)
        return Response.json(200, state.member_org_scopes(org_id, kind, member_id))

    # --- organization roles -------------------------------------------------------------------------------
    def role_with_scopes(role: dict[str, Any]) -> dict[str, Any]:
        scopes = sorted(state.org_role_scopes[role["id"]])
        resource_scopes = [state.scopes[s] for s in sorted(state.org_role_resource_scopes[role["id"]])]
        return {**role, "scopes": [{"id": s, "name": state.org_scopes[s]["name"]} for s in scopes],
                "resourceScopes": [{"id": s["id"], "name": s["name"], "resource": {
                    "id": s["resourceId"], "name": state.resources[s["resourceId"]]["name"]}} for s in resource_scopes]}

    def list_org_roles(request: Request) -> Response:
        roles = keyword_filter(request, state.org_roles.values(), ("id", "name", "description"))
        return page_of([role_with_scopes(role) for role in roles], request)

    def create_org_role(request: Request) -> Response:
        body = guard_body(request, (*_required(_ORG_ROLE, "name"), string_ids("organizationScopeIds", required=False),
                                    string_ids("resourceScopeIds", required=False)))
        role = state.create_org_role(body["name"], body.get("description"), body.get("type", "User"))
        if body.get("organizationScopeIds"):  # the role exists from here on, as in Logto
            state.add_org_role_scopes(role["id"], "scopes", body["organizationScopeIds"])
        if body.get("resourceScopeIds"):
            state.add_org_role_scopes(role["id"], "resource-scopes", body["resourceScopeIds"])
        return Response.json(201, role)

    def get_org_role(request: Request, role_id: str) -> Response:
        return Response.json(200, state.get("org_roles", role_id))

    def update_named(entities: dict[str, dict[str, Any]], entity_id: str, body: dict[str, Any],
                     entity: str) -> Response:
        """PATCH of a uniquely named organization role or scope (Logto's SchemaRouter for both)."""
        require_changes(body)
        found = entities.get(entity_id)
        if found is None:
            raise api_error("entity.not_exists", name=entity)
        if "name" in body and any(e["name"] == body["name"] and e["id"] != entity_id for e in entities.values()):
            raise api_error("entity.unique_integrity_violation")
        found.update(body)
        return Response.json(200, found)

    def delete_existing(entities: dict[str, dict[str, Any]], entity_id: str, delete: Callable[[str], None]) -> Response:
        if entity_id not in entities:
            raise api_error("entity.not_found")
        delete(entity_id)
        return Response.empty(204)

    def update_org_role(request: Request, role_id: str) -> Response:
        return update_named(state.org_roles, role_id, guard_body(request, _ORG_ROLE), "organization_role")

    def delete_org_role(request: Request, role_id: str) -> Response:
        return delete_existing(state.org_roles, role_id, state.delete_org_role)

    def role_scope_key(relation: str) -> str:
        return "organizationScopeIds" if relation == "scopes" else "scopeIds"

    def list_org_role_scopes(request: Request, role_id: str, relation: str) -> Response:
        state.get("org_roles", role_id)
        held, scopes = state.role_scope_relation(relation)
        return page_of([scopes[s] for s in held[role_id]], request, optional=True)

    def add_org_role_scopes(request: Request, role_id: str, relation: str) -> Response:
        key = role_scope_key(relation)
        state.add_org_role_scopes(role_id, relation, guard_body(request, (string_ids(key, nonempty=True),))[key])
        return Response.text(201, "Created")

    def replace_org_role_scopes(request: Request, role_id: str, relation: str) -> Response:
        key = role_scope_key(relation)
        state.replace_org_role_scopes(role_id, relation, guard_body(request, (string_ids(key),))[key])
        return Response.empty(204)

    def remove_org_role_scope(request: Request, role_id: str, relation: str, scope_id: str) -> Response:
        held, _ = state.role_scope_relation(relation)
        if scope_id not in held.get(role_id, []):
            raise api_error("entity.not_found")
        held[role_id].remove(scope_id)
        return Response.empty(204)

    # --- organization scopes ------------------------------------------------------------------------------
    def list_org_scopes(request: Request) -> Response:
        return page_of(keyword_filter(request, state.org_scopes.values(), ("name",)), request, optional=True)

    def create_org_scope(request: Request) -> Response:
        body = guard_body(request, _required(_ORG_SCOPE, "name"))
        return Response.json(201, state.create_org_scope(body["name"], body.get("description")))

    def get_org_scope(request: Request, scope_id: str) -> Response:
        return Response.json(200, state.get("org_scopes", scope_id))

    def update_org_scope(request: Request, scope_id: str) -> Response:
        return update_named(state.org_scopes, scope_id, guard_body(request, _ORG_SCOPE), "organization_scope")

    def delete_org_scope(request: Request, scope_id: str) -> Response:
        return delete_existing(state.org_scopes, scope_id, state.delete_org_scope)

    r.add("GET", "/organizations", list_organizations)
    r.add("POST", "/organizations", create_organization)
    r.add("GET", "/organizations/{org_id}", get_organization)
    r.add("PATCH", "/organizations/{org_id}", update_organization)
    r.add("DELETE", "/organizations/{org_id}", delete_organization)
    for segment in _KINDS:
        def bind(handler: Any, segment: str = segment) -> Any:
            return lambda request, **params: handler(request, segment=segment, **params)

        r.add("GET", f"/organizations/{{org_id}}/{segment}", bind(list_members))
        r.add("POST", f"/organizations/{{org_id}}/{segment}", bind(add_members))
        r.add("PUT", f"/organizations/{{org_id}}/{segment}", bind(replace_members))
        r.add("POST", f"/organizations/{{org_id}}/{segment}/roles", bind(add_members_roles))
        r.add("DELETE", f"/organizations/{{org_id}}/{segment}/{{member_id}}", bind(remove_member))
        r.add("GET", f"/organizations/{{org_id}}/{segment}/{{member_id}}/roles", bind(list_member_roles))
        r.add("POST", f"/organizations/{{org_id}}/{segment}/{{member_id}}/roles", bind(add_member_roles))
        r.add("PUT", f"/organizations/{{org_id}}/{segment}/{{member_id}}/roles", bind(replace_member_roles))
        r.add("DELETE", f"/organizations/{{org_id}}/{segment}/{{member_id}}/roles/{{role_id}}",
              bind(remove_member_role))
        r.add("GET", f"/organizations/{{org_id}}/{segment}/{{member_id}}/scopes", bind(list_member_scopes))
    r.add("GET", "/organization-roles", list_org_roles)
    r.add("POST", "/organization-roles", create_org_role)
    r.add("GET", "/organization-roles/{role_id}", get_org_role)
    r.add("PATCH", "/organization-roles/{role_id}", update_org_role)
    r.add("DELETE", "/organization-roles/{role_id}", delete_org_role)
    for relation in ("scopes", "resource-scopes"):
        def bind_relation(handler: Any, relation: str = relation) -> Any:
            return lambda request, **params: handler(request, relation=relation, **params)

        r.add("GET", f"/organization-roles/{{role_id}}/{relation}", bind_relation(list_org_role_scopes))
        r.add("POST", f"/organization-roles/{{role_id}}/{relation}", bind_relation(add_org_role_scopes))
        r.add("PUT", f"/organization-roles/{{role_id}}/{relation}", bind_relation(replace_org_role_scopes))
        r.add("DELETE", f"/organization-roles/{{role_id}}/{relation}/{{scope_id}}",
              bind_relation(remove_org_role_scope))
    r.add("GET", "/organization-scopes", list_org_scopes)
    r.add("POST", "/organization-scopes", create_org_scope)
    r.add("GET", "/organization-scopes/{scope_id}", get_org_scope)
    r.add("PATCH", "/organization-scopes/{scope_id}", update_org_scope)
    r.add("DELETE", "/organization-scopes/{scope_id}", delete_org_scope)
    return r


def _conjunction(names: list[str]) -> str:
    """``Intl.ListFormat('en', {type: 'conjunction'})``: ``a``, ``a and b``, ``a, b, and c``."""
    if len(names) <= 2:
        return " and ".join(names)
    return ", ".join(names[:-1]) + f", and {names[-1]}"
