"""Organizations, their members (users and M2M apps), the organization template (roles and scopes) and the
members' organization roles (``routes/organization/**``, ``organization-role``, ``organization-scope``).

Relations behave like Logto's ``RelationQueries``: inserts are ``on conflict do nothing`` (adding an existing
member succeeds), unknown ids violate a foreign key, a role of the wrong type violates a check, and deleting a
relation that does not exist is a 404. Violations raise :class:`ConstraintViolation`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from airflow_provider_logto.testing.errors import ConstraintViolation
from airflow_provider_logto.testing.state.base import TenantBase, new_id, now_ms

_MEMBER_TABLES = {"users": "organization_user_relations", "applications": "organization_application_relations"}


class OrganizationsMixin(TenantBase):
    def create_organization(self, name: str, description: str | None = None,
                            custom_data: Mapping[str, Any] | None = None,
                            is_mfa_required: bool = False) -> dict[str, Any]:
        with self.lock:
            organization: dict[str, Any] = {
                "tenantId": self.tenant_id, "id": new_id(12), "name": name, "description": description,
                "customData": dict(custom_data or {}), "isMfaRequired": is_mfa_required, "color": {}, "branding": {},
                "customCss": None, "createdAt": now_ms()}
            self.organizations[organization["id"]] = organization
            self.org_users[organization["id"]] = {}
            self.org_apps[organization["id"]] = {}
            return organization

    def delete_organization(self, org_id: str) -> None:
        with self.lock:
            del self.organizations[org_id], self.org_users[org_id], self.org_apps[org_id]
            for relations in (self.org_user_roles, self.org_app_roles):
                for key in [key for key in relations if key[0] == org_id]:
                    del relations[key]

    # --- members ----------------------------------------------------------------------------------------
    def _members(self, kind: str, org_id: str) -> dict[str, None]:
        return (self.org_users if kind == "users" else self.org_apps)[org_id]

    def add_org_members(self, org_id: str, kind: str, member_ids: Iterable[str]) -> None:
        """Add users (``kind="users"``) or applications (``kind="applications"``); existing members are kept
        as they are; only M2M applications may join (``check_application_type``)."""
        with self.lock:
            member_ids = list(member_ids)
            entities = self.users if kind == "users" else self.applications
            if org_id not in self.organizations or any(m not in entities for m in member_ids):
                raise ConstraintViolation("foreign_key", _MEMBER_TABLES[kind])
            if kind == "applications" and any(entities[m]["type"] != "MachineToMachine" for m in member_ids):
                raise ConstraintViolation("check", _MEMBER_TABLES[kind])
            members = self._members(kind, org_id)
            for member_id in member_ids:
                members.setdefault(member_id, None)

    def replace_org_members(self, org_id: str, kind: str, member_ids: Iterable[str]) -> None:
        """Exactly these members (their organization roles go with the ones removed); all or nothing."""
        with self.lock:
            member_ids = list(member_ids)
            if not member_ids:
                if org_id in self.organizations:
                    for member_id in list(self._members(kind, org_id)):
                        self.remove_org_member(org_id, kind, member_id)
                return
            entities = self.users if kind == "users" else self.applications
            if org_id not in self.organizations or any(m not in entities for m in member_ids):
                raise ConstraintViolation("foreign_key", _MEMBER_TABLES[kind])
            if len(set(member_ids)) != len(member_ids):
                raise ConstraintViolation("unique", _MEMBER_TABLES[kind])
            for member_id in list(self._members(kind, org_id)):
                self.remove_org_member(org_id, kind, member_id)
            self.add_org_members(org_id, kind, member_ids)

    def remove_org_member(self, org_id: str, kind: str, member_id: str) -> bool:
        with self.lock:
            members = self.org_users.get(org_id) if kind == "users" else self.org_apps.get(org_id)
            if members is None or member_id not in members:
                return False
            del members[member_id]
            (self.org_user_roles if kind == "users" else self.org_app_roles).pop((org_id, member_id), None)
            return True

    def is_org_member(self, org_id: str, kind: str, member_id: str) -> bool:
        with self.lock:
            members = self.org_users.get(org_id) if kind == "users" else self.org_apps.get(org_id)
            return members is not None and member_id in members

    def organizations_of_user(self, user_id: str) -> list[dict[str, Any]]:
        with self.lock:
            return [org for org_id, org in self.organizations.items() if user_id in self.org_users[org_id]]

    # --- the organization template ------------------------------------------------------------------------
    def create_org_scope(self, name: str, description: str | None = None) -> dict[str, Any]:
        with self.lock:
            if any(s["name"] == name for s in self.org_scopes.values()):
                raise ConstraintViolation("unique", "organization_scopes")
            scope: dict[str, Any] = {"tenantId": self.tenant_id, "id": new_id(), "name": name,
                                     "description": description}
            self.org_scopes[scope["id"]] = scope
            return scope

    def delete_org_scope(self, scope_id: str) -> None:
        with self.lock:
            del self.org_scopes[scope_id]
            for held in self.org_role_scopes.values():
                if scope_id in held:
                    held.remove(scope_id)

    def create_org_role(self, name: str, description: str | None = None, role_type: str = "User") -> dict[str, Any]:
        with self.lock:
            if any(r["name"] == name for r in self.org_roles.values()):
                raise ConstraintViolation("unique", "organization_roles")
            role: dict[str, Any] = {"tenantId": self.tenant_id, "id": new_id(), "name": name,
                                    "description": description, "type": role_type}
            self.org_roles[role["id"]] = role
            self.org_role_scopes[role["id"]] = []
            self.org_role_resource_scopes[role["id"]] = []
            return role

    def delete_org_role(self, role_id: str) -> None:
        with self.lock:
            del self.org_roles[role_id], self.org_role_scopes[role_id], self.org_role_resource_scopes[role_id]
            for relations in (self.org_user_roles, self.org_app_roles):
                for held in relations.values():
                    if role_id in held:
                        held.remove(role_id)

    def role_scope_relation(self, relation: str) -> tuple[dict[str, list[str]], dict[str, dict[str, Any]]]:
        """``("scopes")`` → organization scopes of roles; ``("resource-scopes")`` → API resource scopes."""
        if relation == "scopes":
            return self.org_role_scopes, self.org_scopes
        return self.org_role_resource_scopes, self.scopes

    def add_org_role_scopes(self, role_id: str, relation: str, scope_ids: Iterable[str]) -> None:
        with self.lock:
            held, scopes = self.role_scope_relation(relation)
            scope_ids = list(scope_ids)
            if role_id not in self.org_roles or any(s not in scopes for s in scope_ids):
                raise ConstraintViolation("foreign_key", f"organization_role_{relation}")
            for scope_id in scope_ids:
                if scope_id not in held[role_id]:
                    held[role_id].append(scope_id)

    def replace_org_role_scopes(self, role_id: str, relation: str, scope_ids: Iterable[str]) -> None:
        with self.lock:
            held, scopes = self.role_scope_relation(relation)
            scope_ids = list(scope_ids)
            if scope_ids and (role_id not in self.org_roles or any(s not in scopes for s in scope_ids)):
                raise ConstraintViolation("foreign_key", f"organization_role_{relation}")
            if len(set(scope_ids)) != len(scope_ids):
                raise ConstraintViolation("unique", f"organization_role_{relation}")
            if role_id in held:
                held[role_id] = scope_ids

    # --- members' organization roles ----------------------------------------------------------------------
    def _member_roles(self, kind: str) -> dict[tuple[str, str], list[str]]:
        return self.org_user_roles if kind == "users" else self.org_app_roles

    def add_member_org_roles(self, org_id: str, kind: str, rows: Iterable[tuple[str, str]]) -> None:
        """Insert (member id, organization role id) rows for one organization, ``on conflict do nothing``;
        the member must be in the organization (the relation's foreign key) and the role of its type."""
        with self.lock:
            rows = list(rows)
            expected_type = "User" if kind == "users" else "MachineToMachine"
            table = f"organization_role_{'user' if kind == 'users' else 'application'}_relations"
            for member_id, role_id in rows:
                if not self.is_org_member(org_id, kind, member_id) or role_id not in self.org_roles:
                    raise ConstraintViolation("foreign_key", table)
            if any(self.org_roles[role_id]["type"] != expected_type for _, role_id in rows):
                raise ConstraintViolation("check", table)
            relations = self._member_roles(kind)
            for member_id, role_id in rows:
                held = relations.setdefault((org_id, member_id), [])
                if role_id not in held:
                    held.append(role_id)

    def replace_member_org_roles(self, org_id: str, kind: str, member_id: str, role_ids: list[str]) -> None:
        with self.lock:
            relations = self._member_roles(kind)
            previous = relations.pop((org_id, member_id), None)
            try:
                self.add_member_org_roles(org_id, kind, ((member_id, role_id) for role_id in role_ids))
            except ConstraintViolation:  # the replacement is one transaction: roll back
                if previous is not None:
                    relations[(org_id, member_id)] = previous
                raise

    def remove_member_org_role(self, org_id: str, kind: str, member_id: str, role_id: str) -> bool:
        with self.lock:
            held = self._member_roles(kind).get((org_id, member_id), [])
            if role_id not in held:
                return False
            held.remove(role_id)
            return True

    def member_org_roles(self, org_id: str, kind: str, member_id: str) -> list[dict[str, Any]]:
        with self.lock:
            return [self.org_roles[r] for r in self._member_roles(kind).get((org_id, member_id), [])]

    def member_org_scopes(self, org_id: str, kind: str, member_id: str) -> list[dict[str, Any]]:
        """The organization scopes a member's roles grant, unique, ordered by id (``distinct on (id)``)."""
        with self.lock:
            ids = {s for role in self.member_org_roles(org_id, kind, member_id)
                   for s in self.org_role_scopes[role["id"]]}
            return [self.org_scopes[s] for s in sorted(ids)]

    def member_resource_scopes(self, org_id: str, kind: str, member_id: str, resource_id: str) -> list[str]:
        """Names of the API resource scopes a member's organization roles grant for one resource, by id."""
        with self.lock:
            ids = {s for role in self.member_org_roles(org_id, kind, member_id)
                   for s in self.org_role_resource_scopes[role["id"]]
                   if self.scopes[s]["resourceId"] == resource_id}
            return [self.scopes[s]["name"] for s in sorted(ids)]
