"""API resources and their scopes (``packages/core/src/routes/resource.ts``, ``resource.scope.ts``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from airflow_provider_logto.testing.errors import api_error
from airflow_provider_logto.testing.state.base import TenantBase, new_id, now_ms


class ResourcesMixin(TenantBase):
    """Resources keep creation order; the Management API resource is seeded and cannot be changed."""

    management_resource_id = "management-api"

    def create_resource(self, name: str, indicator: str, access_token_ttl: int = 3600,
                        resource_id: str | None = None) -> dict[str, Any]:
        with self.lock:
            if self.resource_by_indicator(indicator) is not None:
                raise api_error("resource.resource_identifier_in_use", indicator=indicator)
            resource: dict[str, Any] = {"tenantId": self.tenant_id, "id": resource_id or new_id(), "name": name,
                                        "indicator": indicator, "isDefault": False,
                                        "accessTokenTtl": access_token_ttl}
            self.resources[resource["id"]] = resource
            return resource

    def resource_by_indicator(self, indicator: str) -> dict[str, Any] | None:
        with self.lock:
            return next((r for r in self.resources.values() if r["indicator"] == indicator), None)

    def default_resource(self) -> dict[str, Any] | None:
        """The resource a token request without ``resource`` gets (``PATCH /resources/{id}/is-default``)."""
        with self.lock:
            return next((r for r in self.resources.values() if r["isDefault"]), None)

    def set_default_resource(self, resource_id: str, is_default: bool) -> dict[str, Any]:
        """At most one default per tenant: setting one clears the others."""
        with self.lock:
            resource = self.get("resources", resource_id)
            if is_default:
                for other in self.resources.values():
                    other["isDefault"] = False
            resource["isDefault"] = is_default
            return resource

    def is_management_resource(self, resource_id: str) -> bool:
        return resource_id == self.management_resource_id

    def delete_resource(self, resource_id: str) -> None:
        """The resource and its scopes; roles lose those scopes (``on delete cascade``)."""
        with self.lock:
            del self.resources[resource_id]
            for scope_id in [s["id"] for s in self.scopes.values() if s["resourceId"] == resource_id]:
                self.delete_scope(scope_id)

    def create_scope(self, resource_id: str, name: str, description: str | None = None) -> dict[str, Any]:
        with self.lock:
            self.get("resources", resource_id)
            if any(s["resourceId"] == resource_id and s["name"] == name for s in self.scopes.values()):
                raise api_error("scope.name_exists", name=name)
            scope: dict[str, Any] = {"tenantId": self.tenant_id, "id": new_id(), "resourceId": resource_id,
                                     "name": name, "description": description, "createdAt": now_ms()}
            self.scopes[scope["id"]] = scope
            return scope

    def delete_scope(self, scope_id: str) -> None:
        with self.lock:
            del self.scopes[scope_id]
            for held in (*self.role_scopes.values(), *self.org_role_resource_scopes.values()):
                if scope_id in held:
                    held.remove(scope_id)

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
