"""Roles (User and MachineToMachine), their scopes, and who holds them (``users_roles``, ``applications_roles``).

The relation tables carry Logto's constraints: a unique (holder, role) pair, foreign keys, and a check that the
role's type fits the holder (``check_role_type``); violations raise :class:`ConstraintViolation`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from airflow_provider_logto.testing.errors import ConstraintViolation, api_error
from airflow_provider_logto.testing.state.base import ROLE_TYPES, TenantBase, new_id

INTERNAL_ROLE_PREFIX = "#internal:"


class RolesMixin(TenantBase):
    def create_role(self, name: str, description: str, role_type: str = "User",
                    scope_ids: Iterable[str] = (), is_default: bool = False) -> dict[str, Any]:
        if role_type not in ROLE_TYPES:
            raise ValueError(f"unknown role type {role_type!r}; use 'User' or 'MachineToMachine'")
        with self.lock:
            if any(r["name"] == name for r in self.roles.values()):
                raise api_error("role.name_in_use", name=name)
            role: dict[str, Any] = {"tenantId": self.tenant_id, "id": new_id(), "name": name,
                                    "description": description, "type": role_type, "isDefault": is_default}
            self.roles[role["id"]] = role
            self.role_scopes[role["id"]] = []
            self.role_users[role["id"]] = {}
            self.add_role_scopes(role["id"], scope_ids)
            return role

    def add_role_scopes(self, role_id: str, scope_ids: Iterable[str]) -> None:
        with self.lock:
            scope_ids = list(scope_ids)
            if any(scope_id not in self.scopes for scope_id in scope_ids):
                raise ConstraintViolation("foreign_key", "roles_scopes")
            if len(set(scope_ids)) != len(scope_ids) or set(scope_ids) & set(self.role_scopes[role_id]):
                raise ConstraintViolation("unique", "roles_scopes")
            self.role_scopes[role_id].extend(scope_ids)

    def visible_roles(self) -> list[dict[str, Any]]:
        """Roles as the list routes see them: in table order, internal (``#internal:``) roles hidden."""
        with self.lock:
            return [r for r in self.roles.values() if not r["name"].startswith(INTERNAL_ROLE_PREFIX)]

    def role_by_name(self, name: str) -> dict[str, Any]:
        with self.lock:
            role = next((r for r in self.roles.values() if r["name"] == name), None)
        if role is None:
            raise ValueError(f"unknown role {name!r}; add it with add_role() first")
        return role

    def delete_role(self, role_id: str) -> None:
        """The role and every assignment of it (``on delete cascade``)."""
        with self.lock:
            del self.roles[role_id], self.role_scopes[role_id]
            for user_id in self.role_users.pop(role_id):
                self.user_roles[user_id].remove(role_id)
            for held in self.app_roles.values():
                if role_id in held:
                    held.remove(role_id)

    # --- users_roles ------------------------------------------------------------------------------------
    def insert_user_roles(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Insert (user id, role id) rows as one statement: all or nothing."""
        with self.lock:
            pairs = list(pairs)
            if any(user_id not in self.users or role_id not in self.roles for user_id, role_id in pairs):
                raise ConstraintViolation("foreign_key", "users_roles")
            if len(set(pairs)) != len(pairs) or any(r in self.user_roles[u] for u, r in pairs):
                raise ConstraintViolation("unique", "users_roles")
            if any(self.roles[role_id]["type"] != "User" for _, role_id in pairs):
                raise ConstraintViolation("check", "users_roles")
            for user_id, role_id in pairs:
                self.user_roles[user_id].append(role_id)
                self.role_users[role_id][user_id] = None

    def delete_user_role(self, user_id: str, role_id: str) -> bool:
        """Remove one assignment; False when there was none (Logto then answers 404 ``entity.not_found``)."""
        with self.lock:
            if role_id not in self.user_roles.get(user_id, []):
                return False
            self.user_roles[user_id].remove(role_id)
            del self.role_users[role_id][user_id]
            return True

    def set_user_roles(self, user_id: str, role_ids: Iterable[str], *, replace: bool) -> None:
        """Seeding helper: give a user these User roles (all of them, or in addition to the ones held)."""
        with self.lock:
            self.get("users", user_id)
            wanted = list(dict.fromkeys(role_ids))
            for role_id in wanted:
                if self.get("roles", role_id)["type"] != "User":
                    raise api_error("user.invalid_role_type")
            if replace:
                for role_id in list(self.user_roles[user_id]):
                    self.delete_user_role(user_id, role_id)
            self.insert_user_roles((user_id, r) for r in wanted if r not in self.user_roles[user_id])

    # --- applications_roles -------------------------------------------------------------------------------
    def insert_app_roles(self, pairs: Iterable[tuple[str, str]]) -> None:
        with self.lock:
            pairs = list(pairs)
            if any(app_id not in self.applications or role_id not in self.roles for app_id, role_id in pairs):
                raise ConstraintViolation("foreign_key", "applications_roles")
            if len(set(pairs)) != len(pairs) or any(r in self.app_roles[a] for a, r in pairs):
                raise ConstraintViolation("unique", "applications_roles")
            if any(self.roles[role_id]["type"] != "MachineToMachine" for _, role_id in pairs):
                raise ConstraintViolation("check", "applications_roles")
            for app_id, role_id in pairs:
                self.app_roles[app_id].append(role_id)

    def delete_app_role(self, app_id: str, role_id: str) -> bool:
        with self.lock:
            if role_id not in self.app_roles.get(app_id, []):
                return False
            self.app_roles[app_id].remove(role_id)
            return True

    def assign_app_roles(self, app_id: str, role_ids: Iterable[str]) -> None:
        """Seeding helper: give an M2M app these roles (those it holds already are skipped)."""
        with self.lock:
            self.get("applications", app_id)
            for role_id in role_ids:
                if self.get("roles", role_id)["type"] != "MachineToMachine":
                    raise api_error("application.invalid_role_type")
            self.insert_app_roles((app_id, r) for r in dict.fromkeys(role_ids) if r not in self.app_roles[app_id])

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
