"""Contract: organizations as ``routes/organization/**``, ``organization-role`` and ``organization-scope`` of
Logto v1.37.1 define them (``SchemaRouter``, ``RelationQueries``, the organization ``errorHandler``)."""

from __future__ import annotations

import json

import pytest

from airflow_provider_logto.testing import LogtoEmulator, M2MApp
from tests.emulator.helpers import Api


@pytest.fixture
def org(api: Api) -> dict:
    response = api("POST", "/organizations", json={"name": "Acme"})
    assert response.status_code == 201
    return response.json()


def test_organization_crud(api: Api, org: dict) -> None:
    assert list(org) == ["tenantId", "id", "name", "description", "customData", "isMfaRequired", "color",
                         "branding", "customCss", "createdAt"]
    assert len(org["id"]) == 12
    patched = api("PATCH", f"/organizations/{org['id']}", json={"customData": {"tier": "gold"}})
    assert patched.json()["customData"] == {"tier": "gold"}
    assert api("GET", f"/organizations/{org['id']}").json()["customData"] == {"tier": "gold"}
    assert api("DELETE", f"/organizations/{org['id']}").status_code == 204


def test_organization_not_found_codes(api: Api) -> None:
    got = api("GET", "/organizations/nope").json()
    assert (got["code"], got["message"]) == ("entity.not_exists_with_id",
                                             "The organizations with ID `nope` does not exist.")
    patched = api("PATCH", "/organizations/nope", json={"name": "x"})
    assert (patched.status_code, patched.json()["code"], patched.json()["message"]) == (
        404, "entity.not_exists", "The organization does not exist.")
    deleted = api("DELETE", "/organizations/nope")
    assert (deleted.status_code, deleted.json()["code"]) == (404, "entity.not_found")
    nameless = api("POST", "/organizations", json={})
    assert nameless.json()["data"]["issues"][0]["message"] == "Required"


def test_organization_list_is_paginated_and_searchable(api: Api) -> None:
    for name in ("Acme", "Globex", "Acme West"):
        api("POST", "/organizations", json={"name": name})
    listed = api("GET", "/organizations")
    assert listed.headers["Total-Number"] == "3"  # pagination is not optional here
    assert [o["name"] for o in listed.json()] == ["Acme", "Globex", "Acme West"]
    found = api("GET", "/organizations", params={"q": "acme"}).json()
    assert [o["name"] for o in found] == ["Acme", "Acme West"]
    featured = api("GET", "/organizations", params={"showFeatured": "true"}).json()
    assert featured[0]["usersCount"] == 0 and featured[0]["featuredUsers"] == []


def test_members_add_existing_none_unknown_remove(emulator: LogtoEmulator, api: Api, org: dict) -> None:
    jane, joe = emulator.add_user("jane"), emulator.add_user("joe")
    path = f"/organizations/{org['id']}/users"
    assert api("POST", path, json={"userIds": [jane["id"]]}).status_code == 201
    again = api("POST", path, json={"userIds": [jane["id"], joe["id"]]})
    assert (again.status_code, again.text) == (201, "Created")
    listed = api("GET", path)
    assert listed.headers["Total-Number"] == "2" and {u["id"] for u in listed.json()} == {jane["id"], joe["id"]}
    none = api("POST", path, json={"userIds": []})
    assert none.status_code == 400
    assert none.json()["data"]["issues"][0] == {
        "code": "too_small", "minimum": 1, "type": "array", "inclusive": True, "exact": False,
        "message": "Array must contain at least 1 element(s)", "path": ["userIds"]}
    unknown = api("POST", path, json={"userIds": ["nobody"]})
    assert (unknown.status_code, unknown.json()["code"]) == (422, "entity.relation_foreign_key_not_found")
    no_org = api("POST", "/organizations/nope/users", json={"userIds": [jane["id"]]})
    assert (no_org.status_code, no_org.json()["code"]) == (422, "entity.relation_foreign_key_not_found")
    assert api("DELETE", f"{path}/{jane['id']}").status_code == 204
    gone = api("DELETE", f"{path}/{jane['id']}")
    assert (gone.status_code, gone.json()["code"]) == (404, "entity.not_found")
    assert api("PUT", path, json={"userIds": [jane["id"]]}).status_code == 204
    assert [u["id"] for u in api("GET", path).json()] == [jane["id"]]
    assert api("GET", "/organizations/nope/users").json() == []  # no existence check on this list


def test_member_rows_and_user_organizations(emulator: LogtoEmulator, api: Api, org: dict) -> None:
    jane = emulator.add_user("jane")
    api("POST", f"/organizations/{org['id']}/users", json={"userIds": [jane["id"]]})
    for name in ("viewer", "admin"):
        api("POST", "/organization-roles", json={"name": name})
    api("POST", f"/organizations/{org['id']}/users/{jane['id']}/roles",
        json={"organizationRoleNames": ["viewer", "admin"]})
    row = api("GET", f"/organizations/{org['id']}/users").text
    member = json.loads(row)[0]
    assert "hasPassword" not in member
    assert list(member)[-1] == "organizationRoles"
    assert [r["name"] for r in member["organizationRoles"]] == ["admin", "viewer"]  # ordered by name
    organizations = api("GET", f"/users/{jane['id']}/organizations").json()
    assert [o["id"] for o in organizations] == [org["id"]]
    assert [r["name"] for r in organizations[0]["organizationRoles"]] == ["admin", "viewer"]


def test_applications_in_organizations(emulator: LogtoEmulator, api: Api, org: dict, management_app: M2MApp) -> None:
    path = f"/organizations/{org['id']}/applications"
    assert api("POST", path, json={"applicationIds": [management_app.id]}).status_code == 201
    assert [a["id"] for a in api("GET", path).json()] == [management_app.id]
    spa = api("POST", "/applications", json={"name": "web", "type": "SPA"}).json()
    refused = api("POST", path, json={"applicationIds": [spa["id"]]})
    assert (refused.status_code, refused.json()["code"]) == (422, "entity.db_constraint_violated")
    assert api("DELETE", f"{path}/{management_app.id}").status_code == 204
    assert api("GET", path).json() == []
    again = api("DELETE", f"{path}/{management_app.id}")
    assert (again.status_code, again.json()["code"]) == (404, "entity.not_found")
    assert api("GET", f"/applications/{management_app.id}/organizations").json() == []


def test_organization_roles_and_scopes(api: Api) -> None:
    scope = api("POST", "/organization-scopes", json={"name": "read:docs"})
    assert scope.status_code == 201 and list(scope.json()) == ["tenantId", "id", "name", "description"]
    scope_id = scope.json()["id"]
    duplicate = api("POST", "/organization-scopes", json={"name": "read:docs"})
    assert (duplicate.status_code, duplicate.json()["code"]) == (422, "entity.unique_integrity_violation")
    role = api("POST", "/organization-roles", json={"name": "viewer", "organizationScopeIds": [scope_id]})
    assert role.status_code == 201 and list(role.json()) == ["tenantId", "id", "name", "description", "type"]
    role_id = role.json()["id"]
    listed = api("GET", "/organization-roles").json()
    assert listed[0]["scopes"] == [{"id": scope_id, "name": "read:docs"}] and listed[0]["resourceScopes"] == []
    assert "scopes" not in api("GET", f"/organization-roles/{role_id}").json()
    assert api("GET", f"/organization-roles/{role_id}/scopes").json()[0]["name"] == "read:docs"
    assert api("POST", f"/organization-roles/{role_id}/scopes",
               json={"organizationScopeIds": [scope_id]}).status_code == 201  # already held: fine
    unknown = api("POST", f"/organization-roles/{role_id}/scopes", json={"organizationScopeIds": ["nope"]})
    assert (unknown.status_code, unknown.json()["code"]) == (422, "entity.relation_foreign_key_not_found")
    assert api("DELETE", f"/organization-roles/{role_id}/scopes/{scope_id}").status_code == 204
    assert api("DELETE", f"/organization-roles/{role_id}/scopes/{scope_id}").json()["code"] == "entity.not_found"
    assert api("PUT", f"/organization-roles/{role_id}/scopes", json={"organizationScopeIds": [scope_id]}
               ).status_code == 204
    assert api("GET", "/organization-roles/nope").json()["code"] == "entity.not_found"
    assert api("GET", "/organization-scopes/nope").json()["message"] == (
        "The organization_scopes with ID `nope` does not exist.")
    assert api("PATCH", "/organization-roles/nope", json={"name": "x"}).json()["message"] == (
        "The organization_role does not exist.")
    assert api("DELETE", f"/organization-scopes/{scope_id}").status_code == 204
    assert api("GET", "/organization-roles").json()[0]["scopes"] == []


def test_member_role_assignment(emulator: LogtoEmulator, api: Api, org: dict) -> None:
    jane, joe = emulator.add_user("jane"), emulator.add_user("joe")
    api("POST", f"/organizations/{org['id']}/users", json={"userIds": [jane["id"]]})
    viewer = api("POST", "/organization-roles", json={"name": "viewer"}).json()
    robot = api("POST", "/organization-roles", json={"name": "robot", "type": "MachineToMachine"}).json()
    path = f"/organizations/{org['id']}/users/{jane['id']}/roles"
    outsider = api("POST", f"/organizations/{org['id']}/users/{joe['id']}/roles",
                   json={"organizationRoleIds": [viewer["id"]]})
    assert (outsider.status_code, outsider.json()["code"]) == (422, "organization.require_membership")
    assert api("POST", path, json={"organizationRoleIds": [viewer["id"]]}).status_code == 201
    assert api("POST", path, json={"organizationRoleIds": [viewer["id"]]}).status_code == 201  # idempotent
    assert [r["name"] for r in api("GET", path).json()] == ["viewer"]
    paged = api("GET", path, params={"page": 1, "page_size": 1})
    assert paged.headers["Total-Number"] == "1"
    missing = api("POST", path, json={"organizationRoleNames": ["ghost", "phantom"]})
    assert (missing.status_code, missing.json()["message"]) == (
        422, "Invalid role names detected: ghost and phantom. Please create these roles first before proceeding.")
    wrong_type = api("POST", path, json={"organizationRoleIds": [robot["id"]]})
    assert (wrong_type.status_code, wrong_type.json()["code"]) == (422, "entity.db_constraint_violated")
    unknown = api("POST", path, json={"organizationRoleIds": ["nope"]})
    assert unknown.json()["code"] == "entity.relation_foreign_key_not_found"
    assert api("PUT", path, json={"organizationRoleIds": []}).status_code == 204
    assert api("GET", path).json() == []
    assert api("DELETE", f"{path}/{viewer['id']}").json()["code"] == "entity.not_found"
    bulk = api("POST", f"/organizations/{org['id']}/users/roles",
               json={"userIds": [jane["id"]], "organizationRoleIds": [viewer["id"]]})
    assert bulk.status_code == 201
    assert api("DELETE", f"{path}/{viewer['id']}").status_code == 204
    not_member = api("POST", f"/organizations/{org['id']}/users/roles",
                     json={"userIds": [joe["id"]], "organizationRoleIds": [viewer["id"]]})
    assert not_member.json()["code"] == "entity.relation_foreign_key_not_found"


def test_removing_a_member_drops_its_organization_roles(emulator: LogtoEmulator, api: Api, org: dict) -> None:
    jane = emulator.add_user("jane")
    viewer = api("POST", "/organization-roles", json={"name": "viewer"}).json()
    api("POST", f"/organizations/{org['id']}/users", json={"userIds": [jane["id"]]})
    api("POST", f"/organizations/{org['id']}/users/{jane['id']}/roles", json={"organizationRoleIds": [viewer["id"]]})
    api("DELETE", f"/organizations/{org['id']}/users/{jane['id']}")
    api("POST", f"/organizations/{org['id']}/users", json={"userIds": [jane["id"]]})
    assert api("GET", f"/organizations/{org['id']}/users/{jane['id']}/roles").json() == []


def test_application_member_roles_and_scopes(emulator: LogtoEmulator, api: Api, org: dict,
                                             management_app: M2MApp) -> None:
    api("POST", f"/organizations/{org['id']}/applications", json={"applicationIds": [management_app.id]})
    scope = api("POST", "/organization-scopes", json={"name": "read:docs"}).json()
    robot = api("POST", "/organization-roles", json={"name": "robot", "type": "MachineToMachine",
                                                     "organizationScopeIds": [scope["id"]]}).json()
    path = f"/organizations/{org['id']}/applications/{management_app.id}/roles"
    names = api("POST", path, json={"organizationRoleNames": ["robot"]})
    assert names.json()["data"]["issues"][0]["path"] == ["organizationRoleIds"]  # apps take ids only
    assert api("POST", path, json={"organizationRoleIds": [robot["id"]]}).status_code == 201
    assert [r["id"] for r in api("GET", path).json()] == [robot["id"]]
