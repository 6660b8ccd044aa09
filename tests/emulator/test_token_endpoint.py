"""Contract: the emulated token endpoint behaves like Logto's (logto-facts §1 and §2)."""

from __future__ import annotations

import base64
import json

import jwt
import pytest
import requests

from airflow_provider_logto.testing import LogtoEmulator, M2MApp
from tests.emulator.helpers import token_response


def _claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def _json_keys(response: requests.Response) -> list[str]:
    return list(json.loads(response.text).keys())


def test_discovery_points_at_token_endpoint_and_jwks(emulator: LogtoEmulator) -> None:
    document = requests.get(f"{emulator.endpoint}/oidc/.well-known/openid-configuration", timeout=5).json()
    assert document["issuer"] == f"{emulator.endpoint}/oidc"
    assert document["token_endpoint"] == f"{emulator.endpoint}/oidc/token"
    assert document["jwks_uri"] == f"{emulator.endpoint}/oidc/jwks"
    assert "client_credentials" in document["grant_types_supported"]


def test_success_body_headers_and_key_order(emulator: LogtoEmulator, management_app: M2MApp) -> None:
    response = token_response(emulator, management_app, resource=emulator.management_api_resource, scope="all")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Logto-Core-Request-Id"]
    assert _json_keys(response) == ["access_token", "expires_in", "token_type", "scope"]
    body = response.json()
    assert (body["expires_in"], body["token_type"], body["scope"]) == (3600, "Bearer", "all")
    assert "refresh_token" not in body


def test_client_secret_post_works_too(emulator: LogtoEmulator, management_app: M2MApp) -> None:
    response = token_response(emulator, management_app, auth="post", resource=emulator.management_api_resource,
                              scope="all")
    assert response.status_code == 200
    assert response.json()["scope"] == "all"


def test_json_body_is_accepted(emulator: LogtoEmulator, management_app: M2MApp) -> None:
    response = requests.post(f"{emulator.endpoint}/oidc/token", auth=(management_app.id, management_app.secret),
                             json={"grant_type": "client_credentials", "resource": emulator.management_api_resource,
                                   "scope": "all"}, timeout=5)
    assert response.status_code == 200


def test_basic_credentials_are_form_urlencoded_per_rfc6749(emulator: LogtoEmulator) -> None:
    app = emulator.add_m2m_app("odd secret", secret="a:b+c%d")
    encoded = base64.b64encode(f"{app.id}:{requests.utils.quote(app.secret, safe='')}".encode()).decode()
    response = requests.post(f"{emulator.endpoint}/oidc/token", headers={"Authorization": f"Basic {encoded}"},
                             data={"grant_type": "client_credentials", "resource": emulator.management_api_resource},
                             timeout=5)
    assert response.status_code == 200, response.text


def test_jwt_header_claims_order_and_signature(emulator: LogtoEmulator, management_app: M2MApp) -> None:
    body = token_response(emulator, management_app, resource=emulator.management_api_resource, scope="all").json()
    token = body["access_token"]
    header = jwt.get_unverified_header(token)
    assert list(header) == ["alg", "typ", "kid"]
    assert header["alg"] == "ES384" and header["typ"] == "at+jwt"
    payload = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert list(payload) == ["jti", "sub", "iat", "exp", "scope", "client_id", "iss", "aud"]
    assert payload["sub"] == payload["client_id"] == management_app.id
    assert payload["iss"] == f"{emulator.endpoint}/oidc"
    assert payload["aud"] == emulator.management_api_resource
    assert payload["exp"] - payload["iat"] == 3600
    key = jwt.PyJWKClient(f"{emulator.endpoint}/oidc/jwks").get_signing_key_from_jwt(token)
    verified = jwt.decode(token, key.key, algorithms=["ES384"], audience=emulator.management_api_resource,
                          issuer=f"{emulator.endpoint}/oidc")
    assert verified["scope"] == "all"


def test_jwks_publishes_a_p384_key_with_kid(emulator: LogtoEmulator) -> None:
    keys = requests.get(f"{emulator.endpoint}/oidc/jwks", timeout=5).json()["keys"]
    assert len(keys) == 1
    assert keys[0]["kty"] == "EC" and keys[0]["crv"] == "P-384" and keys[0]["kid"]


def test_rsa_keys_sign_rs256() -> None:
    with LogtoEmulator(key_algorithm="RS256") as emulator:
        app = emulator.add_m2m_app("rsa")
        token = token_response(emulator, app, resource=emulator.management_api_resource).json()["access_token"]
        assert jwt.get_unverified_header(token)["alg"] == "RS256"
        key = jwt.PyJWKClient(f"{emulator.endpoint}/oidc/jwks").get_signing_key_from_jwt(token)
        jwt.decode(token, key.key, algorithms=["RS256"], audience=emulator.management_api_resource)


def test_cloud_tenant_id_sets_the_management_api_indicator() -> None:
    with LogtoEmulator(tenant_id="abc123") as emulator:
        assert emulator.management_api_resource == "https://abc123.logto.app/api"
        app = emulator.add_m2m_app("cloud")
        response = token_response(emulator, app, resource="https://abc123.logto.app/api", scope="all")
        assert response.json()["scope"] == "all"
        assert token_response(emulator, app, resource="https://default.logto.app/api").status_code == 400


# --- scope semantics -------------------------------------------------------------------------------------
@pytest.fixture
def reader(emulator: LogtoEmulator) -> M2MApp:
    emulator.add_role("reader", {"https://shopping.api": ["read:products"]})
    return emulator.add_m2m_app("reader", roles=["reader"])


def test_ungranted_scopes_are_dropped_silently_in_request_order(emulator: LogtoEmulator, reader: M2MApp) -> None:
    response = token_response(emulator, reader, resource="https://shopping.api",
                              scope="write:products read:products read:products")
    assert response.status_code == 200
    assert response.json()["scope"] == "read:products"
    assert _claims(response.json()["access_token"])["scope"] == "read:products"


def test_scope_key_is_absent_when_nothing_is_granted(emulator: LogtoEmulator, reader: M2MApp) -> None:
    response = token_response(emulator, reader, resource="https://shopping.api", scope="write:products")
    assert response.status_code == 200
    assert _json_keys(response) == ["access_token", "expires_in", "token_type"]
    assert "scope" not in _claims(response.json()["access_token"])


def test_no_scope_parameter_means_no_scopes_even_when_roles_grant_them(emulator: LogtoEmulator,
                                                                       management_app: M2MApp) -> None:
    response = token_response(emulator, management_app, resource=emulator.management_api_resource)
    assert response.status_code == 200
    assert "scope" not in response.json()


def test_app_without_management_role_gets_a_token_without_all(emulator: LogtoEmulator, reader: M2MApp) -> None:
    response = token_response(emulator, reader, resource=emulator.management_api_resource, scope="all")
    assert response.status_code == 200
    assert "scope" not in response.json()


def test_scopes_granted_in_request_order(emulator: LogtoEmulator) -> None:
    emulator.add_role("shop", {"https://shopping.api": ["read:products", "write:products"]})
    app = emulator.add_m2m_app("shop", roles=["shop"])
    response = token_response(emulator, app, resource="https://shopping.api", scope="write:products read:products")
    assert response.json()["scope"] == "write:products read:products"


def test_resource_token_ttl_follows_the_resource(emulator: LogtoEmulator) -> None:
    emulator.add_resource("short", "https://short.api", scopes=["x"], access_token_ttl=60)
    app = emulator.add_m2m_app("short-app", roles=[])
    body = token_response(emulator, app, resource="https://short.api").json()
    claims = _claims(body["access_token"])
    assert body["expires_in"] == 60 and claims["exp"] - claims["iat"] == 60


# --- errors (each row of the table) ----------------------------------------------------------------------
INVALID_CLIENT = {"code": "oidc.invalid_client", "message": "An OIDC error occurred: oidc.invalid_client.",
                  "error": "invalid_client"}


def test_wrong_secret_with_basic_is_401_with_challenge(emulator: LogtoEmulator, management_app: M2MApp) -> None:
    wrong = M2MApp(management_app.id, "wrong", "x")
    response = token_response(emulator, wrong, resource=emulator.management_api_resource)
    assert response.status_code == 401
    assert response.json() == {**INVALID_CLIENT, "error_description": "client authentication failed"}
    assert response.text.startswith('{"code":"oidc.invalid_client","message":')
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith(f'Basic realm="{emulator.endpoint}/oidc", error="invalid_client"')


def test_wrong_secret_with_post_is_401_without_challenge(emulator: LogtoEmulator, management_app: M2MApp) -> None:
    wrong = M2MApp(management_app.id, "wrong", "x")
    response = token_response(emulator, wrong, auth="post", resource=emulator.management_api_resource)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert "WWW-Authenticate" not in response.headers


def test_unknown_client_is_400(emulator: LogtoEmulator) -> None:
    response = token_response(emulator, M2MApp("nosuchapp", "s", "x"), resource=emulator.management_api_resource)
    assert response.status_code == 400
    assert response.json() == {**INVALID_CLIENT, "error_description": "invalid client nosuchapp"}


def test_no_client_authentication_is_400(emulator: LogtoEmulator) -> None:
    response = token_response(emulator, None, resource=emulator.management_api_resource)
    assert response.status_code == 400
    assert response.json() == {"code": "oidc.invalid_request", "message": "Request is invalid.",
                               "error": "invalid_request",
                               "error_description": "no client authentication mechanism provided"}


def test_two_client_authentication_methods_are_refused(emulator: LogtoEmulator, management_app: M2MApp) -> None:
    response = requests.post(f"{emulator.endpoint}/oidc/token", auth=(management_app.id, management_app.secret),
                             data={"grant_type": "client_credentials", "client_id": management_app.id,
                                   "client_secret": management_app.secret,
                                   "resource": emulator.management_api_resource}, timeout=5)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


@pytest.mark.parametrize("resource", ["https://nowhere.api", "https://default.logto.app/api/"])
def test_unknown_resource_including_trailing_slash(emulator: LogtoEmulator, management_app: M2MApp,
                                                   resource: str) -> None:
    response = token_response(emulator, management_app, resource=resource, scope="all")
    assert response.status_code == 400
    assert response.json() == {"code": "oidc.invalid_target", "message": "Invalid resource indicator.",
                               "error": "invalid_target",
                               "error_description": "resource indicator is missing, or unknown"}


def test_no_resource_is_invalid_target(emulator: LogtoEmulator, management_app: M2MApp) -> None:
    response = token_response(emulator, management_app, scope="all")
    assert response.status_code == 400
    assert response.json()["code"] == "oidc.invalid_target"
    assert response.json()["error_description"] == "both `resource` and `organization_id` are not provided"


def test_resource_must_be_an_absolute_uri(emulator: LogtoEmulator, management_app: M2MApp) -> None:
    response = token_response(emulator, management_app, resource="shopping.api")
    assert response.status_code == 400
    assert response.json()["error_description"] == "resource indicator must be an absolute URI"


def test_only_one_resource_per_request(emulator: LogtoEmulator, management_app: M2MApp) -> None:
    response = token_response(emulator, management_app,
                              resource=[emulator.management_api_resource, "https://shopping.api"])
    assert response.status_code == 400
    assert response.json()["error_description"] == (
        "only a single resource indicator value is supported for this grant type")


def test_missing_grant_type(emulator: LogtoEmulator, management_app: M2MApp) -> None:
    response = token_response(emulator, management_app, grant_type=None, resource=emulator.management_api_resource)
    assert response.status_code == 400
    assert response.json()["code"] == "oidc.invalid_request"
    assert response.json()["error_description"] == "missing required parameter 'grant_type'"


def test_other_grant_type(emulator: LogtoEmulator, management_app: M2MApp) -> None:
    response = token_response(emulator, management_app, grant_type="password")
    assert response.status_code == 400
    assert response.json()["code"] == "oidc.unsupported_grant_type"
    assert response.json()["message"] == "Unsupported `grant_type` requested."


def test_expired_secret(emulator: LogtoEmulator, management_app: M2MApp) -> None:
    emulator.expire_app_secret(management_app.id)
    response = token_response(emulator, management_app, resource=emulator.management_api_resource)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert response.json()["error_description"] == "client secret has expired"


def test_app_outside_the_organization_is_denied(emulator: LogtoEmulator, management_app: M2MApp) -> None:
    organization = emulator.add_organization("Acme")
    response = token_response(emulator, management_app, organization_id=organization["id"])
    assert response.status_code == 403
    assert response.json()["error"] == "access_denied"
    assert response.json()["error_description"] == "app has not associated with the organization"


def test_organization_token_claims(emulator: LogtoEmulator, management_app: M2MApp) -> None:
    organization = emulator.add_organization("Acme", apps=[management_app.id])
    token = token_response(emulator, management_app, organization_id=organization["id"]).json()["access_token"]
    claims = _claims(token)
    assert list(claims) == ["jti", "sub", "iat", "exp", "scope", "client_id", "iss", "aud"]
    assert claims["aud"] == f"urn:logto:organization:{organization['id']}"
    assert claims["scope"] == ""


def test_token_quota_exceeded(emulator: LogtoEmulator, management_app: M2MApp) -> None:
    emulator.set_token_quota(1)
    assert token_response(emulator, management_app, resource=emulator.management_api_resource).status_code == 200
    response = token_response(emulator, management_app, resource=emulator.management_api_resource)
    assert response.status_code == 429
    assert response.json() == {"code": "auth.exceed_token_limit",
                               "message": "Token limit exceeded. Please contact your administrator."}


def test_internal_error_is_server_error(emulator: LogtoEmulator, management_app: M2MApp) -> None:
    emulator.add_fault("status", "/oidc/token", status=500)
    response = token_response(emulator, management_app, resource=emulator.management_api_resource)
    assert response.status_code == 500
    assert response.json()["error"] == "server_error"
    assert response.json()["code"] == "oidc.server_error"
