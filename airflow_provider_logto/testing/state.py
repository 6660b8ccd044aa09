"""The emulator's tenant: API resources and scopes, roles, M2M applications, users and organizations.

Entities are kept as dicts in the JSON shape the Management API returns, so the HTTP layer can send them as
they are. Every mutation goes through this class under one lock; rule violations raise
:class:`~airflow_provider_logto.testing.errors.LogtoApiError` with Logto's error code, which is also the clear
``ValueError`` the Python seeding API promises.
"""

from __future__ import annotations

import bisect
import copy
import itertools
import secrets
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_logto.testing.errors import api_error

MANAGEMENT_API_ROLE = "Logto Management API access"
MANAGEMENT_API_SCOPE = "all"
ROLE_TYPES = ("User", "MachineToMachine")
_ID_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
_IDENTIFIER_CODES = {"username": "user.username_already_in_use", "primaryEmail": "user.email_already_in_use",
                     "primaryPhone": "user.phone_already_in_use"}
_SECRET_ALPHABET = _ID_ALPHABET + "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def new_id(length: int = 21) -> str:
    """Logto's ids: nanoid over lower-case letters and digits (21 characters; 12 for users)."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


def new_secret() -> str:
    return "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(32))


def now_ms() -> int:
    return int(time.time() * 1000)


def is_absolute_uri(value: str) -> bool:
    """What Logto accepts as a resource indicator: an absolute URI (scheme and authority, no fragment)."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return bool(parts.scheme and parts.netloc) and not parts.fragment


@dataclass(frozen=True)
class M2MApp:
    """What seeding an M2M app gives back: the credentials a connection needs."""

    id: str
    secret: str
    name: str


class TenantState:
    """One Logto tenant's data, pre-seeded like a fresh install (the Management API and its M2M role)."""

    def __init__(self, tenant_id: str = "default") -> None:
        self.tenant_id = tenant_id
        self.lock = threading.RLock()
        self._sequence = itertools.count()
        self.resources: dict[str, dict[str, Any]] = {}
        self.scopes: dict[str, dict[str, Any]] = {}
        self.roles: dict[str, dict[str, Any]] = {}
        self.role_scopes: dict[str, list[str]] = {}
        self.applications: dict[str, dict[str, Any]] = {}
        self.app_roles: dict[str, list[str]] = {}
        self.secret_expires_at: dict[str, int | None] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.identifier_index: dict[str, dict[str, str]] = {field: {} for field in _IDENTIFIER_CODES}
        self.user_order: dict[str, int] = {}
        # Users in creation order (ascending sequence numbers, parallel lists): a page of Logto's
        # ``createdAt desc`` order is a slice from the end, a new user an append, a deletion one bisect.
        self._user_sequence: list[int] = []
        self._user_ids: list[str] = []
        self.user_roles: dict[str, list[str]] = {}
        self.organizations: dict[str, dict[str, Any]] = {}
        self.org_users: dict[str, list[str]] = {}
        self.org_apps: dict[str, list[str]] = {}
        management = self.create_resource("Logto Management API", self.management_api_indicator,
                                          resource_id="management-api")
        all_scope = self.create_scope(management["id"], MANAGEMENT_API_SCOPE,
                                      "Default scope for Management API, allows all permissions.")
        self.create_role(MANAGEMENT_API_ROLE, "This default role grants access to the Logto management API.",
                         "MachineToMachine", [all_scope["id"]])

    @property
    def management_api_indicator(self) -> str:
        """``https://{tenant}.logto.app/api``; ``default`` for a self-hosted Logto, whatever its host."""
        return f"https://{self.tenant_id}.logto.app/api"

    # --- API resources and scopes -------------------------------------------------------------------------
    def create_resource(self, name: str, indicator: str, access_token_ttl: int = 3600,
                        resource_id: str | None = None) -> dict[str, Any]:
        if not isinstance(name, str) or not name:
            raise api_error("guard.invalid_input", type="body", details="name: Required")
        if not isinstance(indicator, str) or not is_absolute_uri(indicator):
            raise api_error("guard.invalid_input", type="body",
                            details=f"indicator: {indicator!r} is not an absolute URI")
        if not isinstance(access_token_ttl, int) or isinstance(access_token_ttl, bool) or access_token_ttl < 1:
            raise api_error("guard.invalid_input", type="body", details="accessTokenTtl: must be a positive integer")
        with self.lock:
            if self.resource_by_indicator(indicator) is not None:
                raise api_error("resource.resource_identifier_in_use", indicator=indicator)
            resource = {"tenantId": self.tenant_id, "id": resource_id or new_id(), "name": name,
                        "indicator": indicator, "isDefault": False, "accessTokenTtl": access_token_ttl}
            self.resources[resource["id"]] = resource
            return resource

    def resource_by_indicator(self, indicator: str) -> dict[str, Any] | None:
        with self.lock:
            return next((r for r in self.resources.values() if r["indicator"] == indicator), None)

    def create_scope(self, resource_id: str, name: str, description: str | None = None) -> dict[str, Any]:
        with self.lock:
            self.get("resources", resource_id)
            if not isinstance(name, str) or not name or " " in name:
                raise api_error("guard.invalid_input", type="body", details="name: must be a non-empty word")
            if any(s["resourceId"] == resource_id and s["name"] == name for s in self.scopes.values()):
                raise api_error("scope.name_exists", name=name)
            scope = {"tenantId": self.tenant_id, "id": new_id(), "resourceId": resource_id, "name": name,
                     "description": description, "createdAt": now_ms()}
            self.scopes[scope["id"]] = scope
            return scope

    def resource_scopes(self, resource_id: str) -> list[dict[str, Any]]:
        with self.lock:
            return [s for s in self.scopes.values() if s["resourceId"] == resource_id]

    def scope_ids_for(self, scopes: Mapping[str, Iterable[str]]) -> list[str]:
        """Scope ids from ``{indicator: [scope name, ...]}``, refusing unknown indicators or names."""
        ids: list[str] = []
        with self.lock:
            for indicator, names in scopes.items():
                resource = self.resource_by_indicator(indicator)
                if resource is None:
                    raise ValueError(f"unknown API resource indicator {indicator!r}; add it with add_resource()")
                known = {s["name"]: s["id"] for s in self.resource_scopes(resource["id"])}
                for name in names:
                    if name not in known:
                        raise ValueError(f"API resource {indicator!r} has no scope {name!r}; it has "
                                         f"{sorted(known) or 'none'}")
                    ids.append(known[name])
        return ids

    # --- roles ------------------------------------------------------------------------------------------
    def create_role(self, name: str, description: str, role_type: str = "User",
                    scope_ids: Iterable[str] = ()) -> dict[str, Any]:
        if role_type not in ROLE_TYPES:
            raise api_error("guard.invalid_input", type="body",
                            details=f"type: Invalid enum value. Expected 'User' | 'MachineToMachine', "
                                    f"received '{role_type}'")
        with self.lock:
            if any(r["name"] == name for r in self.roles.values()):
                raise api_error("role.name_in_use", name=name)
            scope_ids = list(dict.fromkeys(scope_ids))
            for scope_id in scope_ids:
                self.get("scopes", scope_id)
            role = {"tenantId": self.tenant_id, "id": new_id(), "name": name, "description": description,
                    "type": role_type, "isDefault": False}
            self.roles[role["id"]] = role
            self.role_scopes[role["id"]] = scope_ids
            return role

    def role_by_name(self, name: str) -> dict[str, Any]:
        with self.lock:
            role = next((r for r in self.roles.values() if r["name"] == name), None)
        if role is None:
            raise ValueError(f"unknown role {name!r}; add it with add_role() first")
        return role

    def delete_role(self, role_id: str) -> None:
        with self.lock:
            self.get("roles", role_id)
            del self.roles[role_id], self.role_scopes[role_id]
            for assigned in (*self.app_roles.values(), *self.user_roles.values()):
                if role_id in assigned:
                    assigned.remove(role_id)

    # --- applications -----------------------------------------------------------------------------------
    def create_application(self, name: str, app_type: str = "MachineToMachine", description: str | None = None,
                           secret: str | None = None) -> dict[str, Any]:
        with self.lock:
            app_id = new_id()
            application = {
                "tenantId": self.tenant_id, "id": app_id, "name": name, "secret": secret or new_secret(),
                "description": description, "type": app_type,
                "oidcClientMetadata": {"redirectUris": [], "postLogoutRedirectUris": []},
                "customClientMetadata": {}, "protectedAppMetadata": None, "isThirdParty": False,
                "createdAt": now_ms(),
            }
            self.applications[app_id] = application
            self.app_roles[app_id] = []
            self.secret_expires_at[app_id] = None
            return application

    def assign_app_roles(self, app_id: str, role_ids: Iterable[str]) -> None:
        with self.lock:
            self.get("applications", app_id)
            for role_id in role_ids:
                role = self.get("roles", role_id)
                if role["type"] != "MachineToMachine":
                    raise api_error("application.invalid_role_type")
                if role_id not in self.app_roles[app_id]:
                    self.app_roles[app_id].append(role_id)

    def granted_scopes(self, app_id: str, resource_id: str, requested: Iterable[str]) -> list[str]:
        """Requested ∩ scopes of the app's M2M roles for that resource, in request order, duplicates removed."""
        with self.lock:
            allowed = {
                self.scopes[scope_id]["name"]
                for role_id in self.app_roles.get(app_id, [])
                for scope_id in self.role_scopes.get(role_id, [])
                if self.scopes[scope_id]["resourceId"] == resource_id
            }
        return [scope for scope in dict.fromkeys(requested) if scope in allowed]

    # --- users ------------------------------------------------------------------------------------------
    def create_user(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        with self.lock:
            self._check_user_identifiers(fields, exclude_id=None)
            created = now_ms()
            user = {
                "id": new_id(12), "username": fields.get("username"), "primaryEmail": fields.get("primaryEmail"),
                "primaryPhone": fields.get("primaryPhone"), "name": fields.get("name"),
                "avatar": fields.get("avatar"), "customData": copy.deepcopy(fields.get("customData") or {}),
                "identities": {}, "lastSignInAt": None, "createdAt": created, "updatedAt": created,
                "profile": copy.deepcopy(fields.get("profile") or {}), "applicationId": None,
                "isSuspended": False, "hasPassword": bool(fields.get("password")),
            }
            self.users[user["id"]] = user
            self._index_user(user, add=True)
            sequence = next(self._sequence)
            self.user_order[user["id"]] = sequence
            self._user_sequence.append(sequence)
            self._user_ids.append(user["id"])
            self.user_roles[user["id"]] = []
            return user

    def update_user(self, user_id: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        with self.lock:
            user = self.get("users", user_id)
            self._check_user_identifiers(fields, exclude_id=user_id)
            self._index_user(user, add=False)
            user.update(copy.deepcopy(dict(fields)))
            self._index_user(user, add=True)
            user["updatedAt"] = now_ms()
            return user

    def _check_user_identifiers(self, fields: Mapping[str, Any], exclude_id: str | None) -> None:
        """Usernames, emails and phones are unique case-insensitively (422 with Logto's code)."""
        for field, code in _IDENTIFIER_CODES.items():
            value = fields.get(field)
            owner = self.identifier_index[field].get(str(value).lower()) if value else None
            if owner is not None and owner != exclude_id:
                raise api_error(code)

    def _index_user(self, user: dict[str, Any], *, add: bool) -> None:
        for field, index in self.identifier_index.items():
            if user[field]:
                if add:
                    index[str(user[field]).lower()] = user["id"]
                else:
                    index.pop(str(user[field]).lower(), None)

    def users_newest_first(self) -> list[dict[str, Any]]:
        """Every user in Logto's list order (``createdAt desc``)."""
        with self.lock:
            return [self.users[user_id] for user_id in reversed(self._user_ids)]

    def users_page(self, offset: int, limit: int) -> list[dict[str, Any]]:
        """``limit`` users from ``offset`` in Logto's list order, without touching the others."""
        with self.lock:
            end = len(self._user_ids) - offset
            start = max(0, end - limit)
            return [self.users[user_id] for user_id in reversed(self._user_ids[start:max(0, end)])]

    def delete_user(self, user_id: str) -> None:
        with self.lock:
            self._index_user(self.get("users", user_id), add=False)
            position = bisect.bisect_left(self._user_sequence, self.user_order[user_id])
            del self._user_sequence[position], self._user_ids[position]
            del self.users[user_id], self.user_order[user_id], self.user_roles[user_id]
            for members in self.org_users.values():
                if user_id in members:
                    members.remove(user_id)

    def set_user_roles(self, user_id: str, role_ids: Iterable[str], *, replace: bool) -> None:
        with self.lock:
            self.get("users", user_id)
            role_ids = list(dict.fromkeys(role_ids))
            for role_id in role_ids:
                if self.get("roles", role_id)["type"] != "User":
                    raise api_error("user.invalid_role_type")
                if not replace and role_id in self.user_roles[user_id]:
                    raise api_error("user.role_exists", role_id=role_id)
            self.user_roles[user_id] = role_ids if replace else self.user_roles[user_id] + role_ids

    # --- organizations ----------------------------------------------------------------------------------
    def create_organization(self, name: str, description: str | None = None,
                            custom_data: Mapping[str, Any] | None = None) -> dict[str, Any]:
        with self.lock:
            organization = {"tenantId": self.tenant_id, "id": new_id(12), "name": name, "description": description,
                            "customData": dict(custom_data or {}), "isMfaRequired": False, "branding": {},
                            "createdAt": now_ms()}
            self.organizations[organization["id"]] = organization
            self.org_users[organization["id"]] = []
            self.org_apps[organization["id"]] = []
            return organization

    def add_org_members(self, org_id: str, kind: str, member_ids: Iterable[str]) -> None:
        """Add users (``kind="users"``) or applications (``kind="applications"``) to an organization.

        Like Logto's relation tables: an unknown id violates a foreign key, an existing member the primary key.
        """
        with self.lock:
            self.get("organizations", org_id)
            members = self.org_users[org_id] if kind == "users" else self.org_apps[org_id]
            member_ids = list(member_ids)
            if any(member_id not in getattr(self, kind) for member_id in member_ids):
                raise api_error("entity.relation_foreign_key_not_found")
            if len(set(member_ids)) != len(member_ids) or any(m in members for m in member_ids):
                raise api_error("entity.unique_integrity_violation")
            members.extend(member_ids)

    def delete_organization(self, org_id: str) -> None:
        with self.lock:
            self.get("organizations", org_id)
            del self.organizations[org_id], self.org_users[org_id], self.org_apps[org_id]

    # --- lookups ----------------------------------------------------------------------------------------
    def get(self, kind: str, entity_id: str) -> dict[str, Any]:
        """An entity by id, or Logto's 404 (``entity.not_found`` for users, ``not_exists_with_id`` otherwise)."""
        with self.lock:
            entity = getattr(self, kind).get(entity_id)
        if entity is None:
            if kind == "users":
                raise api_error("entity.not_found")
            raise api_error("entity.not_exists_with_id", name=kind, id=entity_id)
        return entity
