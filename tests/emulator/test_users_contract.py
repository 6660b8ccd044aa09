"""Contract: users as ``routes/admin-user/*.ts`` of Logto v1.37.1 define them — custom data, passwords,
suspension, role assignment (idempotent, with Logto's bodies), guard errors, the router's 404/405."""

from __future__ import annotations

import json

import pytest
import requests

from airflow_provider_logto.testing import LogtoEmulator
from tests.emulator.helpers import Api


def _user(api: Api, **fields: object) -> dict:
    response = api("POST", "/users", json=fields)
    assert response.status_code == 200, response.text
    return response.json()


# --- custom data ---------------------------------------------------------------------------------------------
def test_custom_data_get_patch_merges_shallowly(api: Api) -> None:
    user = _user(api, username="jane", customData={"a": {"x": 1}, "b": 1})
    assert api("GET", f"/users/{user['id']}/custom-data").json() == {"a": {"x": 1}, "b": 1}
    patched = api("PATCH", f"/users/{user['id']}/custom-data", json={"customData": {"a": {"y": 2}, "c": 3}})
    assert patched.status_code == 200
    assert patched.json() == {"a": {"y": 2}, "b": 1, "c": 3}  # jsonb `||`: top-level keys replaced
    assert api("GET", f"/users/{user['id']}").json()["customData"] == {"a": {"y": 2}, "b": 1, "c": 3}


def test_patch_user_replaces_custom_data(api: Api) -> None:
    user = _user(api, username="jane", customData={"a": 1})
    assert api("PATCH", f"/users/{user['id']}", json={"customData": {"b": 2}}).json()["customData"] == {"b": 2}


def test_put_custom_data_is_405_with_allow(api: Api) -> None:
    user = _user(api, username="jane")
    response = api("PUT", f"/users/{user['id']}/custom-data", json={"customData": {}})
    assert response.status_code == 405
    assert response.headers["Allow"] == "HEAD, GET, PATCH"


def test_custom_data_errors(api: Api) -> None:
    assert api("GET", "/users/nobody/custom-data").json()["code"] == "entity.not_found"
    missing = api("PATCH", "/users/nobody/custom-data", json={})
    assert missing.status_code == 400  # the guard runs before the lookup
    assert missing.json()["details"] == ('Error in key path "customData": (invalid_type) Expected object but '
                                         "received undefined.")
    assert api("PATCH", "/users/nobody/custom-data", json={"customData": {}}).status_code == 404


# --- passwords and suspension --------------------------------------------------------------------------------
def test_password_and_digest_rules(api: Api) -> None:
    both = api("POST", "/users", json={"username": "a", "password": "pw", "passwordDigest": "x",
                                       "passwordAlgorithm": "MD5"})
    assert (both.status_code, both.json()["code"]) == (400, "user.password_and_digest")
    no_algorithm = api("POST", "/users", json={"username": "a", "passwordDigest": "5f4dcc3b"})
    assert (no_algorithm.status_code, no_algorithm.json()["code"]) == (400, "user.password_algorithm_required")
    bad_algorithm = api("POST", "/users", json={"username": "a", "passwordDigest": "x", "passwordAlgorithm": "ROT13"})
    assert bad_algorithm.json()["data"]["issues"][0]["code"] == "invalid_enum_value"
    empty = api("POST", "/users", json={"username": "a", "password": ""})
    assert empty.json()["data"]["issues"][0]["code"] == "too_small"
    digest = _user(api, username="b", passwordDigest="5f4dcc3b5aa765d61d8327deb882cf99", passwordAlgorithm="MD5")
    assert digest["hasPassword"] is True
    assert "passwordDigest" not in digest and "passwordEncrypted" not in digest
    plain = _user(api, username="c")
    assert api("GET", f"/users/{plain['id']}/has-password").json() == {"hasPassword": False}
    set_password = api("PATCH", f"/users/{plain['id']}/password", json={"password": "s3cret!"})
    assert set_password.status_code == 200 and set_password.json()["hasPassword"] is True
    assert api("GET", f"/users/{plain['id']}/has-password").json() == {"hasPassword": True}


def test_suspension_round_trip(api: Api) -> None:
    user = _user(api, username="jane")
    assert api("PATCH", f"/users/{user['id']}/is-suspended", json={"isSuspended": True}).json()["isSuspended"]
    assert api("GET", f"/users/{user['id']}").json()["isSuspended"] is True
    wrong = api("PATCH", f"/users/{user['id']}/is-suspended", json={"isSuspended": "yes"})
    assert wrong.json()["data"]["issues"][0] == {"code": "invalid_type", "expected": "boolean",
                                                 "received": "string", "path": ["isSuspended"],
                                                 "message": "Expected boolean, received string"}


def test_user_body_key_order(api: Api) -> None:
    response = api("POST", "/users", json={"username": "jane"})
    assert list(json.loads(response.text)) == [
        "id", "username", "primaryEmail", "primaryPhone", "name", "avatar", "customData", "identities",
        "lastSignInAt", "createdAt", "updatedAt", "profile", "applicationId", "isSuspended", "hasPassword"]


# --- guard errors --------------------------------------------------------------------------------------------
def test_guard_reports_every_issue_in_zod_shape(api: Api) -> None:
    response = api("POST", "/users", json={"username": "1bad", "primaryEmail": "nope", "name": 5})
    assert response.status_code == 400
    body = response.json()
    assert list(body) == ["code", "data", "details", "message"]
    assert body["code"] == "guard.invalid_input" and body["message"] == "The request body is invalid."
    assert body["data"]["issues"] == [
        {"validation": "regex", "code": "invalid_string", "message": "Invalid", "path": ["primaryEmail"]},
        {"validation": "regex", "code": "invalid_string", "message": "Invalid", "path": ["username"]},
        {"code": "invalid_type", "expected": "string", "received": "number", "path": ["name"],
         "message": "Expected string, received number"},
    ]
    assert body["details"].splitlines()[2] == ('Error in key path "name": (invalid_type) Expected string but '
                                               "received number.")


def test_patch_identifier_may_be_emptied_but_not_invalid(api: Api) -> None:
    user = _user(api, username="jane", primaryEmail="jane@example.com")
    assert api("PATCH", f"/users/{user['id']}", json={"primaryEmail": None}).json()["primaryEmail"] is None
    bad = api("PATCH", f"/users/{user['id']}", json={"username": "no spaces"}).json()
    assert bad["data"]["issues"][0]["code"] == "invalid_union"
    assert bad["details"] == 'Error in key path "username": (invalid_union) Invalid input'


def test_empty_patch_is_a_server_error_as_in_logto(api: Api) -> None:
    """``updateUserById(id, {})`` builds ``update … set  where …``: PostgreSQL refuses it."""
    user = _user(api, username="jane")
    response = api("PATCH", f"/users/{user['id']}", json={})
    assert (response.status_code, response.json()) == (500, {"message": "Internal server error."})


@pytest.mark.parametrize(("body", "message"), [("{bad", "Expected property name"),
                                               ('"text"', "invalid JSON, only supports object and array")])
def test_unparseable_json_is_a_plain_message(api: Api, body: str, message: str) -> None:
    response = api("POST", "/users", data=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert list(response.json()) == ["message"]
    if message.startswith("invalid"):
        assert response.json()["message"] == message


def test_json_array_body_is_a_guard_error(api: Api) -> None:
    response = api("POST", "/users", json=[1])
    assert response.json()["data"]["issues"][0]["received"] == "array"


def test_unknown_route_is_koa_404_without_token(emulator: LogtoEmulator) -> None:
    response = requests.get(f"{emulator.endpoint}/api/nothing-here", timeout=5)
    assert (response.status_code, response.text) == (404, "Not Found")
    known = requests.get(f"{emulator.endpoint}/api/users", timeout=5)
    assert known.status_code == 401


# --- user roles ----------------------------------------------------------------------------------------------
def test_assigning_roles_answers_201_with_body_and_is_idempotent(emulator: LogtoEmulator, api: Api) -> None:
    editor, viewer = emulator.add_role("editor", role_type="User"), emulator.add_role("viewer", role_type="User")
    user = _user(api, username="jane")
    first = api("POST", f"/users/{user['id']}/roles", json={"roleIds": [editor["id"]]})
    assert (first.status_code, first.json()) == (201, {"roleIds": [editor["id"]], "addedRoleIds": [editor["id"]]})
    again = api("POST", f"/users/{user['id']}/roles", json={"roleIds": [editor["id"], viewer["id"]]})
    assert again.status_code == 201
    assert again.json() == {"roleIds": [editor["id"], viewer["id"]], "addedRoleIds": [viewer["id"]]}
    listed = api("GET", f"/users/{user['id']}/roles")
    assert [r["name"] for r in listed.json()] == ["editor", "viewer"]
    assert listed.headers["Total-Number"] == "2"


def test_assigning_roles_errors(emulator: LogtoEmulator, api: Api) -> None:
    user = _user(api, username="jane")
    unknown = api("POST", f"/users/{user['id']}/roles", json={"roleIds": ["nope"]})
    assert (unknown.status_code, unknown.json()["code"]) == (404, "entity.not_exists_with_id")
    assert unknown.json()["message"] == "The roles with ID `nope` does not exist."
    m2m = emulator.state.role_by_name("Logto Management API access")
    wrong = api("POST", f"/users/{user['id']}/roles", json={"roleIds": [m2m["id"]]})
    assert (wrong.status_code, wrong.json()["code"]) == (422, "user.invalid_role_type")
    nobody = api("POST", "/users/nobody/roles", json={"roleIds": []})
    assert (nobody.status_code, nobody.json()["code"]) == (404, "entity.not_found")
    empty_id = api("POST", f"/users/{user['id']}/roles", json={"roleIds": [""]})
    assert empty_id.json()["data"]["issues"][0]["path"] == ["roleIds", 0]


def test_replacing_roles(emulator: LogtoEmulator, api: Api) -> None:
    editor, viewer = emulator.add_role("editor", role_type="User"), emulator.add_role("viewer", role_type="User")
    user = _user(api, username="jane")
    api("POST", f"/users/{user['id']}/roles", json={"roleIds": [editor["id"]]})
    kept = api("PUT", f"/users/{user['id']}/roles", json={"roleIds": [editor["id"], editor["id"]]})
    assert (kept.status_code, kept.json()) == (200, {"roleIds": [editor["id"]]})  # deduplicated
    replaced = api("PUT", f"/users/{user['id']}/roles", json={"roleIds": [viewer["id"]]})
    assert (replaced.status_code, replaced.json()) == (200, {"roleIds": [viewer["id"]]})
    assert [r["name"] for r in api("GET", f"/users/{user['id']}/roles").json()] == ["viewer"]
    # a new role listed twice is inserted twice: the unique constraint fails unhandled, as in Logto
    doubled = api("PUT", f"/users/{user['id']}/roles", json={"roleIds": [editor["id"], editor["id"]]})
    assert (doubled.status_code, doubled.json()) == (500, {"message": "Internal server error."})
    m2m = emulator.state.role_by_name("Logto Management API access")
    checked = api("PUT", f"/users/{user['id']}/roles", json={"roleIds": [m2m["id"]]})
    assert (checked.status_code, checked.json()["code"]) == (422, "entity.db_constraint_violated")


def test_removing_a_role_not_held_is_404(emulator: LogtoEmulator, api: Api) -> None:
    editor = emulator.add_role("editor", role_type="User")
    user = _user(api, username="jane")
    response = api("DELETE", f"/users/{user['id']}/roles/{editor['id']}")
    assert (response.status_code, response.json()["code"]) == (404, "entity.not_found")
    api("POST", f"/users/{user['id']}/roles", json={"roleIds": [editor["id"]]})
    assert api("DELETE", f"/users/{user['id']}/roles/{editor['id']}").status_code == 204


def test_user_roles_list_needs_valid_pagination(api: Api) -> None:
    user = _user(api, username="jane")
    response = api("GET", f"/users/{user['id']}/roles", params={"page_size": 101})
    assert response.json()["code"] == "guard.invalid_pagination"


def test_list_users_excluding_a_role(emulator: LogtoEmulator, api: Api) -> None:
    editor = emulator.add_role("editor", role_type="User")
    jane = emulator.add_user("jane", roles=["editor"])
    joe = emulator.add_user("joe")
    listed = api("GET", "/users", params={"excludeRoleId": editor["id"]}).json()
    assert [u["id"] for u in listed] == [joe["id"]]
    assert jane["id"] not in [u["id"] for u in listed]
    both = api("GET", "/users", params={"excludeRoleId": "a", "excludeOrganizationId": "b"})
    assert (both.status_code, both.json()["code"]) == (400, "request.invalid_input")


def test_deleting_a_user_removes_role_and_membership(emulator: LogtoEmulator, api: Api) -> None:
    editor = emulator.add_role("editor", role_type="User")
    jane = emulator.add_user("jane", roles=["editor"])
    organization = emulator.add_organization("Acme", users=[jane["id"]])
    assert api("DELETE", f"/users/{jane['id']}").status_code == 204
    assert api("GET", f"/roles/{editor['id']}/users").json() == []
    assert api("GET", f"/organizations/{organization['id']}/users").json() == []
    assert api("DELETE", f"/users/{jane['id']}").json()["code"] == "entity.not_found"


# --- phone numbers -------------------------------------------------------------------------------------------
def test_phone_numbers_are_validated_and_normalised(api: Api) -> None:
    invalid = api("POST", "/users", json={"name": "user002", "primaryPhone": "99999"})
    assert (invalid.status_code, invalid.json()["code"]) == (422, "user.invalid_phone")
    user = _user(api, name="au", primaryPhone="610412345678")
    assert user["primaryPhone"] == "61412345678"  # the national 0 dropped, as Logto stores it
    same = api("POST", "/users", json={"primaryPhone": "61412345678"})
    assert (same.status_code, same.json()["code"]) == (422, "user.phone_already_in_use")
    patched = api("PATCH", f"/users/{user['id']}", json={"primaryPhone": "99999"})
    assert (patched.status_code, patched.json()["code"]) == (422, "user.invalid_phone")
    letters = api("POST", "/users", json={"primaryPhone": "+1 555"})
    assert letters.json()["code"] == "guard.invalid_input"  # the route's regex wants digits only


def test_usernames_are_case_sensitive_emails_are_not(api: Api) -> None:
    """Logto's default ``CASE_SENSITIVE_USERNAME=true`` (``admin-user.username-case.test.ts``)."""
    lower = _user(api, username="jane", primaryEmail="jane@example.com")
    upper = _user(api, username="JANE")
    again = api("POST", "/users", json={"username": "JANE"})
    assert (again.status_code, again.json()["code"]) == (422, "user.username_already_in_use")
    email = api("POST", "/users", json={"primaryEmail": "Jane@Example.com"})
    assert (email.status_code, email.json()["code"]) == (422, "user.email_already_in_use")
    found = api("GET", "/users", params={"search": "%jane%"}).json()  # search is case-insensitive by default
    assert [u["id"] for u in found] == [upper["id"], lower["id"]]


def test_case_insensitive_usernames_when_configured() -> None:
    with LogtoEmulator(case_sensitive_username=False) as emulator:
        emulator.add_user("jane")
        with pytest.raises(ValueError, match="username_already_in_use"):
            emulator.add_user("JANE")


def test_password_verification(api: Api) -> None:
    plain = _user(api, username="jane", password="correct horse")
    assert api("POST", f"/users/{plain['id']}/password/verify", json={"password": "correct horse"}).status_code == 204
    wrong = api("POST", f"/users/{plain['id']}/password/verify", json={"password": "battery"})
    assert (wrong.status_code, wrong.json()["code"]) == (422, "session.invalid_credentials")
    md5 = _user(api, username="joe", passwordDigest="5f4dcc3b5aa765d61d8327deb882cf99", passwordAlgorithm="MD5")
    assert api("POST", f"/users/{md5['id']}/password/verify", json={"password": "password"}).status_code == 204
    none = _user(api, username="ann")
    assert api("POST", f"/users/{none['id']}/password/verify", json={"password": "x"}).status_code == 422
    assert api("POST", "/users/nobody/password/verify", json={"password": "x"}).status_code == 404


def test_get_user_with_sso_identities(api: Api) -> None:
    user = _user(api, username="jane")
    assert "ssoIdentities" not in api("GET", f"/users/{user['id']}").json()
    with_sso = api("GET", f"/users/{user['id']}", params={"includeSsoIdentities": "true"}).json()
    assert list(with_sso)[-2:] == ["hasPassword", "ssoIdentities"] and with_sso["ssoIdentities"] == []
