"""Users: ``routes/admin-user/{basics,search,role,organization}.ts``."""

from __future__ import annotations

import hashlib
import hmac

from airflow_provider_logto.testing.errors import api_error
from airflow_provider_logto.testing.http import Request, Response
from airflow_provider_logto.testing.management.guard import (
    EMAIL,
    PHONE,
    USERNAME,
    Field,
    guard_body,
    page_of,
    paged,
    query_flag,
    require_changes,
    search_of,
    searched,
    string_ids,
)
from airflow_provider_logto.testing.management.routes import Routes
from airflow_provider_logto.testing.search import ROLE_SEARCH_FIELDS, USER_SEARCH_FIELDS, select
from airflow_provider_logto.testing.state import TenantState

PASSWORD_ALGORITHMS = ("Argon2i", "Argon2id", "Argon2d", "SHA1", "SHA256", "MD5", "Bcrypt", "Legacy")
PLAIN_TEXT = "plain"  # how the emulator keeps a password it was given in clear (Logto would hash it)
_DIGESTS = {"MD5": hashlib.md5, "SHA1": hashlib.sha1, "SHA256": hashlib.sha256}

_CREATE_USER = (
    Field("primaryPhone", "string", pattern=PHONE), Field("primaryEmail", "string", pattern=EMAIL),
    Field("username", "string", pattern=USERNAME), Field("password", "string", min_length=1),
    Field("passwordDigest", "string", max_length=256),
    Field("passwordAlgorithm", "enum", options=PASSWORD_ALGORITHMS), Field("name", "string"),
    Field("avatar", "string", url=True, or_empty=True, nullable=True), Field("customData", "object"),
    Field("profile", "object"),
)
_UPDATE_USER = (
    Field("username", "string", pattern=USERNAME, or_empty=True, nullable=True),
    Field("primaryEmail", "string", pattern=EMAIL, or_empty=True, nullable=True),
    Field("primaryPhone", "string", pattern=PHONE, or_empty=True, nullable=True),
    Field("name", "string", or_empty=True, nullable=True),
    Field("avatar", "string", url=True, or_empty=True, nullable=True), Field("customData", "object"),
    Field("profile", "object"),
)
_ROLE_IDS = (string_ids("roleIds"),)


def _password_matches(stored: tuple[str, str] | None, password: str) -> bool:
    """Plain passwords set through the API, and imported MD5/SHA1/SHA256 hex digests, can be checked; imported
    Argon2, Bcrypt and Legacy digests cannot (the emulator has no such hashers), so they never match."""
    if stored is None:
        return False
    value, algorithm = stored
    if algorithm == PLAIN_TEXT:
        return hmac.compare_digest(value.encode(), password.encode())
    hasher = _DIGESTS.get(algorithm)
    return hasher is not None and hmac.compare_digest(value.lower(), hasher(password.encode()).hexdigest())


def routes(state: TenantState) -> Routes:
    r = Routes()

    def list_users(request: Request) -> Response:
        exclude_role, exclude_org = request.param("excludeRoleId"), request.param("excludeOrganizationId")
        if exclude_role and exclude_org:
            raise api_error("request.invalid_input", details="Parameter `excludeRoleId` and "
                            "`excludeOrganizationId` cannot be used at the same time.")
        search = search_of(request, USER_SEARCH_FIELDS)
        if not search.conditions and not exclude_role and not exclude_org:  # the common case: one page
            return paged(request, len(state.users), state.users_page)
        users = state.users_newest_first()
        if exclude_role:
            users = [u for u in users if u["id"] not in state.role_users.get(exclude_role, {})]
        if exclude_org:
            users = [u for u in users if u["id"] not in state.org_users.get(exclude_org, {})]
        return page_of(select(users, search, USER_SEARCH_FIELDS), request)

    def create_user(request: Request) -> Response:
        body = guard_body(request, _CREATE_USER)
        password, digest, algorithm = body.get("password"), body.get("passwordDigest"), body.get("passwordAlgorithm")
        if password and digest:
            raise api_error("user.password_and_digest")
        if digest and not algorithm:
            raise api_error("user.password_algorithm_required")
        secret: tuple[str, str] | None = None
        if digest:
            secret = (digest, str(algorithm))
        elif password:
            secret = (password, PLAIN_TEXT)
        fields = {k: v for k, v in body.items() if k not in ("password", "passwordDigest", "passwordAlgorithm")}
        return Response.json(200, state.create_user(fields, secret))

    def get_user(request: Request, user_id: str) -> Response:
        user = state.get("users", user_id)
        if query_flag(request.query, "includeSsoIdentities"):  # the emulator has no enterprise SSO
            return Response.json(200, {**user, "ssoIdentities": []})
        return Response.json(200, user)

    def update_user(request: Request, user_id: str) -> Response:
        body = guard_body(request, _UPDATE_USER)
        state.get("users", user_id)
        require_changes(body)
        return Response.json(200, state.update_user(user_id, body))

    def get_custom_data(request: Request, user_id: str) -> Response:
        return Response.json(200, state.get("users", user_id)["customData"])

    def merge_custom_data(request: Request, user_id: str) -> Response:
        custom_data = guard_body(request, (Field("customData", "object", required=True),))["customData"]
        user = state.get("users", user_id)
        merged = {**user["customData"], **custom_data}  # jsonb `||`: a shallow merge
        return Response.json(200, state.update_user(user_id, {"customData": merged})["customData"])

    def merge_profile(request: Request, user_id: str) -> Response:
        profile = guard_body(request, (Field("profile", "object", required=True),))["profile"]
        user = state.get("users", user_id)
        return Response.json(200, state.update_user(user_id, {"profile": {**user["profile"], **profile}})["profile"])

    def set_password(request: Request, user_id: str) -> Response:
        password = guard_body(request, (Field("password", "string", required=True, min_length=1),))["password"]
        state.get("users", user_id)
        return Response.json(200, state.set_user_password(user_id, (password, PLAIN_TEXT)))

    def verify_password(request: Request, user_id: str) -> Response:
        """204 when the password matches, else 422 ``session.invalid_credentials`` (``verifyUserPassword``)."""
        password = guard_body(request, (Field("password", "string", required=True, min_length=1),))["password"]
        state.get("users", user_id)
        if not _password_matches(state.user_passwords.get(user_id), password):
            raise api_error("session.invalid_credentials")
        return Response.empty(204)

    def has_password(request: Request, user_id: str) -> Response:
        return Response.json(200, {"hasPassword": state.get("users", user_id)["hasPassword"]})

    def suspend_user(request: Request, user_id: str) -> Response:
        suspended = guard_body(request, (Field("isSuspended", "boolean", required=True),))["isSuspended"]
        state.get("users", user_id)
        return Response.json(200, state.update_user(user_id, {"isSuspended": suspended}))

    def delete_user(request: Request, user_id: str) -> Response:
        state.delete_user(user_id)
        return Response.empty(204)

    def list_user_roles(request: Request, user_id: str) -> Response:
        state.get("users", user_id)
        held = set(state.user_roles[user_id])
        roles = [role for role in state.visible_roles() if role["id"] in held and role["type"] == "User"]
        return page_of(searched(request, roles, ROLE_SEARCH_FIELDS), request)

    def add_user_roles(request: Request, user_id: str) -> Response:
        """Roles already held are skipped: ``201 {"roleIds": [...], "addedRoleIds": [...]}``."""
        role_ids = guard_body(request, _ROLE_IDS)["roleIds"]
        state.get("users", user_id)
        to_add = [role_id for role_id in role_ids if role_id not in state.user_roles[user_id]]
        if any(state.roles[r]["type"] != "User" for r in to_add if r in state.roles):
            raise api_error("user.invalid_role_type")
        for role_id in to_add:
            state.get("roles", role_id)
        state.insert_user_roles((user_id, role_id) for role_id in to_add)
        return Response.json(201, {"roleIds": role_ids, "addedRoleIds": to_add})

    def replace_user_roles(request: Request, user_id: str) -> Response:
        role_ids = guard_body(request, _ROLE_IDS)["roleIds"]
        state.get("users", user_id)
        held = list(state.user_roles[user_id])
        to_add = [role_id for role_id in role_ids if role_id not in held]
        for role_id in to_add:
            state.get("roles", role_id)
        for role_id in held:
            if role_id not in role_ids:
                state.delete_user_role(user_id, role_id)
        state.insert_user_roles((user_id, role_id) for role_id in to_add)
        return Response.json(200, {"roleIds": list(dict.fromkeys(role_ids))})

    def remove_user_role(request: Request, user_id: str, role_id: str) -> Response:
        if not state.delete_user_role(user_id, role_id):
            raise api_error("entity.not_found")
        return Response.empty(204)

    def list_user_organizations(request: Request, user_id: str) -> Response:
        state.get("users", user_id)
        return Response.json(200, [
            {**org, "organizationRoles": [{"id": role["id"], "name": role["name"]} for role in sorted(
                state.member_org_roles(org["id"], "users", user_id), key=lambda role: role["name"])]}
            for org in state.organizations_of_user(user_id)
        ])

    r.add("GET", "/users", list_users)
    r.add("POST", "/users", create_user)
    r.add("GET", "/users/{user_id}", get_user)
    r.add("GET", "/users/{user_id}/custom-data", get_custom_data)
    r.add("PATCH", "/users/{user_id}/custom-data", merge_custom_data)
    r.add("PATCH", "/users/{user_id}/profile", merge_profile)
    r.add("PATCH", "/users/{user_id}", update_user)
    r.add("PATCH", "/users/{user_id}/password", set_password)
    r.add("POST", "/users/{user_id}/password/verify", verify_password)
    r.add("GET", "/users/{user_id}/has-password", has_password)
    r.add("PATCH", "/users/{user_id}/is-suspended", suspend_user)
    r.add("DELETE", "/users/{user_id}", delete_user)
    r.add("GET", "/users/{user_id}/roles", list_user_roles)
    r.add("POST", "/users/{user_id}/roles", add_user_roles)
    r.add("PUT", "/users/{user_id}/roles", replace_user_roles)
    r.add("DELETE", "/users/{user_id}/roles/{role_id}", remove_user_role)
    r.add("GET", "/users/{user_id}/organizations", list_user_organizations)
    return r
