"""Contract: the emulated Management API answers like Logto's (logto-facts §3)."""

from __future__ import annotations

import time

import pytest
import requests

from airflow_provider_logto.testing import LogtoEmulator, M2MApp
from tests.emulator.helpers import Api, access_token


# --- authentication and authorization --------------------------------------------------------------------
def test_status_needs_no_token(emulator: LogtoEmulator) -> None:
    response = requests.get(f"{emulator.endpoint}/api/status", timeout=5)
    assert response.status_code == 204
    assert response.headers["Logto-Core-Request-Id"]


def test_missing_authorization_header(emulator: LogtoEmulator) -> None:
    response = requests.get(f"{emulator.endpoint}/api/users", timeout=5)
    assert response.status_code == 401
    assert response.json() == {"code": "auth.authorization_header_missing",
                               "message": "Authorization header is missing."}
    assert response.headers["Logto-Core-Request-Id"]


def test_non_bearer_authorization(emulator: LogtoEmulator, management_app: M2MApp) -> None:
    response = requests.get(f"{emulator.endpoint}/api/users", auth=(management_app.id, management_app.secret),
                            timeout=5)
    assert response.status_code == 401
    assert response.json() == {"code": "auth.authorization_token_type_not_supported",
                               "data": {"supportedTypes": ["Bearer"]},
                               "message": "Authorization type is not supported."}
    assert list(response.json()) == ["code", "data", "message"]  # RequestError.toBody() order


def test_token_for_another_resource_fails_on_aud(emulator: LogtoEmulator) -> None:
    emulator.add_role("reader", {"https://shopping.api": ["read:products"]})
    app = emulator.add_m2m_app("reader", roles=["reader"])
    response = Api(emulator, access_token(emulator, app, "https://shopping.api", "read:products"))("GET", "/users")
    assert response.status_code == 401
    body = response.json()
    assert body["code"] == "auth.unauthorized"
    assert body["data"]["code"] == "ERR_JWT_CLAIM_VALIDATION_FAILED"
    assert body["data"]["claim"] == "aud"
    assert body["data"]["payload"]["aud"] == "https://shopping.api"
    assert body["message"] == "Unauthorized. Please check credentials and its scope."


def test_expired_token(emulator: LogtoEmulator, management_app: M2MApp) -> None:
    now = int(time.time())
    expired = emulator.key.sign({"jti": "x", "sub": management_app.id, "iat": now - 7200, "exp": now - 3600,
                                 "scope": "all", "client_id": management_app.id, "iss": emulator.issuer,
                                 "aud": emulator.management_api_resource})
    response = Api(emulator, expired)("GET", "/users")
    assert response.status_code == 401
    assert response.json()["code"] == "auth.unauthorized"
    assert response.json()["data"]["code"] == "ERR_JWT_EXPIRED"


def test_token_signed_by_another_server_fails_signature(emulator: LogtoEmulator) -> None:
    with LogtoEmulator() as other:
        foreign_app = other.add_m2m_app("foreign")
        foreign = access_token(other, foreign_app)
    header, payload, _ = foreign.split(".")
    own_app = emulator.add_m2m_app("own")
    _, _, own_signature = access_token(emulator, own_app).split(".")
    response = Api(emulator, f"{header}.{payload}.{own_signature}")("GET", "/users")
    assert response.status_code == 401
    assert response.json()["data"]["code"] in {"ERR_JWS_SIGNATURE_VERIFICATION_FAILED", "ERR_JWKS_NO_MATCHING_KEY"}


def test_tampered_signature(emulator: LogtoEmulator, management_app: M2MApp) -> None:
    token = access_token(emulator, management_app)
    header, payload, signature = token.split(".")
    tampered = f"{header}.{payload}.{signature[:-4]}{'AAAA' if signature[-4:] != 'AAAA' else 'BBBB'}"
    response = Api(emulator, tampered)("GET", "/users")
    assert response.status_code == 401
    assert response.json()["data"]["code"] == "ERR_JWS_SIGNATURE_VERIFICATION_FAILED"


def test_token_without_all_is_forbidden(emulator: LogtoEmulator, management_app: M2MApp) -> None:
    response = Api(emulator, access_token(emulator, management_app, scope=None))("GET", "/users")
    assert response.status_code == 403
    assert response.json() == {"code": "auth.forbidden",
                               "message": "Forbidden. Please check your user roles and permissions."}


# --- pagination --------------------------------------------------------------------------------------------
def _links(response: requests.Response) -> list[str]:
    return [value.strip() for value in response.raw.headers.getlist("Link")]


def test_users_pagination_headers_and_link_quirk(emulator: LogtoEmulator, api: Api) -> None:
    for number in range(45):
        emulator.add_user(f"user{number}")
    response = api("GET", "/users", params={"page": 2, "page_size": 20})
    assert response.status_code == 200
    assert response.headers["Total-Number"] == "45"
    assert len(response.json()) == 20
    links = _links(response)
    base = f"{emulator.endpoint}/users"
    assert links == [f'<{base}?page=1&page_size=20>; rel="first"', f'<{base}?page=3&page_size=20>; rel="last"',
                     f'<{base}?page=1&page_size=20>; rel="prev"', f'<{base}?page=3&page_size=20>; rel="next"']
    assert all("/api/" not in link for link in links)


def test_default_page_size_is_20_and_newest_first(emulator: LogtoEmulator, api: Api) -> None:
    created = [emulator.add_user(f"user{number}")["id"] for number in range(25)]
    response = api("GET", "/users")
    assert [user["id"] for user in response.json()] == list(reversed(created))[:20]
    assert response.headers["Total-Number"] == "25"


def test_page_beyond_the_end_is_empty(emulator: LogtoEmulator, api: Api) -> None:
    emulator.add_user("only")
    response = api("GET", "/users", params={"page": 5, "page_size": 100})
    assert response.status_code == 200 and response.json() == []
    assert response.headers["Total-Number"] == "1"


@pytest.mark.parametrize("params", [{"page_size": 0}, {"page_size": 101}, {"page": 0}, {"page": "abc"},
                                    {"page_size": -1}])
def test_invalid_pagination(api: Api, params: dict) -> None:
    response = api("GET", "/users", params=params)
    assert response.status_code == 400
    assert response.json()["code"] == "guard.invalid_pagination"


def test_applications_list_unpaginated_without_page_params(emulator: LogtoEmulator, api: Api) -> None:
    for number in range(3):
        emulator.add_m2m_app(f"app{number}")
    everything = api("GET", "/applications")
    assert "Total-Number" not in everything.headers and "Link" not in everything.headers
    assert len(everything.json()) == 4
    paged = api("GET", "/applications", params={"page": 1, "page_size": 2})
    assert paged.headers["Total-Number"] == "4" and len(paged.json()) == 2


# --- search ------------------------------------------------------------------------------------------------
@pytest.fixture
def people(emulator: LogtoEmulator) -> None:
    emulator.add_user("foobar", primary_email="Foo@Example.com", name="Foo Bar")
    emulator.add_user("other", primary_email="other@example.com", name="Other")


def test_like_search_needs_explicit_wildcards(api: Api, people: None) -> None:
    assert [u["username"] for u in api("GET", "/users", params={"search": "%foo%"}).json()] == ["foobar"]
    assert api("GET", "/users", params={"search": "foo"}).json() == []


def test_field_search_exact_and_case(api: Api, people: None) -> None:
    exact = {"search.primaryEmail": "foo@example.com", "mode.primaryEmail": "exact"}
    assert [u["username"] for u in api("GET", "/users", params=exact).json()] == ["foobar"]
    sensitive = {**exact, "isCaseSensitive": "true"}
    assert api("GET", "/users", params=sensitive).json() == []


def test_joint_and(api: Api, people: None) -> None:
    both = {"search.username": "%o%", "search.name": "Other", "joint": "and"}
    assert [u["username"] for u in api("GET", "/users", params=both).json()] == ["other"]


@pytest.mark.parametrize("params", [{"search.password": "x"}, {"mode": "fuzzy", "search": "x"},
                                    {"joint": "xor", "search": "x"}, {"search": "%a%", "mode": "similar_to"}])
def test_bad_search_is_request_invalid_input(api: Api, params: dict) -> None:
    response = api("GET", "/users", params=params)
    assert response.status_code == 400
    assert response.json()["code"] == "request.invalid_input"


# --- users ---------------------------------------------------------------------------------------------------
def test_user_lifecycle(api: Api) -> None:
    created = api("POST", "/users", json={"username": "jane", "primaryEmail": "jane@example.com", "name": "Jane",
                                          "customData": {"team": "data", "level": 1}})
    assert created.status_code == 200
    user = created.json()
    assert user["username"] == "jane" and user["isSuspended"] is False and user["id"]
    merged = api("PATCH", f"/users/{user['id']}/custom-data", json={"customData": {"level": 2}})
    assert merged.json() == {"team": "data", "level": 2}
    replaced = api("PATCH", f"/users/{user['id']}", json={"customData": {"only": True}, "name": "Jane D."})
    assert replaced.json()["customData"] == {"only": True} and replaced.json()["name"] == "Jane D."
    suspended = api("PATCH", f"/users/{user['id']}/is-suspended", json={"isSuspended": True})
    assert suspended.json()["isSuspended"] is True
    assert api("GET", f"/users/{user['id']}").json()["isSuspended"] is True
    deleted = api("DELETE", f"/users/{user['id']}")
    assert deleted.status_code == 204 and deleted.content == b""
    assert api("GET", f"/users/{user['id']}").status_code == 404


def test_unknown_user_is_entity_not_found(api: Api) -> None:
    response = api("GET", "/users/nope")
    assert response.status_code == 404
    assert response.json() == {"code": "entity.not_found", "message": "The resource does not exist."}


@pytest.mark.parametrize(("field", "value", "code"), [
    ("username", "jane", "user.username_already_in_use"),
    ("primaryEmail", "jane@example.com", "user.email_already_in_use"),
    ("primaryPhone", "15550001", "user.phone_already_in_use"),
])
def test_duplicate_identifiers_are_422(emulator: LogtoEmulator, api: Api, field: str, value: str,
                                       code: str) -> None:
    emulator.add_user("jane", primary_email="jane@example.com", primary_phone="15550001")
    response = api("POST", "/users", json={field: value})
    assert response.status_code == 422
    assert response.json()["code"] == code


@pytest.mark.parametrize("body", [{"username": "1starts-with-digit"}, {"primaryEmail": "not-an-email"},
                                  {"customData": "not an object"}, {"name": 42}])
def test_invalid_user_input(api: Api, body: dict) -> None:
    response = api("POST", "/users", json=body)
    assert response.status_code == 400
    payload = response.json()
    assert list(payload) == ["code", "data", "details", "message"]
    assert payload["code"] == "guard.invalid_input"
    assert payload["message"] == "The request body is invalid."
    assert payload["details"].startswith('Error in key path "')
    assert payload["data"]["name"] == "ZodError" and payload["data"]["issues"][0]["path"] == [next(iter(body))]


def test_user_roles(emulator: LogtoEmulator, api: Api) -> None:
    editor = emulator.add_role("editor", role_type="User")
    viewer = emulator.add_role("viewer", role_type="User")
    user = emulator.add_user("jane")
    added = api("POST", f"/users/{user['id']}/roles", json={"roleIds": [editor["id"]]})
    assert added.status_code == 201
    assert [r["name"] for r in api("GET", f"/users/{user['id']}/roles").json()] == ["editor"]
    assert api("PUT", f"/users/{user['id']}/roles", json={"roleIds": [viewer["id"]]}).status_code == 200
    assert [r["name"] for r in api("GET", f"/users/{user['id']}/roles").json()] == ["viewer"]
    assert api("DELETE", f"/users/{user['id']}/roles/{viewer['id']}").status_code == 204
    assert api("GET", f"/users/{user['id']}/roles").json() == []


def test_m2m_role_cannot_go_to_a_user(emulator: LogtoEmulator, api: Api) -> None:
    user = emulator.add_user("jane")
    m2m = emulator.state.role_by_name("Logto Management API access")
    response = api("POST", f"/users/{user['id']}/roles", json={"roleIds": [m2m["id"]]})
    assert response.status_code == 422


# --- roles ---------------------------------------------------------------------------------------------------
def test_roles(emulator: LogtoEmulator, api: Api) -> None:
    created = api("POST", "/roles", json={"name": "auditor", "description": "reads", "type": "MachineToMachine"})
    assert created.status_code == 200
    role = created.json()
    assert role["type"] == "MachineToMachine"
    m2m_names = [r["name"] for r in api("GET", "/roles", params={"type": "MachineToMachine"}).json()]
    assert {"auditor", "Logto Management API access"} <= set(m2m_names)
    assert api("GET", "/roles", params={"type": "User"}).json() == []
    assert api("PATCH", f"/roles/{role['id']}", json={"description": "audits"}).json()["description"] == "audits"
    app = emulator.add_m2m_app("to-audit", roles=[])
    linked = api("POST", f"/roles/{role['id']}/applications", json={"applicationIds": [app.id]})
    assert linked.status_code == 201 and linked.text == "Created"
    assert [a["id"] for a in api("GET", f"/roles/{role['id']}/applications").json()] == [app.id]
    assert api("POST", "/roles", json={"name": "auditor", "description": "again"}).status_code == 422
    assert api("DELETE", f"/roles/{role['id']}").status_code == 204
    assert api("GET", f"/roles/{role['id']}").status_code == 404


# --- organizations -------------------------------------------------------------------------------------------
def test_organizations(emulator: LogtoEmulator, api: Api) -> None:
    created = api("POST", "/organizations", json={"name": "Acme", "description": "customers"})
    assert created.status_code == 201
    organization = created.json()
    api("POST", "/organizations", json={"name": "Globex"})
    assert [o["name"] for o in api("GET", "/organizations", params={"q": "acm"}).json()] == ["Acme"]
    assert api("PATCH", f"/organizations/{organization['id']}", json={"name": "Acme Inc"}).json()["name"] == \
        "Acme Inc"
    user = emulator.add_user("member")
    added = api("POST", f"/organizations/{organization['id']}/users", json={"userIds": [user["id"]]})
    assert added.status_code == 201
    members = api("GET", f"/organizations/{organization['id']}/users").json()
    assert [m["id"] for m in members] == [user["id"]]
    assert api("DELETE", f"/organizations/{organization['id']}/users/{user['id']}").status_code == 204
    assert api("GET", f"/organizations/{organization['id']}/users").json() == []
    assert api("DELETE", f"/organizations/{organization['id']}").status_code == 204
    missing = api("GET", f"/organizations/{organization['id']}")
    assert missing.status_code == 404 and missing.json()["code"] == "entity.not_exists_with_id"


# --- applications and resources ------------------------------------------------------------------------------
def test_applications(emulator: LogtoEmulator, api: Api, management_app: M2MApp) -> None:
    listed = api("GET", "/applications", params={"types": "MachineToMachine"}).json()
    assert [a["id"] for a in listed] == [management_app.id]
    app = api("GET", f"/applications/{management_app.id}").json()
    assert app["type"] == "MachineToMachine" and app["name"] == "Airflow"
    roles = api("GET", f"/applications/{management_app.id}/roles").json()
    assert [r["name"] for r in roles] == ["Logto Management API access"]
    secrets = api("GET", f"/applications/{management_app.id}/secrets").json()
    assert secrets[0]["value"] == management_app.secret


def test_unknown_application_is_not_exists_with_id(api: Api) -> None:
    response = api("GET", "/applications/nope")
    assert response.status_code == 404
    assert response.json()["code"] == "entity.not_exists_with_id"


def test_resources_and_scopes(api: Api) -> None:
    created = api("POST", "/resources", json={"name": "Billing", "indicator": "https://billing.api",
                                              "accessTokenTtl": 600})
    assert created.status_code == 201
    resource = created.json()
    assert resource["accessTokenTtl"] == 600
    scope = api("POST", f"/resources/{resource['id']}/scopes", json={"name": "read:invoices"})
    assert scope.status_code == 201 and scope.json()["name"] == "read:invoices"
    assert [s["name"] for s in api("GET", f"/resources/{resource['id']}/scopes").json()] == ["read:invoices"]
    duplicate = api("POST", "/resources", json={"name": "Again", "indicator": "https://billing.api"})
    assert duplicate.status_code == 422
    assert duplicate.json()["code"] == "resource.resource_identifier_in_use"
    indicators = [r["indicator"] for r in api("GET", "/resources").json()]
    assert "https://default.logto.app/api" in indicators


def test_adding_an_existing_organization_member_succeeds(emulator: LogtoEmulator, api: Api) -> None:
    """RelationQueries.insert is ``on conflict do nothing``: 201 again, one membership."""
    organization = emulator.add_organization("Acme")
    app = emulator.add_m2m_app("member-app", roles=[])
    body = {"applicationIds": [app.id]}
    assert api("POST", f"/organizations/{organization['id']}/applications", json=body).status_code == 201
    again = api("POST", f"/organizations/{organization['id']}/applications", json=body)
    assert (again.status_code, again.text) == (201, "Created")
    listed = api("GET", f"/organizations/{organization['id']}/applications").json()
    assert [a["id"] for a in listed] == [app.id]


def test_every_response_carries_a_request_id(emulator: LogtoEmulator, api: Api) -> None:
    for response in (api("GET", "/users"), api("GET", "/users/nope"), api("POST", "/users", json={"name": 1}),
                     requests.get(f"{emulator.endpoint}/oidc/jwks", timeout=5)):
        assert response.headers.get("Logto-Core-Request-Id")


def test_duplicate_role_assignments_are_422(emulator: LogtoEmulator, api: Api, management_app: M2MApp) -> None:
    role = emulator.state.role_by_name("Logto Management API access")
    again = api("POST", f"/roles/{role['id']}/applications", json={"applicationIds": [management_app.id]})
    assert again.status_code == 422 and again.json()["code"] == "role.application_exists"
    again = api("POST", f"/applications/{management_app.id}/roles", json={"roleIds": [role["id"]]})
    assert again.status_code == 422 and again.json()["code"] == "application.role_exists"


def test_duplicate_scope_and_management_api_deletion(api: Api) -> None:
    resource = api("POST", "/resources", json={"name": "Billing", "indicator": "https://billing.api"}).json()
    assert api("POST", f"/resources/{resource['id']}/scopes", json={"name": "read"}).status_code == 201
    again = api("POST", f"/resources/{resource['id']}/scopes", json={"name": "read"})
    assert again.status_code == 422 and again.json()["code"] == "scope.name_exists"
    refused = api("DELETE", "/resources/management-api")
    assert refused.status_code == 400 and refused.json()["code"] == "resource.cannot_delete_management_api"
