"""Contract: roles as ``routes/role*.ts`` of Logto v1.37.1 define them — members in Logto's order with paging,
assignment to users and applications, scopes, and the 404/422 codes."""

from __future__ import annotations

import pytest

from airflow_provider_logto.testing import LogtoEmulator, M2MApp
from tests.emulator.helpers import Api


@pytest.fixture
def editor(emulator: LogtoEmulator) -> dict:
    return emulator.add_role("editor", role_type="User")


def test_role_members_newest_first_with_paging(emulator: LogtoEmulator, api: Api, editor: dict) -> None:
    users = [emulator.add_user(f"u{n}") for n in range(5)]
    assert api("POST", f"/roles/{editor['id']}/users", json={"userIds": [u["id"] for u in users]}).status_code == 201
    page = api("GET", f"/roles/{editor['id']}/users", params={"page": 1, "page_size": 2})
    assert page.headers["Total-Number"] == "5"
    assert [u["username"] for u in page.json()] == ["u4", "u3"]
    last = api("GET", f"/roles/{editor['id']}/users", params={"page": 3, "page_size": 2}).json()
    assert [u["username"] for u in last] == ["u0"]
    assert "hasPassword" in last[0]


def test_adding_role_members(emulator: LogtoEmulator, api: Api, editor: dict) -> None:
    jane = emulator.add_user("jane")
    first = api("POST", f"/roles/{editor['id']}/users", json={"userIds": [jane["id"]]})
    assert (first.status_code, first.text) == (201, "Created")
    again = api("POST", f"/roles/{editor['id']}/users", json={"userIds": [jane["id"]]})
    assert (again.status_code, again.json()["code"]) == (422, "role.user_exists")
    assert again.json()["message"] == f"The user id {jane['id']} is already been added to this role"
    none = api("POST", f"/roles/{editor['id']}/users", json={"userIds": []})
    assert none.json()["data"]["issues"][0]["code"] == "too_small"
    unknown = api("POST", f"/roles/{editor['id']}/users", json={"userIds": ["nobody"]})
    assert (unknown.status_code, unknown.json()["code"]) == (404, "entity.not_found")
    m2m = emulator.state.role_by_name("Logto Management API access")
    checked = api("POST", f"/roles/{m2m['id']}/users", json={"userIds": [jane["id"]]})
    assert (checked.status_code, checked.json()["code"]) == (422, "entity.db_constraint_violated")
    assert api("GET", "/roles/nope/users").json()["code"] == "entity.not_exists_with_id"
    assert api("DELETE", f"/roles/{editor['id']}/users/{jane['id']}").status_code == 204
    gone = api("DELETE", f"/roles/{editor['id']}/users/{jane['id']}")
    assert (gone.status_code, gone.json()["code"]) == (404, "entity.not_found")


def test_role_applications(emulator: LogtoEmulator, api: Api) -> None:
    emulator.add_role("reader", {"https://shopping.api": ["read:products"]})
    reader = emulator.state.role_by_name("reader")
    apps = [emulator.add_m2m_app(f"app{n}", roles=[]) for n in range(3)]
    added = api("POST", f"/roles/{reader['id']}/applications", json={"applicationIds": [a.id for a in apps]})
    assert (added.status_code, added.text) == (201, "Created")
    again = api("POST", f"/roles/{reader['id']}/applications", json={"applicationIds": [apps[0].id]})
    assert (again.status_code, again.json()["code"]) == (422, "role.application_exists")
    listed = api("GET", f"/roles/{reader['id']}/applications", params={"page_size": 2})
    assert listed.headers["Total-Number"] == "3" and len(listed.json()) == 2
    assert api("DELETE", f"/roles/{reader['id']}/applications/{apps[0].id}").status_code == 204
    assert api("DELETE", f"/roles/{reader['id']}/applications/{apps[0].id}").json()["code"] == "entity.not_found"
    unknown = api("POST", f"/roles/{reader['id']}/applications", json={"applicationIds": ["nope"]})
    assert (unknown.status_code, unknown.json()["message"]) == (
        404, "The applications with ID `nope` does not exist.")


def test_application_roles(emulator: LogtoEmulator, api: Api, management_app: M2MApp, editor: dict) -> None:
    emulator.add_role("reader", {"https://shopping.api": ["read:products"]})
    reader = emulator.state.role_by_name("reader")
    app = emulator.add_m2m_app("etl", roles=[])
    assert api("POST", f"/applications/{app.id}/roles", json={"roleIds": [reader["id"]]}).text == "Created"
    again = api("POST", f"/applications/{app.id}/roles", json={"roleIds": [reader["id"]]})
    assert (again.status_code, again.json()["code"]) == (422, "application.role_exists")
    user_role = api("POST", f"/applications/{app.id}/roles", json={"roleIds": [editor["id"]]})
    assert (user_role.status_code, user_role.json()["code"]) == (422, "application.invalid_role_type")
    replaced = api("PUT", f"/applications/{app.id}/roles", json={"roleIds": []})
    assert (replaced.status_code, replaced.text) == (200, "OK")
    listed = api("GET", f"/applications/{app.id}/roles")
    assert (listed.json(), listed.headers["Total-Number"]) == ([], "0")
    assert api("GET", f"/applications/{app.id}").json()["isAdmin"] is False
    spa = api("POST", "/applications", json={"name": "web", "type": "SPA"}).json()
    refused = api("GET", f"/applications/{spa['id']}/roles")
    assert (refused.status_code, refused.json()["code"]) == (422, "application.invalid_type")


def test_creating_roles(emulator: LogtoEmulator, api: Api) -> None:
    created = api("POST", "/roles", json={"name": "auditor", "description": "reads", "type": "MachineToMachine"})
    assert created.status_code == 200
    assert list(created.json()) == ["tenantId", "id", "name", "description", "type", "isDefault"]
    duplicate = api("POST", "/roles", json={"name": "auditor", "description": "again"})
    assert (duplicate.status_code, duplicate.json()["code"]) == (422, "role.name_in_use")
    no_description = api("POST", "/roles", json={"name": "x"})
    assert no_description.json()["data"]["issues"][0]["path"] == ["description"]
    bad_type = api("POST", "/roles", json={"name": "y", "description": "d", "type": "Robot"})
    issue = bad_type.json()["data"]["issues"][0]
    assert issue["message"] == "Invalid enum value. Expected 'User' | 'MachineToMachine', received 'Robot'"
    all_scope = emulator.state.resource_scopes("management-api")[0]
    refused = api("POST", "/roles", json={"name": "z", "description": "d", "scopeIds": [all_scope["id"]]})
    assert (refused.status_code, refused.json()["code"]) == (
        400, "role.management_api_scopes_not_assignable_to_user_role")


def test_role_scopes(emulator: LogtoEmulator, api: Api) -> None:
    role = api("POST", "/roles", json={"name": "shop", "description": "d", "type": "MachineToMachine"}).json()
    read = emulator.state.scope_ids_for({"https://shopping.api": ["read:products"]})[0]
    added = api("POST", f"/roles/{role['id']}/scopes", json={"scopeIds": [read]})
    assert added.status_code == 201 and [s["id"] for s in added.json()] == [read]
    again = api("POST", f"/roles/{role['id']}/scopes", json={"scopeIds": [read]})
    assert (again.status_code, again.json()["code"]) == (422, "role.scope_exists")
    listed = api("GET", f"/roles/{role['id']}/scopes").json()
    assert listed[0]["resource"]["indicator"] == "https://shopping.api"
    assert api("DELETE", f"/roles/{role['id']}/scopes/{read}").status_code == 204


def test_role_list_filters_and_featured(emulator: LogtoEmulator, api: Api, editor: dict) -> None:
    emulator.add_user("jane", roles=["editor"])
    users_roles = api("GET", "/roles", params={"type": "User"}).json()
    assert [r["name"] for r in users_roles] == ["editor"]
    assert users_roles[0]["usersCount"] == 1 and users_roles[0]["featuredUsers"][0]["name"] is None
    bad = api("GET", "/roles", params={"type": "Robot"}).json()
    assert (bad["code"], bad["message"]) == ("guard.invalid_input", "The request query is invalid.")
    assert bad["data"]["issues"][0]["code"] == "invalid_enum_value"


def test_role_not_found_codes(api: Api) -> None:
    assert api("GET", "/roles/nope").json()["message"] == "The roles with ID `nope` does not exist."
    assert api("PATCH", "/roles/nope", json={"name": "x"}).json()["code"] == "entity.not_exists_with_id"
    assert api("DELETE", "/roles/nope").status_code == 404
