"""The emulator's tenant: one class composed of one part per entity, as Logto splits its routes and queries.

``TenantState`` is what the emulator's HTTP apps and seeding API share. Rule violations raise
:class:`~airflow_provider_logto.testing.errors.LogtoApiError` (with Logto's code) or
:class:`~airflow_provider_logto.testing.errors.ConstraintViolation` (a database constraint); both are
``ValueError``s, so bad seeding input reads naturally in tests.
"""

from __future__ import annotations

from airflow_provider_logto.testing.state.applications import (
    APPLICATION_TYPES,
    ApplicationsMixin,
)
from airflow_provider_logto.testing.state.base import (
    MANAGEMENT_API_ROLE,
    MANAGEMENT_API_SCOPE,
    ROLE_TYPES,
    M2MApp,
    is_absolute_uri,
    new_id,
    now_ms,
)
from airflow_provider_logto.testing.state.logs import LogsMixin
from airflow_provider_logto.testing.state.organizations import OrganizationsMixin
from airflow_provider_logto.testing.state.resources import ResourcesMixin
from airflow_provider_logto.testing.state.roles import RolesMixin
from airflow_provider_logto.testing.state.users import UsersMixin

__all__ = ["APPLICATION_TYPES", "MANAGEMENT_API_ROLE", "MANAGEMENT_API_SCOPE", "ROLE_TYPES", "M2MApp",
           "TenantState", "is_absolute_uri", "new_id", "now_ms"]


class TenantState(UsersMixin, RolesMixin, ApplicationsMixin, ResourcesMixin, OrganizationsMixin, LogsMixin):
    """One Logto tenant's data, pre-seeded like a fresh install (the Management API and its M2M role)."""

    def __init__(self, tenant_id: str = "default") -> None:
        super().__init__(tenant_id)
        management = self.create_resource("Logto Management API", self.management_api_indicator,
                                          resource_id=self.management_resource_id)
        all_scope = self.create_scope(management["id"], MANAGEMENT_API_SCOPE,
                                      "Default scope for Management API, allows all permissions.")
        self.create_role(MANAGEMENT_API_ROLE, "This default role grants access to the Logto management API.",
                         "MachineToMachine", [all_scope["id"]])

    @property
    def management_api_indicator(self) -> str:
        """``https://{tenant}.logto.app/api``; ``default`` for a self-hosted Logto, whatever its host."""
        return f"https://{self.tenant_id}.logto.app/api"
