"""Applications (``routes/applications/*``): newest first in lists, one secret each (its expiry settable)."""

from __future__ import annotations

from typing import Any

from airflow_provider_logto.testing.state.base import (
    INTERNAL_PREFIX,
    TenantBase,
    new_id,
    new_secret,
    now_ms,
)

APPLICATION_TYPES = ("Native", "SPA", "Traditional", "MachineToMachine", "Protected", "SAML")


class ApplicationsMixin(TenantBase):
    def create_application(self, name: str, app_type: str = "MachineToMachine", description: str | None = None,
                           secret: str | None = None, app_id: str | None = None,
                           custom_data: dict[str, Any] | None = None) -> dict[str, Any]:
        with self.lock:
            app_id = app_id or new_id()
            if app_id in self.applications:
                raise ValueError(f"an application with id {app_id!r} already exists")
            application: dict[str, Any] = {
                "tenantId": self.tenant_id, "id": app_id, "name": name, "secret": secret or new_secret(),
                "description": description, "type": app_type,
                "oidcClientMetadata": {"redirectUris": [], "postLogoutRedirectUris": []},
                "customClientMetadata": {}, "protectedAppMetadata": None, "customData": custom_data or {},
                "isThirdParty": False, "createdAt": now_ms(),
            }
            self.applications[app_id] = application
            self.app_roles[app_id] = []
            self.secret_expires_at[app_id] = None
            self.internal_secrets[app_id] = INTERNAL_PREFIX + new_secret()
            return application

    def applications_newest_first(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(reversed(self.applications.values()))

    def delete_application(self, app_id: str) -> None:
        """The application, its roles and organization memberships (``on delete cascade``)."""
        with self.lock:
            del self.applications[app_id], self.app_roles[app_id], self.secret_expires_at[app_id]
            del self.internal_secrets[app_id]
            for org_id, members in self.org_apps.items():
                if app_id in members:
                    del members[app_id]
                    self.org_app_roles.pop((org_id, app_id), None)
