"""Contract: the token endpoint's edges as Logto v1.37.1 (``oidc/init.ts``, ``grants/client-credentials.ts``) and
its node-oidc-provider fork (``token_auth.js``, ``check_resource.js``, ``reject_dupes.js``) define them, and
organization tokens with and without a resource."""

from __future__ import annotations

import base64
import json

import pytest
import requests

from airflow_provider_logto.testing import LogtoEmulator, M2MApp
from tests.emulator.helpers import token_response

SHOP = "https://shopping.api"


def _post(emulator: LogtoEmulator, **kwargs: object) -> requests.Response:
    return requests.post(f"{emulator.endpoint}/oidc/token", timeout=10, **kwargs)  # type: ignore[arg-type]


def _claims(token: str) -> dict:
    """The payload with its key order (PyJWT would not promise it)."""
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def _error(response: requests.Response) -> tuple[int, str, str]:
    body = response.json()
    return response.status_code, body["error"], body["error_description"]


@pytest.fixture
def shop(emulator: LogtoEmulator) -> M2MApp:
    emulator.add_role("Shopping", {SHOP: ["read:products", "write:products"]})
    return emulator.add_m2m_app("Shop", roles=["Shopping"])


# --- request format ------------------------------------------------------------------------------------------
def test_json_body_is_accepted(emulator: LogtoEmulator, shop: M2MApp) -> None:
    response = _post(emulator, json={"grant_type": "client_credentials", "resource": SHOP,
                                     "scope": "read:products"}, auth=(shop.id, shop.secret))
    assert response.status_code == 200 and response.json()["scope"] == "read:products"


def test_other_content_types_are_refused(emulator: LogtoEmulator, shop: M2MApp) -> None:
    response = _post(emulator, data="grant_type=client_credentials", auth=(shop.id, shop.secret),
                     headers={"Content-Type": "text/plain"})
    description = "only application/x-www-form-urlencoded content-type bodies are supported on POST /token"
    assert _error(response) == (400, "invalid_request", description)
    assert response.headers["Cache-Control"] == "no-store"


def test_get_on_the_token_route(emulator: LogtoEmulator) -> None:
    response = requests.get(f"{emulator.endpoint}/oidc/token", timeout=10)
    assert response.json() == {
        "code": "oidc.invalid_request", "message": "Request is invalid.", "error": "invalid_request",
        "error_description": "unrecognized route or not allowed method (GET on /token)"}
    assert response.status_code == 404


def test_jwks_headers(emulator: LogtoEmulator) -> None:
    response = requests.get(f"{emulator.endpoint}/oidc/jwks", timeout=10)
    assert response.headers["Content-Type"] == "application/jwk-set+json; charset=utf-8"
    assert list(response.json()) == ["keys"]
    assert list(response.json()["keys"][0]) == ["kty", "use", "kid", "alg", "crv", "x", "y"]


def test_rsa_jwks_members() -> None:
    with LogtoEmulator(key_algorithm="RS256") as emulator:
        key = requests.get(f"{emulator.endpoint}/oidc/jwks", timeout=10).json()["keys"][0]
    assert list(key) == ["kty", "use", "kid", "alg", "e", "n"]


# --- scope and resource parameters ----------------------------------------------------------------------------
def test_scope_is_split_on_spaces_only(emulator: LogtoEmulator, shop: M2MApp) -> None:
    tab = token_response(emulator, shop, resource=SHOP, scope="read:products\twrite:products")
    assert tab.status_code == 200 and "scope" not in tab.json()  # one unknown scope, dropped
    doubled = token_response(emulator, shop, resource=SHOP, scope="write:products  read:products write:products")
    assert doubled.json()["scope"] == "write:products read:products"


def test_repeated_parameters(emulator: LogtoEmulator, shop: M2MApp) -> None:
    two = _post(emulator, data={"grant_type": "client_credentials", "resource": [SHOP, SHOP + "/v2"]},
                auth=(shop.id, shop.secret))
    assert _error(two) == (400, "invalid_target", "resource indicator is missing, or unknown")
    emulator.add_resource("v2", SHOP + "/v2")
    two_known = _post(emulator, data={"grant_type": "client_credentials", "resource": [SHOP, SHOP + "/v2"]},
                      auth=(shop.id, shop.secret))
    assert _error(two_known) == (400, "invalid_target",
                                 "only a single resource indicator value is supported for this grant type")
    same_twice = _post(emulator, data={"grant_type": "client_credentials", "resource": [SHOP, SHOP],
                                       "scope": "read:products"}, auth=(shop.id, shop.secret))
    assert same_twice.status_code == 200, same_twice.text  # Logto v1.37.1 too: one resource, named twice
    assert _claims(same_twice.json()["access_token"])["aud"] == SHOP
    assert same_twice.json()["scope"] == "read:products"
    scopes = _post(emulator, data={"grant_type": "client_credentials", "resource": SHOP,
                                   "scope": ["read:products", "write:products"]}, auth=(shop.id, shop.secret))
    assert _error(scopes) == (400, "invalid_request", "'scope' parameter must not be provided twice")


def test_resource_indicator_checks(emulator: LogtoEmulator, shop: M2MApp) -> None:
    relative = token_response(emulator, shop, resource="shopping.api")
    assert _error(relative) == (400, "invalid_target", "resource indicator must be an absolute URI")
    fragment = token_response(emulator, shop, resource=SHOP + "#x")
    assert _error(fragment) == (400, "invalid_target", "resource indicator must not contain a fragment component")
    urn = token_response(emulator, shop, resource="urn:shop:api")
    assert _error(urn) == (400, "invalid_target", "resource indicator is missing, or unknown")


def test_default_resource(emulator: LogtoEmulator, shop: M2MApp) -> None:
    assert _error(token_response(emulator, shop))[1] == "invalid_target"
    resource = emulator.state.resource_by_indicator(SHOP)
    assert resource is not None
    emulator.state.set_default_resource(resource["id"], True)
    response = token_response(emulator, shop, scope="read:products")
    assert response.status_code == 200 and _claims(response.json()["access_token"])["aud"] == SHOP


# --- client authentication ------------------------------------------------------------------------------------
def test_basic_auth_with_an_empty_secret(emulator: LogtoEmulator, shop: M2MApp) -> None:
    response = _post(emulator, data={"grant_type": "client_credentials", "resource": SHOP}, auth=(shop.id, ""))
    assert _error(response) == (400, "invalid_request", "client_secret must be provided in the Authorization header")


@pytest.mark.parametrize(("header", "description"), [
    ("Bearer abc", "invalid authorization header value format"),
    ("Basic " + base64.b64encode(b"no-colon").decode(), "invalid authorization header value format"),
    ("Basic " + base64.b64encode(b"id:%zz").decode(),
     "client_id and client_secret in the authorization header are not properly encoded"),
])
def test_malformed_authorization_headers(emulator: LogtoEmulator, header: str, description: str) -> None:
    response = _post(emulator, data={"grant_type": "client_credentials"}, headers={"Authorization": header})
    assert _error(response) == (400, "invalid_request", description)


def test_basic_credentials_are_form_encoded(emulator: LogtoEmulator) -> None:
    app = emulator.add_m2m_app("odd", secret="a+b:c d", roles=[])
    header = "Basic " + base64.b64encode(f"{app.id}:a%2Bb%3Ac+d".encode()).decode()
    response = _post(emulator, data={"grant_type": "client_credentials", "resource": SHOP},
                     headers={"Authorization": header})
    assert response.status_code == 200


def test_grant_not_allowed_for_a_browser_app(emulator: LogtoEmulator) -> None:
    app = emulator.state.create_application("web", "Traditional")
    response = _post(emulator, data={"grant_type": "client_credentials", "resource": SHOP},
                     auth=(app["id"], app["secret"]))
    assert _error(response) == (400, "invalid_request", "requested grant type is not allowed for this client")


def test_expired_secret_is_checked_before_the_body_format(emulator: LogtoEmulator, shop: M2MApp) -> None:
    emulator.expire_app_secret(shop.id)
    response = _post(emulator, data="x", auth=(shop.id, shop.secret), headers={"Content-Type": "text/plain"})
    assert _error(response) == (400, "invalid_request", "client secret has expired")


# --- organization tokens --------------------------------------------------------------------------------------
@pytest.fixture
def organization(emulator: LogtoEmulator, shop: M2MApp) -> dict:
    for name in ("read:docs", "write:docs", "admin:docs"):
        emulator.add_organization_scope(name)
    emulator.add_organization_role("robot", ["write:docs", "read:docs"], {SHOP: ["read:products"]},
                                   role_type="MachineToMachine")
    org = emulator.add_organization("Acme", apps=[shop.id])
    emulator.grant_organization_roles(org["id"], shop.id, ["robot"])
    return org


def test_organization_token_without_resource(emulator: LogtoEmulator, shop: M2MApp, organization: dict) -> None:
    response = token_response(emulator, shop, organization_id=organization["id"],
                              scope="admin:docs write:docs read:docs")
    body = response.json()
    assert list(body) == ["access_token", "expires_in", "token_type", "scope"]
    ids = {s["name"]: s["id"] for s in emulator.state.org_scopes.values()}
    assert body["scope"] == " ".join(sorted(["read:docs", "write:docs"], key=ids.__getitem__))  # scope-id order
    assert body["expires_in"] == 3600
    claims = _claims(body["access_token"])
    assert list(claims) == ["jti", "sub", "iat", "exp", "scope", "client_id", "iss", "aud"]
    assert claims["aud"] == f"urn:logto:organization:{organization['id']}"
    none = token_response(emulator, shop, organization_id=organization["id"]).json()
    assert none["scope"] == "" and _claims(none["access_token"])["scope"] == ""


def test_organization_token_for_a_resource(emulator: LogtoEmulator, shop: M2MApp, organization: dict) -> None:
    response = token_response(emulator, shop, organization_id=organization["id"], resource=SHOP,
                              scope="write:products read:products")
    body = response.json()
    assert body["scope"] == "read:products"  # from the organization role, not the app's own M2M role
    claims = _claims(body["access_token"])
    assert list(claims) == ["organization_id", "jti", "sub", "iat", "exp", "scope", "client_id", "iss", "aud"]
    assert (claims["organization_id"], claims["aud"]) == (organization["id"], SHOP)


def test_organization_is_checked_before_the_resource(emulator: LogtoEmulator, shop: M2MApp) -> None:
    response = token_response(emulator, shop, organization_id="elsewhere", resource="https://unknown.api")
    assert _error(response) == (403, "access_denied", "app has not associated with the organization")
